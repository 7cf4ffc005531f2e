"""Every route of the app × every kind of caller, with the expected outcome derived from the
guard each view declares and from ``ROLE_PERMISSIONS``.

- ``@permission_required(P, …)`` records ``required_permissions`` on the view: anonymous callers are
  sent to the login page, logged-in users lacking ``P`` get 403, the others get through.
- ``@token_required`` records ``authenticates_by_token``: only a bearer token gets through; no
  token, or a browser session, is a 401 problem document.
- A view declaring neither must be on one of the two allow-lists below, or the test fails: a new
  page cannot slip in unguarded.

"Gets through" means: neither 401 nor 403 nor a redirect to the login page. A 404 counts (a URL
parameter that no fixture object provides is given a value that matches nothing), because
``permission_required`` runs before the view body looks anything up, so a caller lacking the
permission still gets 403 first. GET is tried on every route, POST (with an empty form) on
routes that only accept POST.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from lims.auth.models import User, UserRole
from lims.auth.services import create_api_token
from lims.capture.models import Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.permissions import Permission, Role, permissions_for
from lims.eqa import external as eqa_external
from lims.eqa.external_models import ExternalMeasurand
from lims.equipment import service as equipment_service
from lims.equipment.models import CalibrationOutcome, MaintenanceKind
from lims.samples.models import IntakeBatch, Sample, SampleKind
from tests.conftest import FIXED_NOW, make_app
from tests.factories import PASSWORD, unique

# Routes without a declared permission or token guard, on purpose.
PUBLIC = {"static", "auth.login", "core.set_language", "core.health", "api.openapi"}
LOGIN_ONLY = {"home.index", "home.find", "home.survey_progress", "auth.logout", "auth.change_password"}

# Callers: None = anonymous, "token" = an API token and no session, else the roles of a user.
CALLERS: dict[str, tuple[Role, ...] | str | None] = {
    "anonymous": None,
    "api-token": "token",
    "technician": (Role.TECHNICIAN,),
    "reviewer": (Role.REVIEWER,),
    "ministry": (Role.MINISTRY,),
    "admin": (Role.ADMIN,),
    "eqa-participant": (Role.EQA_PARTICIPANT,),
    "technician+reviewer": (Role.TECHNICIAN, Role.REVIEWER),
}

# Values for URL parameters no fixture object provides: they match nothing (404 after the guard).
MISSING_INT = 987654321
MISSING_STR = "ZZ-NO-SUCH-THING"
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    method: str

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def collect_routes(app: Flask) -> list[Route]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = rule.methods or set()
        method = "GET" if "GET" in methods else "POST"
        routes.append(Route(rule.endpoint, rule.rule, method))
    return sorted(routes, key=lambda r: (r.rule, r.method))


# The url_map is the same for every app the factory builds; this one never opens its database.
ROUTE_APP = make_app("sqlite://")
ROUTES = collect_routes(ROUTE_APP)


@dataclass(frozen=True)
class Guard:
    kind: str  # "public" | "login" | "token" | "reader-token" | "permission"
    permissions: frozenset[Permission] = frozenset()


def guard_of(app: Flask, endpoint: str) -> Guard:
    view = app.view_functions[endpoint]
    permissions = getattr(view, "required_permissions", None)
    if permissions:
        return Guard("permission", permissions)
    if getattr(view, "refuses_instrument_tokens", False):
        return Guard("reader-token")
    if getattr(view, "authenticates_by_token", False):
        return Guard("token")
    if endpoint in PUBLIC:
        return Guard("public")
    if endpoint in LOGIN_ONLY:
        return Guard("login")
    pytest.fail(
        f"{endpoint} declares no guard: decorate it with @permission_required(Permission.…) or "
        "@token_required, or (only if it really is public or open to every logged-in user) add "
        "it to PUBLIC or LOGIN_ONLY in this test"
    )


def expected_outcome(guard: Guard, caller: tuple[Role, ...] | str | None) -> str:
    """ "allowed", "login" (redirect to the login page), "401" or "403"."""
    if guard.kind == "public":
        return "allowed"
    if guard.kind == "token":
        return "allowed" if caller == "token" else "401"
    if guard.kind == "reader-token":  # open data: a report reader's token (tests/lims/api)
        return "403" if caller == "token" else "401"
    if not isinstance(caller, tuple):
        return "login"
    if guard.kind == "login":
        return "allowed"
    assert guard.permissions
    return "allowed" if guard.permissions & permissions_for(frozenset(caller)) else "403"


# A cheap hash for the many users of this test; logging in still goes through the real form.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")


def add_user(session: Session, roles: tuple[Role, ...]) -> User:
    user = User(
        username=unique("matrix"),
        full_name="Matrix user",
        password_hash=FAST_HASH,
        created_at=FIXED_NOW,
        is_active=True,
        failed_logins=0,
    )
    user.role_links = [UserRole(role=role) for role in roles]
    session.add(user)
    session.flush()
    return user


@pytest.fixture()
def url_objects(session: Session, make_sample: Callable[..., Sample]) -> dict[str, Any]:
    """One object of each kind a route may name in its URL, by parameter name."""
    admin = add_user(session, (Role.ADMIN,))
    sample = make_sample(SampleKind.URINE)
    cluster = sample.cluster
    token, _secret = create_api_token(session, actor=admin, now=FIXED_NOW, name="Photometer 1")
    batch = IntakeBatch(
        filename="intake.csv",
        sha256="0" * 64,
        kind=SampleKind.URINE,
        row_count=0,
        created_at=FIXED_NOW,
        created_by_id=admin.id,
    )
    session.add(batch)
    session.flush()
    equipment = equipment_service.register_equipment(
        session, actor=admin, now=FIXED_NOW, code=unique("EQ-"), name="Дозатор", location="Каб. 12")
    calibration = equipment_service.record_calibration(
        session, actor=admin, now=FIXED_NOW, equipment=equipment,
        calibrated_on=FIXED_NOW.date(), valid_until=FIXED_NOW.date(), performed_by="КазСтандарт",
        outcome=CalibrationOutcome.PASS, file_name="сертификат.pdf", file_data=b"%PDF-1.4\n%%EOF")
    equipment_service.record_maintenance(session, actor=admin, now=FIXED_NOW, equipment=equipment,
                                         kind=MaintenanceKind.VERIFICATION,
                                         planned_on=FIXED_NOW.date())
    scheme = eqa_external.create_scheme(
        session, actor=admin, now=FIXED_NOW, code=unique("EQUIP-"), name="EQUIP", provider="CDC",
        measurand=ExternalMeasurand.UIC, limit_percent=15.0, limit_absolute=None,
        absolute_below=None, limit_note="", days=3, cluster=cluster,
        population_group=sample.participant.population_group)
    external_round = eqa_external.open_round(
        session, actor=admin, now=FIXED_NOW, scheme=scheme, code="2026-1",
        received_on=FIXED_NOW.date(), deadline=FIXED_NOW.date())
    eqa_material = eqa_external.register_material(session, actor=admin, now=FIXED_NOW,
                                                  external_round=external_round, code="A1")
    return {
        "external_round_id": external_round.id,
        "eqa_material_id": eqa_material.id,
        "equipment_id": equipment.id,
        "calibration_id": calibration.id,
        "accession": sample.accession,
        "sample_id": sample.id,
        "kind": SampleKind.URINE.value,
        "code": SampleKind.URINE.value,  # sample-kind reference rows are keyed by code
        "user_id": admin.id,
        "token_id": token.id,
        "batch_id": batch.id,
        "cluster_id": cluster.id,
        "round_id": cluster.round_id,
        "survey_round_id": cluster.round_id,
        "programme_id": cluster.round.programme_id,
        "district_id": cluster.district_id,
        "region_id": cluster.region_id,
        "iso_code": cluster.region.iso_code,
        "region_code": cluster.region.iso_code,
        "group_id": sample.participant.population_group_id,
        "participant_id": sample.participant_id,
        "household_id": sample.household_id,
    }


def build_url(app: Flask, route: Route, objects: dict[str, Any]) -> str:
    values: dict[str, Any] = {}
    for match in ARGUMENT.finditer(route.rule):
        name = match["name"]
        if name in objects:
            values[name] = objects[name]
        elif match["converter"] == "int":
            values[name] = MISSING_INT
        else:
            values[name] = MISSING_STR
    with app.test_request_context():
        return url_for(route.endpoint, **values)


def is_login_redirect(response: Any) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    target = urlsplit(response.headers["Location"])
    return target.path == "/login" and "next" in parse_qs(target.query)


@pytest.mark.parametrize("caller_name", list(CALLERS))
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_access(
    app: Flask,
    client: FlaskClient,
    session: Session,
    login: Callable[[User], FlaskClient],
    url_objects: dict[str, Any],
    route: Route,
    caller_name: str,
) -> None:
    caller = CALLERS[caller_name]
    expected = expected_outcome(guard_of(app, route.endpoint), caller)
    headers: dict[str, str] = {}
    if caller == "token":
        admin = session.get(User, url_objects["user_id"])
        assert admin is not None
        # An instrument's token: the one kind every token route accepts (readings need one).
        instrument = create_instrument(session, actor=admin, now=FIXED_NOW, fields=InstrumentFields(
            code=f"MATRIX-{uuid.uuid4().hex[:8]}", name="matrix", protocol=Protocol.ASTM))
        secret = issue_instrument_token(session, actor=admin, now=FIXED_NOW, instrument=instrument)
        headers["Authorization"] = f"Bearer {secret}"
    elif isinstance(caller, tuple):
        login(add_user(session, caller))

    url = build_url(app, route, url_objects)
    if route.method == "GET":
        response = client.get(url, headers=headers)
    else:
        response = client.post(url, data={}, headers=headers)
    location = response.headers.get("Location", "")
    outcome = f"{route} as {caller_name}: got {response.status_code} {location}"

    if expected == "login":
        assert is_login_redirect(response), f"{outcome}, expected a redirect to the login page"
    elif expected == "401":
        assert response.status_code == 401, f"{outcome}, expected 401"
        assert response.mimetype == "application/problem+json", outcome
    elif expected == "403":
        assert response.status_code == 403, f"{outcome}, expected 403"
    else:
        assert response.status_code not in (401, 403), f"{outcome}, expected to get through"
        assert not is_login_redirect(response), f"{outcome}, expected to get through"


def test_matrix_covers_the_app_and_its_allow_lists_are_current(app: Flask) -> None:
    assert collect_routes(app) == ROUTES
    endpoints = set(app.view_functions)
    assert (PUBLIC | LOGIN_ONLY) <= endpoints, "allow-listed endpoints that no longer exist"
    for endpoint in PUBLIC | LOGIN_ONLY:
        view = app.view_functions[endpoint]
        assert getattr(view, "required_permissions", None) is None, (
            f"{endpoint} now declares a permission"
        )


GUARDED_WITH_PARAMETERS = [
    route
    for route in ROUTES
    if ARGUMENT.search(route.rule)
    and getattr(ROUTE_APP.view_functions[route.endpoint], "required_permissions", None) is not None
]


@pytest.mark.parametrize("route", GUARDED_WITH_PARAMETERS, ids=str)
def test_permission_is_checked_before_the_lookup(
    app: Flask,
    client: FlaskClient,
    session: Session,
    login: Callable[[User], FlaskClient],
    route: Route,
) -> None:
    """With URL values that match nothing, a user lacking the permission still gets 403, not
    404: the guard cannot be used to probe which samples, users or tokens exist."""
    guard = guard_of(app, route.endpoint)
    lacking = [role for role in Role if not guard.permissions & permissions_for(frozenset({role}))]
    if not lacking:
        pytest.skip(f"every role has one of {sorted(guard.permissions)}")
    login(add_user(session, (lacking[0],)))
    url = build_url(app, route, {})
    response = client.get(url) if route.method == "GET" else client.post(url, data={})
    assert response.status_code == 403, f"{route} as {lacking[0]}: got {response.status_code}"
