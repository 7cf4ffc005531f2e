"""Confidentiality of the EQA scheme (issue 15, "The access matrix"): a participant account sees its
own laboratory only — on its pages, in its PDFs and through the API — and every other
laboratory's enrolment, result or document answers 404 (not 403, so ids cannot be probed), and
no page or answer it gets ever names another laboratory. Participant A vs participant B vs a
participant not enrolled vs the provider vs a technician."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from lims.api.openapi import OPENAPI
from lims.auth.models import User
from lims.auth.services import create_api_token
from lims.capture.models import Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.eqa.models import (
    DocumentKind,
    EqaDocument,
    EqaResult,
    EqaScore,
    RoundStatus,
    ScoreClass,
    ScoreKind,
)
from lims.eqa.submissions import ResultEntry, correct_result, submit_result
from tests.conftest import FIXED_NOW
from tests.lims.eqa.participants import World, build_world, user

Login = Callable[[User], FlaskClient]


@pytest.fixture()
def world(session: Session) -> World:
    """Dated around the real clock: the pages and the API decide lateness by ``now_utc()``."""
    return build_world(session, now_utc())


def pdf(text: str) -> bytes:
    return b"%PDF-1.4\n% " + text.encode() + b"\n%%EOF"


def issue(session: Session, world: World, kind: DocumentKind, lab: int | None) -> EqaDocument:
    data = pdf(f"{kind.value} {lab}")
    document = EqaDocument(kind=kind, round_id=world.round.id,
                           enrolment_id=world.enrolments[lab].id if lab is not None else None,
                           language="ru", version=1, sha256=hashlib.sha256(data).hexdigest(),
                           data=data, issued_at=FIXED_NOW, issued_by_id=world.provider.id)
    session.add(document)
    session.flush()
    return document


@pytest.fixture()
def documents(session: Session, world: World) -> dict[str, EqaDocument]:
    return {"report A": issue(session, world, DocumentKind.LAB_REPORT, 0),
            "certificate A": issue(session, world, DocumentKind.CERTIFICATE, 0),
            "report B": issue(session, world, DocumentKind.LAB_REPORT, 1),
            "certificate B": issue(session, world, DocumentKind.CERTIFICATE, 1),
            "summary": issue(session, world, DocumentKind.SUMMARY, None)}


def submitted(session: Session, world: World, lab: int, value: str = "150") -> EqaResult:
    return submit_result(session, actor=world.participants[lab], now=now_utc(),
                         enrolment=world.enrolments[lab],
                         entry=ResultEntry(sample_code=world.code(lab, 0), value=value,
                                           unit="µg/L", method="icp_ms"))


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


# --- pages -----------------------------------------------------------------------------------------

def test_a_participant_sees_its_own_enrolment_and_never_another_laboratory(
        session: Session, world: World, login: Login) -> None:
    submitted(session, world, 1, value="987.65")
    client = login(world.participants[0])
    index = page(client, "/eqa/lab/")
    assert world.labs[0].name in index and world.round.code in index
    own = page(client, f"/eqa/lab/enrolments/{world.enrolments[0].id}")
    assert world.code(0, 0) in own and world.code(0, 1) in own
    for text in (index, own):
        assert world.labs[1].name not in text and world.labs[2].name not in text
        assert world.code(1, 0) not in text and "987" not in text


def test_another_laboratorys_enrolment_is_not_found(session: Session, world: World,
                                                    login: Login) -> None:
    other = world.enrolments[1].id
    client = login(world.participants[0])
    page(client, f"/eqa/lab/enrolments/{other}", 404)
    body = {"sample_code": world.code(1, 0), "value": "1", "unit": "µg/L", "method": "icp_ms"}
    assert client.post(f"/eqa/lab/enrolments/{other}/results", data=body).status_code == 404
    assert client.post(f"/eqa/lab/enrolments/{other}/corrections",
                       data={**body, "reason": "x"}).status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaResult)) == 0


def test_a_laboratory_not_enrolled_sees_no_round(world: World, login: Login) -> None:
    client = login(world.outsider)
    index = page(client, "/eqa/lab/")
    assert world.round.code not in index and world.labs[2].name in index
    page(client, f"/eqa/lab/enrolments/{world.enrolments[0].id}", 404)


@pytest.mark.parametrize("who", ["provider", "technician"])
def test_staff_do_not_use_the_participant_pages(world: World, login: Login, who: str) -> None:
    client = login(getattr(world, who))
    page(client, "/eqa/lab/", 403)
    page(client, f"/eqa/lab/enrolments/{world.enrolments[0].id}", 403)


def test_the_result_form_stores_a_result_and_names_what_is_wrong(
        session: Session, world: World, login: Login) -> None:
    client = login(world.participants[0])
    url = f"/eqa/lab/enrolments/{world.enrolments[0].id}/results"
    form = {"sample_code": world.code(0, 0), "value": "12,5", "unit": "mg/kg",
            "method": "icp_ms"}
    refused = client.post(url, data=form)
    assert refused.status_code == 422
    assert "not the unit of this programme" in refused.get_data(as_text=True)
    assert client.post(url, data={**form, "unit": "µg/L"}).status_code == 302
    [result] = session.scalars(sa.select(EqaResult))
    assert (result.value, result.enrolment_id) == (12.5, world.enrolments[0].id)
    shown = page(client, f"/eqa/lab/enrolments/{world.enrolments[0].id}")
    assert "12.50" in shown or "12,50" in shown
    again = client.post(url, data={**form, "unit": "µg/L", "sample_code": world.code(1, 0)})
    assert again.status_code == 422  # another laboratory's code is not among the choices


def test_a_correction_through_the_page(session: Session, world: World, login: Login) -> None:
    submitted(session, world, 0)
    client = login(world.participants[0])
    url = f"/eqa/lab/enrolments/{world.enrolments[0].id}/corrections"
    form = {"correction-sample_code": world.code(0, 0), "correction-value": "160",
            "correction-unit": "µg/L", "correction-method": "icp_ms"}
    refused = client.post(url, data=form)
    assert refused.status_code == 422 and "Give the reason" in refused.get_data(as_text=True)
    assert client.post(url, data={**form, "correction-reason": "dilution factor"}).status_code == 302
    current = session.scalar(sa.select(EqaResult).where(EqaResult.is_current.is_(True)))
    assert current is not None and (current.value, current.version) == (160.0, 2)


# --- documents -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [
    (0, {"report A", "certificate A", "summary"}),
    (1, {"report B", "certificate B", "summary"}),
    ("outsider", set()),
])
def test_documents_a_participant_may_download(world: World, documents: dict[str, EqaDocument],
                                              login: Login, who: Any, allowed: set[str]) -> None:
    client = login(world.outsider if who == "outsider" else world.participants[who])
    for name, document in documents.items():
        response = client.get(f"/eqa/lab/documents/{document.id}")
        if name in allowed:
            assert response.status_code == 200, name
            assert response.mimetype == "application/pdf" and response.data == document.data
            disposition = response.headers["Content-Disposition"]
            assert world.labs[0].name not in disposition and world.labs[1].name not in disposition
        else:
            assert response.status_code == 404, name


def test_the_enrolment_page_lists_its_own_documents_only(
        world: World, documents: dict[str, EqaDocument], login: Login) -> None:
    shown = page(login(world.participants[0]), f"/eqa/lab/enrolments/{world.enrolments[0].id}")
    for name, document in documents.items():
        link = f"/eqa/lab/documents/{document.id}\""
        assert (link in shown) == (name in {"report A", "certificate A", "summary"}), name


@pytest.mark.parametrize("who", ["provider", "technician"])
def test_staff_download_nothing_through_the_participant_pages(
        world: World, documents: dict[str, EqaDocument], login: Login, who: str) -> None:
    client = login(getattr(world, who))
    assert client.get(f"/eqa/lab/documents/{documents['summary'].id}").status_code == 403


# --- the provider's pages --------------------------------------------------------------------------

def test_the_provider_uploads_a_file_and_sees_every_bad_row(
        session: Session, world: World, login: Login) -> None:
    client = login(world.provider)
    url = f"/eqa/results/enrolments/{world.enrolments[0].id}/upload"
    assert world.labs[0].name in page(client, url)
    bad = (f"sample_code,value,unit,method\n{world.code(0, 0)},abc,µg/L,icp_ms\n"
           f"{world.code(1, 1)},12,µg/L,icp_ms\n").encode()
    refused = client.post(url, data={"file": (io.BytesIO(bad), "lab.csv")},
                          content_type="multipart/form-data")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "is not a number" in text and "was sent to" in text
    good = f"sample_code,value,unit,method\n{world.code(0, 0)},120,µg/L,icp_ms\n".encode()
    done = client.post(url, data={"file": (io.BytesIO(good), "lab.csv")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    assert session.scalar(sa.select(EqaResult.value)) == 120.0


@pytest.mark.parametrize("who", ["technician", 0])
def test_only_the_provider_uploads_and_decides(world: World, login: Login, who: Any) -> None:
    client = login(world.technician if who == "technician" else world.participants[who])
    page(client, f"/eqa/results/enrolments/{world.enrolments[0].id}/upload", 403)
    page(client, "/eqa/results/corrections", 403)


def test_the_provider_decides_a_late_correction_on_its_page(
        session: Session, world: World, login: Login) -> None:
    submitted(session, world, 0)
    pending = correct_result(session, actor=world.participants[0],
                             now=now_utc() + timedelta(days=20), enrolment=world.enrolments[0],
                             entry=ResultEntry(sample_code=world.code(0, 0), value="170",
                                               unit="µg/L", method="icp_ms"),
                             reason="wrong dilution")
    client = login(world.provider)
    listed = page(client, "/eqa/results/corrections")
    assert "wrong dilution" in listed and world.labs[0].name in listed
    answer = client.post(f"/eqa/results/corrections/{pending.id}",
                         data={f"c{pending.id}-decision": "accept",
                               f"c{pending.id}-reason": "worksheet checked"})
    assert answer.status_code == 302
    session.refresh(pending)
    assert pending.is_current and pending.decision_reason == "worksheet checked"
    assert "wrong dilution" not in page(client, "/eqa/results/corrections")


# --- the API ---------------------------------------------------------------------------------------

def token_of(session: Session, user: User) -> dict[str, str]:
    _token, secret = create_api_token(session, actor=user, now=FIXED_NOW, name="eqa script")
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_lists_own_enrolments_and_hides_the_others(
        session: Session, world: World, client: FlaskClient) -> None:
    submitted(session, world, 1)
    headers = token_of(session, world.participants[0])
    listed = client.get("/api/v1/eqa/enrolments", headers=headers).get_json()
    assert [e["id"] for e in listed["items"]] == [world.enrolments[0].id]
    assert listed["items"][0]["lab_code"] == "P01"
    detail = client.get(f"/api/v1/eqa/enrolments/{world.enrolments[0].id}", headers=headers)
    assert [m["sample_code"] for m in detail.get_json()["materials"]] == world.codes[0]
    other = client.get(f"/api/v1/eqa/enrolments/{world.enrolments[1].id}", headers=headers)
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    for text in (str(listed), detail.get_data(as_text=True), other.get_data(as_text=True)):
        assert world.labs[1].name not in text and world.code(1, 0) not in text


def test_the_api_takes_a_result_once(session: Session, world: World, client: FlaskClient) -> None:
    headers = token_of(session, world.participants[0])
    url = f"/api/v1/eqa/enrolments/{world.enrolments[0].id}/results"
    body = {"sample_code": world.code(0, 1), "value": 201.5, "unit": "µg/L",
            "uncertainty": 6.0, "method": "sk_microplate"}
    created = client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["value"] == 201.5 and created.get_json()["late"] is False
    conforms(created.get_json(), "EqaResult")
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 409 and "already been submitted" in again.get_json()["detail"]
    wrong = client.post(url, json={**body, "sample_code": world.code(0, 0), "unit": "mg/kg"},
                        headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "unit"
    stranger = client.post(url, json={**body, "sample_code": world.code(1, 0)}, headers=headers)
    assert stranger.status_code == 422 and stranger.get_json()["field"] == "sample_code"
    extra = client.post(url, json={**body, "lab": "x"}, headers=headers)
    assert extra.status_code == 422
    assert client.post(url, data="value=1", headers=headers).status_code == 415
    elsewhere = client.post(f"/api/v1/eqa/enrolments/{world.enrolments[1].id}/results",
                            json={**body, "sample_code": world.code(1, 0)}, headers=headers)
    assert elsewhere.status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaResult)) == 1


def test_the_api_refuses_staff_and_instrument_tokens(session: Session, world: World,
                                                     client: FlaskClient) -> None:
    instrument = create_instrument(session, actor=world.provider, now=FIXED_NOW,
                                   fields=InstrumentFields(code="EQA-PHOTO", name="photometer",
                                                           protocol=Protocol.ASTM))
    machine = issue_instrument_token(session, actor=world.provider, now=FIXED_NOW,
                                     instrument=instrument)
    for headers in (token_of(session, world.provider), token_of(session, world.technician),
                    {"Authorization": f"Bearer {machine}"}):
        assert client.get("/api/v1/eqa/enrolments", headers=headers).status_code == 403
        assert client.get(f"/api/v1/eqa/enrolments/{world.enrolments[0].id}",
                          headers=headers).status_code == 403
    assert client.get("/api/v1/eqa/enrolments").status_code == 401


def conforms(body: Any, schema: str) -> None:
    """The answer matches its schema in the served OpenAPI document."""
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}",
                          "components": OPENAPI["components"]}).validate(body)


def test_scores_are_shown_once_the_round_is_reported(
        session: Session, world: World, client: FlaskClient, login: Login) -> None:
    result = submitted(session, world, 0, value="150")
    submitted(session, world, 1, value="999")
    material = world.materials[0]
    material.x_pt, material.u_x_pt, material.sigma_pt = 120.0, 2.0, 12.0
    session.add(EqaScore(result_id=result.id, material_id=material.id, x_pt=120.0, u_x_pt=2.0,
                         sigma_pt=12.0, z=2.5, z_prime=2.4, score_kind=ScoreKind.Z,
                         score_class=ScoreClass.QUESTIONABLE, computed_at=FIXED_NOW,
                         computed_by_id=world.provider.id))
    session.flush()
    headers = token_of(session, world.participants[0])
    url = f"/api/v1/eqa/enrolments/{world.enrolments[0].id}"
    own_page = f"/eqa/lab/enrolments/{world.enrolments[0].id}"
    before = client.get(url, headers=headers).get_json()
    conforms(before, "EqaEnrolmentDetail")
    assert before["materials"][0]["score"] is None and before["materials"][0]["assigned_value"] is None
    assert "2.50" not in page(login(world.participants[0]), own_page)

    world.round.status = RoundStatus.REPORTED
    session.flush()
    after = client.get(url, headers=headers).get_json()
    conforms(after, "EqaEnrolmentDetail")
    conforms(client.get("/api/v1/eqa/enrolments", headers=headers).get_json(), "EqaEnrolmentList")
    first = after["materials"][0]
    assert (first["score"]["value"], first["score"]["class"], first["assigned_value"]) == (
        2.5, "questionable", 120.0)
    shown = page(login(world.participants[0]), own_page)
    assert "2,50" in shown or "2.50" in shown
    assert "999" not in shown and world.labs[1].name not in shown


def test_the_provider_links_a_participant_account(session: Session, world: World,
                                                  login: Login) -> None:
    newcomer = user(session, FIXED_NOW, Role.EQA_PARTICIPANT)
    client = login(world.provider)
    url = f"/eqa/results/laboratories/{world.labs[1].id}/accounts"
    assert newcomer.username in page(client, url)
    assert client.post(url, data={"user": str(newcomer.id)}).status_code == 302
    assert newcomer.username in page(client, url).split('id="eqa-accounts"')[1].split("</ul>")[0]
    client.post("/logout")
    listed = page(login(newcomer), "/eqa/lab/")
    assert world.labs[1].name in listed and world.round.code in listed


@pytest.mark.parametrize("who", ["technician", 0])
def test_only_the_provider_links_accounts(world: World, login: Login, who: Any) -> None:
    client = login(world.technician if who == "technician" else world.participants[who])
    page(client, f"/eqa/results/laboratories/{world.labs[0].id}/accounts", 403)


def test_a_participant_s_home_is_its_own_rounds_without_the_lab_s_search(
        world: World, login: Login) -> None:
    client = login(world.participants[0])
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/eqa/lab/")
    assert 'role="search"' not in page(client, "/eqa/lab/")
