"""Users, roles, login, and API tokens for machines."""
