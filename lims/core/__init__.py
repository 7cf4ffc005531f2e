"""Shared building blocks of the web app: model base, clock, errors, forms, permissions."""
