"""The machine API: bearer tokens only, problem+json errors, and an OpenAPI document that
matches the routes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from lims.api.openapi import OPENAPI
from lims.auth.models import ApiToken, User
from lims.auth.services import create_api_token, revoke_api_token
from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW

PROBLEM = "application/problem+json"


@pytest.fixture()
def issued(session: Session, make_user: Callable[..., User]) -> tuple[ApiToken, str]:
    admin = make_user(Role.ADMIN)
    return create_api_token(session, actor=admin, now=FIXED_NOW, name="Photometer 1")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- the OpenAPI document ------------------------------------------------------------------------


def test_openapi_document_is_public_and_valid(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)  # raises on any deviation from the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert set(document["components"]["schemas"]["Problem"]["required"]) >= {
        "title",
        "status",
        "detail",
    }


def test_openapi_document_describes_exactly_the_api_routes(app: Flask) -> None:
    prefix = "/api/v1"
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(prefix) :]), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix + "/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in OPENAPI["paths"].items() for method in item}
    assert routes == documented


def test_openapi_marks_token_endpoints_secured(app: Flask) -> None:
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            endpoint = app.url_map.bind("localhost").match(
                "/api/v1" + re.sub(r"\{\w+_id\}", "1", re.sub(r"\{(?!\w+_id\})\w+\}", "X-1", path)),
                method=method.upper()
            )[0]
            by_token = getattr(app.view_functions[endpoint], "authenticates_by_token", False)
            assert (operation.get("security", OPENAPI["security"]) != []) == by_token, path
            if by_token:
                assert operation["responses"]["401"] == {
                    "$ref": "#/components/responses/Unauthorized"
                }


# --- authentication ------------------------------------------------------------------------------


def test_whoami_names_the_token(
    client: FlaskClient, issued: tuple[ApiToken, str], session: Session
) -> None:
    token, secret = issued
    response = client.get("/api/v1/whoami", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json() == {
        "name": "Photometer 1",
        "prefix": token.prefix,
        "created_at": FIXED_NOW.isoformat(),
    }
    session.refresh(token)
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer lims_not-a-real-token"},
    ],
    ids=["missing", "empty", "wrong-scheme", "unknown"],
)
def test_without_a_valid_token_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/whoami", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_401(
    client: FlaskClient,
    issued: tuple[ApiToken, str],
    session: Session,
    make_user: Callable[..., User],
) -> None:
    token, secret = issued
    revoke_api_token(session, actor=make_user(Role.ADMIN), now=FIXED_NOW, token_id=token.id)
    body = assert_problem(client.get("/api/v1/whoami", headers=bearer(secret)), 401)
    assert "revoked" in body["detail"]


def test_a_browser_session_is_not_enough(
    client: FlaskClient, make_user: Callable[..., User], login: Callable[[User], FlaskClient]
) -> None:
    login(make_user(Role.ADMIN))
    assert_problem(client.get("/api/v1/whoami"), 401)


def test_token_use_is_recorded_to_the_minute(
    client: FlaskClient, issued: tuple[ApiToken, str], session: Session
) -> None:
    token, secret = issued
    token.last_used_at = FIXED_NOW - timedelta(days=3)
    session.flush()
    client.get("/api/v1/whoami", headers=bearer(secret))
    session.refresh(token)
    first = token.last_used_at
    assert first is not None and first > FIXED_NOW
    client.get("/api/v1/whoami", headers=bearer(secret))
    session.refresh(token)
    assert token.last_used_at == first  # not rewritten within the minute


# --- samples -------------------------------------------------------------------------------------


def test_sample_lookup(
    client: FlaskClient, issued: tuple[ApiToken, str], make_sample: Callable[..., Sample]
) -> None:
    sample = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED)
    response = client.get(f"/api/v1/samples/{sample.accession}", headers=bearer(issued[1]))
    assert response.status_code == 200
    assert response.get_json() == {
        "accession": sample.accession,
        "kind": "salt",
        "status": "received",
        "cluster_code": sample.cluster.code,
        "region_iso_code": "KZ-11",
    }


def test_sample_lookup_ignores_case_and_spaces(
    client: FlaskClient, issued: tuple[ApiToken, str], make_sample: Callable[..., Sample]
) -> None:
    sample = make_sample()
    scanned = f" {sample.accession.lower()} "
    response = client.get(f"/api/v1/samples/{scanned}", headers=bearer(issued[1]))
    assert response.get_json()["accession"] == sample.accession


def test_unknown_sample_404_names_it(client: FlaskClient, issued: tuple[ApiToken, str]) -> None:
    body = assert_problem(
        client.get("/api/v1/samples/U-2026-999999", headers=bearer(issued[1])), 404
    )
    assert body["detail"] == "no sample has the accession number U-2026-999999"
    assert body["field"] == "accession"


def test_malformed_accession_404_says_why(
    client: FlaskClient, issued: tuple[ApiToken, str]
) -> None:
    body = assert_problem(client.get("/api/v1/samples/banana", headers=bearer(issued[1])), 404)
    assert "'banana' is not an accession number" in body["detail"]


def test_sample_lookup_needs_a_token(
    client: FlaskClient, make_sample: Callable[..., Sample]
) -> None:
    assert_problem(client.get(f"/api/v1/samples/{make_sample().accession}"), 401)


# --- errors under /api are problem documents -----------------------------------------------------


def test_unknown_api_route_is_a_problem(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/no-such-endpoint"), 404)


def test_wrong_method_is_a_problem(client: FlaskClient, issued: tuple[ApiToken, str]) -> None:
    assert_problem(client.post("/api/v1/whoami", headers=bearer(issued[1])), 405)
