"""Samples from intake to receipt: accessioning, labels, receipt, lifecycle."""
