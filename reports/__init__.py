"""Statistics and documents from plain data. Never imports ``lims``, Flask or SQLAlchemy."""
