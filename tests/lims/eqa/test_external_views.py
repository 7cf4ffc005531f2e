"""The external-scheme pages: a scheme and a round through the forms, a material registered
from the round page, our six values with mean/SD/CV, the submission and the verdict; refusals
are field errors (422/409), never a 500; the dashboard panel lists a round near its deadline."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Role
from lims.eqa.external_models import ExternalRound, ExternalRoundStatus, ExternalScheme
from lims.monitoring.models import PopulationGroup
from tests.conftest import FIXED_NOW
from tests.lims.eqa.external_helpers import analyse, make_round, make_scheme
from tests.race import school_cluster


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return match.group(1) if match else ""


def test_admin_adds_a_scheme_and_opens_a_round(
        client: FlaskClient, session: Session,
        make_user: Callable[..., User], login: Callable[[User], FlaskClient]) -> None:
    admin = make_user(Role.ADMIN)
    cluster = school_cluster(session, FIXED_NOW)
    session.commit()
    login(admin)
    page = client.get("/eqa/external/")
    assert page.status_code == 200
    group = session.scalars(sa.select(PopulationGroup)).first()
    form = {"code": "EQUIP", "name": "EQUIP urinary iodine", "provider": "CDC",
            "measurand": "uic", "limit_percent": "15", "limit_absolute": "",
            "absolute_below": "", "limit_note": "not published by CDC; our choice", "days": "3",
            "survey_round": str(cluster.round_id), "cluster_code": "NO-SUCH",
            "population_group": str(group.id)}
    refused = client.post("/eqa/external/schemes", data=form)
    assert refused.status_code == 422 and "no cluster NO-SUCH" in refused.get_data(as_text=True)
    assert client.post("/eqa/external/schemes", data={**form, "cluster_code": cluster.code}
                       ).status_code == 302
    scheme = session.scalar(sa.select(ExternalScheme).where(ExternalScheme.code == "EQUIP"))
    assert scheme is not None and scheme.limit_percent == 15.0
    round_form = {"scheme": str(scheme.id), "code": "2026-1", "received_on": "2026-05-10",
                  "deadline": "2026-05-01"}
    assert client.post("/eqa/external/rounds", data=round_form).status_code == 422
    response = client.post("/eqa/external/rounds", data={**round_form, "deadline": "2026-06-10"})
    assert response.status_code == 302
    rnd = session.scalar(sa.select(ExternalRound))
    page = client.get(f"/eqa/external/rounds/{rnd.id}").get_data(as_text=True)
    assert "Register a blind material" in page
    response = client.post(f"/eqa/external/rounds/{rnd.id}/materials",
                           data={"code": "A1", "notes": ""})
    assert response.status_code == 302
    page = client.get(f"/eqa/external/rounds/{rnd.id}").get_data(as_text=True)
    assert 'data-material="A1"' in page and page.count("no verified result") == 3
    # the same code again: a conflict on the field
    assert client.post(f"/eqa/external/rounds/{rnd.id}/materials",
                       data={"code": "A1"}).status_code == 409


def test_reviewer_sends_results_and_records_the_target(
        client: FlaskClient, session: Session,
        make_user: Callable[..., User], login: Callable[[User], FlaskClient]) -> None:
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    scheme = make_scheme(session, tech, FIXED_NOW)
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    from lims.eqa import external
    material = external.register_material(session, actor=tech, now=FIXED_NOW,
                                          external_round=rnd, code="A1")
    session.commit()
    login(reviewer)
    # nothing analysed yet: refused with the reason on the page
    response = client.post(f"/eqa/external/rounds/{rnd.id}/submit")
    assert response.status_code == 422 and "A1" in response.get_data(as_text=True)
    analyse(session, tech, reviewer, FIXED_NOW, material,
            [(101.0, 99.0), (104.0, 98.0), (100.0, 102.0)])
    session.commit()
    page = client.get(f"/eqa/external/rounds/{rnd.id}").get_data(as_text=True)
    assert "104.0" in page and "100.7" in page  # a value and the mean of the six
    assert client.post(f"/eqa/external/rounds/{rnd.id}/submit").status_code == 302
    session.refresh(rnd)
    assert rnd.status is ExternalRoundStatus.SUBMITTED
    url = f"/eqa/external/materials/{material.id}/evaluation"
    for bad in ("nan", "inf", "-5", "1e400", "abc"):
        response = client.post(url, data={f"m{material.id}-target": bad})
        assert response.status_code == 422, bad
    response = client.post(url, data={f"m{material.id}-target": "110",
                                      f"m{material.id}-scheme_verdict": "acceptable"})
    assert response.status_code == 302
    page = client.get(f"/eqa/external/rounds/{rnd.id}").get_data(as_text=True)
    assert "acceptable" in page and "Evaluated" in page
    # a second target without a reason is refused on the field
    response = client.post(url, data={f"m{material.id}-target": "120"})
    assert response.status_code == 422 and "say why" in response.get_data(as_text=True)
    assert client.get("/eqa/external/materials/987654/evaluation").status_code == 405
    assert client.post("/eqa/external/materials/987654/evaluation").status_code == 404


def test_a_technician_cannot_configure_or_submit(
        client: FlaskClient, session: Session,
        make_user: Callable[..., User], login: Callable[[User], FlaskClient]) -> None:
    tech = make_user(Role.TECHNICIAN)
    scheme = make_scheme(session, tech, FIXED_NOW)
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    session.commit()
    login(tech)
    assert client.post("/eqa/external/schemes", data={}).status_code == 403
    assert client.post(f"/eqa/external/rounds/{rnd.id}/submit").status_code == 403
    assert client.get(f"/eqa/external/rounds/{rnd.id}").status_code == 200


def test_the_dashboard_shows_a_round_near_its_deadline(
        client: FlaskClient, session: Session,
        make_user: Callable[..., User], login: Callable[[User], FlaskClient]) -> None:
    tech = make_user(Role.TECHNICIAN)
    scheme = make_scheme(session, tech, FIXED_NOW)
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    rnd.deadline = FIXED_NOW.date() + timedelta(days=3)
    session.commit()
    from lims.eqa.external_panels import eqa_external
    from lims.home.panels import REGISTRY
    assert any(r.key == "eqa_external" for r in REGISTRY)
    login(tech)
    with client.application.test_request_context():
        panel = eqa_external(session, tech, FIXED_NOW)
    assert panel is not None and panel.tiles[0].count == 1
    assert panel.links[0].label == f"{scheme.code} · {rnd.code}"
    rnd.deadline = FIXED_NOW.date() + timedelta(days=60)
    session.commit()
    with client.application.test_request_context():
        assert eqa_external(session, tech, FIXED_NOW) is None
