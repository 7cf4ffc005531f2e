"""External quality assessment provided by the reference laboratory (ISO 13528 proficiency
testing): programmes, rounds, materials, participating laboratories, results and scores."""
