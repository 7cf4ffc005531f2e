"""Samples pages: importing the view modules registers their routes on ``bp``."""

from lims.samples import browse_views, intake_views, receipt_views  # noqa: F401
from lims.samples.blueprint import bp

__all__ = ["bp"]
