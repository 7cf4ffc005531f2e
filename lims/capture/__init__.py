"""Instrument capture on the LIMS side: the instrument register, the readings inbox (attached,
unmatched, plates awaiting a run), manual entry for instruments without a data port, and plate
export files uploaded through the web."""
