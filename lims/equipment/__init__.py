"""Equipment: the health of the instruments' drivers (and, to come, equipment records)."""
