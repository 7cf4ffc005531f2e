"""Every EQA form posted with hostile values against real objects: NaN, infinities, 1e309,
negative numbers, ids past 2^63, 10,000-character strings, wrong units, and result files with
broken rows. Each answer is a 4xx with the problem named on the page, never a 500, and nothing
is written (no row of an EQA table or of the audit trail, no material's figures changed).

The generic sweep (tests/lims/test_hostile_input.py) posts to these routes with ids that match
nothing, so it sees their 404s only; here each form reaches its service. A result file written
the way spreadsheets in the region write them (a byte-order mark, semicolons and decimal commas)
is read, not refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.dt import now_utc
from lims.eqa import models
from lims.eqa.models import EqaMaterial, EqaResult, RoundStatus
from lims.eqa.submissions import ResultEntry, correct_result, submit_result
from lims.models import Base
from tests.factories import unique
from tests.lims.eqa.participants import World, build_world
from tests.lims.eqa.room import Round, planned_round

Login = Callable[[User], FlaskClient]

NUMBERS = ("NaN", "nan", "inf", "-Infinity", "1e309", "-1", "9" * 20)
BIG_IDS = (str(2**63), "9" * 20, "-1", "abc")
LONG = "x" * 10_000
EQA_TABLES = [t for t in Base.metadata.sorted_tables if t.name.startswith("eqa_")]
MATERIAL_FIGURES = (EqaMaterial.homogeneity_s_s, EqaMaterial.stability_difference,
                    EqaMaterial.x_pt, EqaMaterial.u_x_pt, EqaMaterial.sigma_pt,
                    EqaMaterial.check_sigma_pt)


def state(session: Session) -> tuple[Any, ...]:
    counts = tuple(session.scalar(sa.select(sa.func.count()).select_from(t)) for t in EQA_TABLES)
    audit = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    figures = tuple(session.execute(sa.select(*MATERIAL_FIGURES).order_by(EqaMaterial.id)))
    return counts, audit, figures


def refused(client: FlaskClient, session: Session, url: str, data: dict[str, Any],
            **kwargs: Any) -> str:
    """Post, and check the answer is a 4xx naming the problem and that nothing changed."""
    before = state(session)
    response = client.post(url, data=data, **kwargs)
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (url, data if len(str(data)) < 300 else "…",
                                               response.status_code)
    if response.status_code != 404:  # the error summary, or a file's problems card
        assert "There is a problem" in text or 'role="alert"' in text, (url, text[:400])
    session.expire_all()
    assert state(session) == before, (url, "changed something")
    return text


@pytest.fixture()
def world(session: Session) -> World:
    """Committed (to the test's savepoint): a refused request rolls its own work back."""
    built = build_world(session, now_utc())
    session.commit()
    return built


@pytest.fixture()
def provider(world: World, login: Login) -> FlaskClient:
    return login(world.provider)


@pytest.fixture()
def planned(session: Session, world: World) -> Round:
    built = planned_round(session, world.provider, labs=1, characterise=False)
    session.commit()
    return built


PROGRAMME = {"name": "Йод", "measurand": "uic", "sigma_kind": "percent", "sigma_percent": "10",
             "min_p": "12", "value_ceiling": "2000"}


@pytest.mark.parametrize("field", ["sigma_percent", "sigma_a", "sigma_b", "min_p",
                                   "value_ceiling"])
def test_programme_numbers(session: Session, provider: FlaskClient, field: str) -> None:
    """The σ_pt rule is configuration: a percentage, or a + b·x_pt, never a non-finite one."""
    kind = "linear" if field in ("sigma_a", "sigma_b") else "percent"
    rule = {"sigma_a": "1", "sigma_b": "0.1"} if kind == "linear" else {}
    for value in NUMBERS:
        if (field, value) == ("sigma_a", "-1"):
            continue  # a negative intercept with a slope is a rule (σ_pt > 0 over the range)
        refused(provider, session, "/eqa/programmes/new",
                {**PROGRAMME, **rule, "code": unique("P-"), "sigma_kind": kind, field: value})


def test_programme_and_laboratory_texts(session: Session, provider: FlaskClient) -> None:
    for field in ("code", "name", "measurand", "sigma_kind"):
        refused(provider, session, "/eqa/programmes/new",
                {**PROGRAMME, "code": unique("P-"), field: LONG})
    lab = {"name": "Лаборатория", "country": "KZ", "contact": "", "methods": "icp_ms"}
    for field, value in (("name", LONG), ("country", LONG), ("contact", LONG),
                         ("methods", "plutonium"), ("methods", LONG)):
        refused(provider, session, "/eqa/laboratories/new", {**lab, field: value})


def test_round_forms(session: Session, provider: FlaskClient, planned: Round,
                     world: World) -> None:
    new = {"programme": str(planned.round.programme_id), "code": "R", "dispatch_date": "2026-12-01",
           "deadline": "2026-12-31", "value_source": "consensus"}
    for field, value in [("programme", v) for v in BIG_IDS] + [
            ("code", LONG), ("value_source", LONG), ("deadline", "2026-11-01"),
            ("dispatch_date", "99999-12-31"), ("deadline", LONG)]:
        refused(provider, session, "/eqa/rounds/new", {**new, field: value})
    base = f"/eqa/rounds/{planned.round.id}"
    material = {"code": "Z", "pool_id": "P-1", "level": "", "volume_ml": "5", "notes": ""}
    for field, value in [("volume_ml", v) for v in NUMBERS] + [
            ("code", LONG), ("pool_id", LONG), ("level", LONG), ("notes", LONG)]:
        refused(provider, session, f"{base}/materials", {**material, field: value})
    for value in (*BIG_IDS, str(world.labs[2].id + 10**6)):
        refused(provider, session, f"{base}/enrolments", {"laboratory": value})
    for data in ({"to": LONG}, {"to": "reported"}, {"to": "dispatched", "override_reason": LONG}):
        refused(provider, session, f"{base}/status", data)
    refused(provider, session, f"{base}/score", {})
    enrolment = planned.enrolments[0]
    for data in ({"shipped_on": LONG}, {"shipped_on": "2026-05-02", "arrived_on": "2026-05-01"}):
        refused(provider, session, f"/eqa/enrolments/{enrolment.id}/shipment",
                {f"e{enrolment.id}-{k}": v for k, v in data.items()})
    document = {"kind": "certificate", "enrolment": str(enrolment.id), "language": "ru",
                "comments": "", "signatory": ""}
    for field, value in [("enrolment", v) for v in BIG_IDS] + [
            ("kind", LONG), ("language", "xx"), ("comments", LONG), ("signatory", LONG)]:
        refused(provider, session, f"{base}/documents", {**document, field: value})


def test_homogeneity_stability_and_assigned_value(session: Session, provider: FlaskClient,
                                                  planned: Round, world: World) -> None:
    """A planned round's material takes its studies; a dispatched one's its assigned value (and
    a form posted to the other shows its refusal too)."""
    url = f"/eqa/materials/{planned.materials[0].id}"
    dispatched = f"/eqa/materials/{world.materials[0].id}"
    tens = " ".join(["100"] * 10)
    for value in NUMBERS:
        bad = " ".join(["100"] * 9 + [value])
        refused(provider, session, f"{url}/homogeneity", {"first": bad, "second": tens})
        refused(provider, session, f"{url}/homogeneity", {"first": tens, "second": bad})
        refused(provider, session, f"{url}/homogeneity",
                {"first": tens, "second": tens, "sigma_pt": value})
        refused(provider, session, f"{url}/stability", {"values": f"100 {value}"})
        for target in (url, dispatched):
            refused(provider, session, f"{target}/value",
                    {"source": "reference", "x_pt": value, "u_x_pt": "1"})
            refused(provider, session, f"{target}/value",
                    {"source": "formulation", "x_pt": "100", "u_x_pt": value})
    many = " ".join(["100"] * 5_000)  # 10,000 characters
    for data in ({"first": many, "second": many}, {"first": LONG, "second": LONG},
                 {"first": tens, "second": "100 100"}):
        refused(provider, session, f"{url}/homogeneity", data)
    refused(provider, session, f"{url}/stability", {"values": LONG})
    refused(provider, session, f"{dispatched}/value", {"source": LONG})
    refused(provider, session, f"{dispatched}/value", {"source": "reference"})  # no x_pt
    refused(provider, session, f"{dispatched}/value", {"source": "consensus"})  # p < min_p
    refused(provider, session, f"{dispatched}/homogeneity", {"first": tens, "second": tens})


def _upload(client: FlaskClient, world: World, data: bytes, name: str) -> Any:
    return client.post(f"/eqa/results/enrolments/{world.enrolments[0].id}/upload",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _workbook(*rows: tuple[Any, ...]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_result_files(session: Session, provider: FlaskClient, world: World) -> None:
    url = f"/eqa/results/enrolments/{world.enrolments[0].id}/upload"
    code = world.code(0, 0)
    header = "sample_code,value,unit,method\n"
    files = {
        "broken rows": f"{header}{code},12,µg/L,icp_ms,extra,cells\n\"{code},1".encode(),
        "non-finite": f"{header}{code},NaN,µg/L,icp_ms\n{world.code(0, 1)},1e309,µg/L,icp_ms\n"
                      .encode(),
        "negative": f"{header}{code},-1,µg/L,icp_ms\n".encode(),
        "wrong unit": f"{header}{code},12,mg/kg,icp_ms\n".encode(),
        "no unit": f"{header}{code},12,,icp_ms\n".encode(),
        "another lab's tube": f"{header}{world.code(1, 0)},12,µg/L,icp_ms\n".encode(),
        "same tube twice": f"{header}{code},12,µg/L,icp_ms\n{code},13,µg/L,icp_ms\n".encode(),
        "huge cell": f"{header}{LONG},{'9' * 400},µg/L,{LONG}\n".encode(),
        "not text": b"\xff\xfe\x00\x00" + bytes(range(256)) * 8,
        "header only": header.encode(),
    }
    for name, data in files.items():
        text = refused(provider, session, url, {"file": (io.BytesIO(data), "lab.csv")},
                       content_type="multipart/form-data")
        assert "row" in text.lower() or "file" in text.lower(), name
    formulas = _workbook(("sample_code", "value", "unit", "method"),
                         (code, "=1/0", "µg/L", "icp_ms"),
                         (world.code(0, 1), "=HYPERLINK(\"http://x\",\"5\")", "µg/L", "icp_ms"))
    refused(provider, session, url, {"file": (io.BytesIO(formulas), "lab.xlsx")},
            content_type="multipart/form-data")
    refused(provider, session, url, {"file": (io.BytesIO(b"PK\x03\x04broken"), "lab.xlsx")},
            content_type="multipart/form-data")
    refused(provider, session, url, {"file": (io.BytesIO(b"a,b"), "lab.exe")},
            content_type="multipart/form-data")


def test_a_spreadsheet_export_with_bom_semicolons_and_commas_is_read(
        session: Session, provider: FlaskClient, world: World) -> None:
    data = ("\ufeffsample_code;value;unit;uncertainty;method\n"
            f"{world.code(0, 0)};120,5;µg/L;4,2;icp_ms\n").encode()
    answer = _upload(provider, world, data, "lab.csv")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:600]
    stored = session.scalars(sa.select(EqaResult)).one()
    assert (stored.value, stored.u_x) == (120.5, 4.2)


def test_correction_decisions_and_accounts(session: Session, world: World, login: Login) -> None:
    submit_result(session, actor=world.participants[0], now=now_utc(),
                  enrolment=world.enrolments[0],
                  entry=ResultEntry(sample_code=world.code(0, 0), value="150", unit="µg/L",
                                    method="icp_ms"))
    pending = correct_result(session, actor=world.participants[0],
                             now=now_utc() + timedelta(days=20),
                             enrolment=world.enrolments[0],
                             entry=ResultEntry(sample_code=world.code(0, 0), value="170",
                                               unit="µg/L", method="icp_ms"), reason="опечатка")
    session.commit()
    client = login(world.provider)
    prefix = f"c{pending.id}-"
    for data in ({"decision": LONG, "reason": "x"}, {"decision": "accept", "reason": LONG},
                 {"decision": "", "reason": "x"}):
        refused(client, session, f"/eqa/results/corrections/{pending.id}",
                {prefix + k: v for k, v in data.items()})
    for value in BIG_IDS:
        refused(client, session, f"/eqa/results/corrections/{value}",
                {prefix + "decision": "accept"})
        refused(client, session, f"/eqa/results/laboratories/{world.labs[0].id}/accounts",
                {"user": value})


def test_participant_result_and_correction_forms(session: Session, world: World,
                                                 login: Login) -> None:
    client = login(world.participants[0])
    url = f"/eqa/lab/enrolments/{world.enrolments[0].id}"
    entry = {"sample_code": world.code(0, 0), "value": "120", "unit": "µg/L",
             "uncertainty": "", "coverage_k": "", "method": "icp_ms"}
    cases = [("value", v) for v in NUMBERS] + [("uncertainty", v) for v in NUMBERS] + [
        ("coverage_k", v) for v in ("NaN", "inf", "0", "-1", "1e309")] + [
        ("unit", "mg/kg"), ("unit", "mmol/L"), ("unit", LONG), ("value", LONG),
        ("sample_code", LONG), ("sample_code", world.code(1, 0)), ("method", LONG)]
    for field, value in cases:
        refused(client, session, f"{url}/results", {**entry, field: value})
    submit_result(session, actor=world.participants[0], now=now_utc(),
                  enrolment=world.enrolments[0],
                  entry=ResultEntry(sample_code=world.code(0, 0), value="150", unit="µg/L",
                                    method="icp_ms"))
    session.commit()
    correction = {f"correction-{k}": v for k, v in {**entry, "reason": "опечатка"}.items()}
    for field, value in [*cases, ("reason", LONG), ("reason", "")]:
        refused(client, session, f"{url}/corrections", {**correction, f"correction-{field}": value})
    assert RoundStatus.DISPATCHED is world.round.status
    assert models.EqaResult is EqaResult
