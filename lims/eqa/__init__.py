"""External quality assessment: the proficiency-testing scheme the reference laboratory runs
(ISO 13528: programmes, rounds, materials, participating laboratories, results and scores) and
the external schemes it takes part in itself (CDC EQUIP)."""
