"""Administration pages: users and API tokens."""
