from tests.lims.capture.conftest import admin, make_instrument  # noqa: F401  (shared fixtures)
