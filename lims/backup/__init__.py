"""Backups, restore and the database check (``lims backup``, ``lims restore``, ``lims check``)."""
