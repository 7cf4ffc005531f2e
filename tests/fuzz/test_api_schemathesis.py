"""Schemathesis against the served OpenAPI document: every operation, with a valid token of each
kind (a user token per role, an instrument's token) and with none. No answer may be a 500, and
every answer must be one the document declares, in the declared media type and schema.

Bounded (``EXAMPLES`` per operation and token) so that it adds about a minute to the suite; the
database is one of its own with a small demo survey and one issued report, so the open-data
endpoints have something real to answer with.
"""

from __future__ import annotations

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from lims.api.openapi import OPENAPI
from lims.auth.models import User
from lims.auth.services import create_api_token, create_user
from lims.core.permissions import Role
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.lims.api.test_open_data import open_app, tokens  # noqa: F401 - fixtures

EXAMPLES = 12
#: What must hold of every answer. Not schemathesis's ``positive_data_acceptance``: a
#: schema-valid batch of readings may still be refused (422) for naming another instrument
#: than the token's, which the document says and no schema can express.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture()
def every_token(open_app: Flask, tokens: dict[str, str]) -> dict[str, str | None]:  # noqa: F811
    """A token of a user of each role, an instrument's token, and no token."""
    found = dict(tokens)
    with open_app.app_context():
        for role in Role:
            user = db.session.scalar(sa.select(User).where(User.username == f"fuzz-{role.value}"))
            if user is None:
                user = create_user(db.session, actor=None, now=FIXED_NOW,
                                   username=f"fuzz-{role.value}",
                                   password="fuzzing-the-api-2026", roles=[role])
            found[role.value] = create_api_token(db.session, actor=user, now=FIXED_NOW,
                                                 name=f"fuzz {role.value}")[1]
        db.session.commit()
    return {**found, "none": None}


def test_every_operation_with_every_token(open_app: Flask,  # noqa: F811
                                          every_token: dict[str, str | None]) -> None:
    """Each generated request is sent once with each token (generating a batch of readings
    costs far more than answering it)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", open_app)
    # schemathesis leaves out the document's own endpoint when loading it from the app
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.append(schema["/openapi.json"]["GET"])
    labels = set()
    for operation in operations:
        labels.add(operation.label)

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE)))
        def fuzz(case: schemathesis.Case) -> None:
            for name, secret in every_token.items():
                headers = {"Authorization": f"Bearer {secret}"} if secret else {}
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS)
                except Exception as error:
                    error.add_note(f"with the {name} token")
                    raise

        fuzz()
    assert labels == {f"{method.upper()} {path}" for path, methods in OPENAPI["paths"].items()
                      for method in methods}
