"""The provider's EQA pages over HTTP: a reviewer runs a round from the programme to the
scores through the forms; every refusal names its field (too few results names p and min_p);
the pages show lab codes, verdicts, scores and a laboratory's history; a technician, a
ministry user and a participant account get 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Role
from lims.eqa.models import (
    EqaLaboratory,
    EqaMaterial,
    EqaProgramme,
    EqaRound,
    RoundStatus,
    ScoreClass,
)
from tests.factories import unique
from tests.lims.eqa.room import add_result


def ok(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True).split("There is a problem", 1)[-1][:800]


def test_a_round_from_programme_to_scores(client: FlaskClient, session: Session,
                                          login: Callable[[User], FlaskClient],
                                          make_user: Callable[..., User]) -> None:
    reviewer = make_user(Role.REVIEWER)
    login(reviewer)
    code = unique("UIC-")
    ok(client.post("/eqa/programmes/new", data={
        "code": code, "name": "Urinary iodine", "measurand": "uic", "sigma_kind": "percent",
        "sigma_percent": "10", "min_p": "3", "value_ceiling": "2000"}))
    programme = session.scalars(sa.select(EqaProgramme).where(EqaProgramme.code == code)).one()
    ok(client.post("/eqa/rounds/new", data={
        "programme": str(programme.id), "code": "2026-1", "dispatch_date": "2026-04-01",
        "deadline": "2026-05-01", "value_source": "consensus"}))
    round_ = session.scalars(sa.select(EqaRound).where(EqaRound.programme_id == programme.id)).one()
    base = f"/eqa/rounds/{round_.id}"
    ok(client.post(f"{base}/materials", data={"code": "A", "pool_id": "P-2026-07",
                                              "level": "low", "volume_ml": "5,0"}))
    material = session.scalars(sa.select(EqaMaterial).where(EqaMaterial.round_id == round_.id)).one()
    assert material.volume_ml == 5.0
    first = "\n".join(str(100 + i % 2 * 0.2) for i in range(10))
    second = " ".join(str(100.1 + i % 2 * 0.1) for i in range(10))
    ok(client.post(f"/eqa/materials/{material.id}/homogeneity",
                   data={"first": first, "second": second}))
    ok(client.post(f"/eqa/materials/{material.id}/stability", data={"values": "100,1; 100,0"}))
    page = client.get(f"/eqa/materials/{material.id}").get_data(as_text=True)
    assert "s_s = " in page and "passed" in page
    for n in range(4):
        name = unique("Laboratory ")
        ok(client.post("/eqa/laboratories/new", data={"name": name, "country": "KG",
                                                      "methods": ["sk_microplate"]}))
        lab = session.scalars(sa.select(EqaLaboratory).where(EqaLaboratory.name == name)).one()
        ok(client.post(f"{base}/enrolments", data={"laboratory": str(lab.id)}))
    ok(client.post(f"{base}/status", data={"to": "dispatched"}))
    session.expire_all()
    assert round_.status is RoundStatus.DISPATCHED
    enrolments = round_.enrolments
    ok(client.post(f"/eqa/enrolments/{enrolments[0].id}/shipment",
                   data={f"e{enrolments[0].id}-shipped_on": "2026-04-01",
                         f"e{enrolments[0].id}-arrived_on": "2026-04-03"}))
    add_result(session, reviewer, enrolments[0], material, 101.0)
    add_result(session, reviewer, enrolments[1], material, 99.0)
    session.commit()  # the view's rollback after a refusal must not take them away
    # two results, minimum three: refused, saying p and min_p
    refused = client.post(f"/eqa/materials/{material.id}/value", data={"source": "consensus"})
    assert refused.status_code == 422
    assert "p = 2" in refused.get_data(as_text=True) and "minimum p = 3" in refused.get_data(
        as_text=True)
    add_result(session, reviewer, enrolments[2], material, 100.0)
    add_result(session, reviewer, enrolments[3], material, 140.0)
    session.commit()
    ok(client.post(f"/eqa/materials/{material.id}/value", data={"source": "consensus"}))
    session.expire_all()
    assert material.consensus_p == 4 and "Robust consensus" in client.get(base).get_data(
        as_text=True)
    # with four results one outlier drags the consensus: the provider takes the ICP-MS value
    ok(client.post(f"/eqa/materials/{material.id}/value",
                   data={"source": "reference", "x_pt": "100,2", "u_x_pt": "0.8"}))
    ok(client.post(f"{base}/status", data={"to": "closed"}))
    ok(client.post(f"{base}/score", data={}))
    page = client.get(base).get_data(as_text=True)
    for enrolment in enrolments:
        assert enrolment.lab_code in page
    assert "Unsatisfactory" in page and "Satisfactory" in page and "Reference value" in page
    history = client.get(f"/eqa/laboratories/{enrolments[3].laboratory_id}").get_data(as_text=True)
    assert "2026-1" in history and "Unsatisfactory" in history and 'id="share-satisfactory">0 %' in history
    listing = client.get("/eqa/?status=closed").get_data(as_text=True)
    assert "2026-1" in listing
    assert client.get("/eqa/?export=csv").status_code == 200
    assert client.get("/eqa/laboratories?q=Laboratory").status_code == 200
    session.expire_all()
    assert {s.score_class for s in material_scores(session, material)} == {
        ScoreClass.SATISFACTORY, ScoreClass.UNSATISFACTORY}


def material_scores(session: Session, material: EqaMaterial) -> list:
    from lims.eqa.models import EqaScore
    return list(session.scalars(sa.select(EqaScore).where(EqaScore.material_id == material.id,
                                                          EqaScore.is_current.is_(True))))


@pytest.mark.parametrize(("data", "field"), [
    ({"sigma_percent": "nan"}, "sigma_percent"),
    ({"sigma_percent": "1e400"}, "sigma_percent"),
    ({"sigma_percent": "250"}, "sigma_percent"),
    ({"min_p": "99999999999"}, "min_p"),
    ({"value_ceiling": "-4"}, "value_ceiling"),
    ({"code": "=HYPERLINK()"}, "code"),
    ({"measurand": "plutonium"}, "measurand"),
])
def test_programme_form_refuses_bad_input(client: FlaskClient, login: Callable[[User], FlaskClient],
                                          make_user: Callable[..., User], data: dict,
                                          field: str) -> None:
    login(make_user(Role.ADMIN))
    form = {"code": unique("P-"), "name": "x", "measurand": "uic", "sigma_kind": "percent",
            "sigma_percent": "10", "min_p": "12", "value_ceiling": "2000", **data}
    response = client.post("/eqa/programmes/new", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_homogeneity_form_names_the_bad_value(client: FlaskClient, session: Session,
                                              login: Callable[[User], FlaskClient],
                                              make_user: Callable[..., User]) -> None:
    from tests.lims.eqa.room import planned_round
    admin = make_user(Role.ADMIN)
    material = planned_round(session, admin, labs=0, characterise=False).materials[0]
    login(admin)
    url = f"/eqa/materials/{material.id}/homogeneity"
    tens = " ".join(["100"] * 10)
    bad = client.post(url, data={"first": "100 abc" + " 100" * 8, "second": tens})
    assert bad.status_code == 422 and "Value 2 (abc)" in bad.get_data(as_text=True)
    short = client.post(url, data={"first": tens, "second": "100 100"})
    assert short.status_code == 422 and 'id="second-error"' in short.get_data(as_text=True)
    ceiling = client.post(url, data={"first": "100 99999" + " 100" * 8, "second": tens})
    assert ceiling.status_code == 422 and "Value 3" in ceiling.get_data(as_text=True)
    dispatch = client.post(f"/eqa/rounds/{material.round_id}/status", data={"to": "dispatched"})
    assert dispatch.status_code == 422  # no laboratories, and the material was never assessed


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.MINISTRY, Role.EQA_PARTICIPANT])
def test_only_provider_staff_see_the_pages(client: FlaskClient, login: Callable[[User], FlaskClient],
                                           make_user: Callable[..., User], role: Role) -> None:
    login(make_user(role))
    assert client.get("/eqa/").status_code == 403
    assert client.get("/eqa/laboratories").status_code == 403
    assert client.post("/eqa/programmes/new", data={}).status_code == 403


def test_missing_things_are_404(client: FlaskClient, login: Callable[[User], FlaskClient],
                                make_user: Callable[..., User]) -> None:
    login(make_user(Role.REVIEWER))
    assert client.get("/eqa/rounds/987654").status_code == 404
    assert client.get("/eqa/materials/99999999999999999999").status_code == 404
    assert client.get("/eqa/?sort=nonsense").status_code == 400
