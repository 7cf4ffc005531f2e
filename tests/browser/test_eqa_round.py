"""A round of the regional EQA scheme in a real browser (issue 15, "A whole round end to end"):
two laboratories submit through their own accounts (one corrects a typo before the deadline, the
other submits after it and is flagged late), the provider uploads two more laboratories' files,
sets the assigned values by Algorithm A, scores, closes and reports the round, and issues
laboratory A's report and the round summary in Russian; laboratory A then sees its own scores,
downloads both PDFs (their text read back: its scores printed, no other laboratory's name) and nothing
of the other laboratories. Every page passes axe (the ``page`` fixture).

The round is prepared with the provider's services (programme, materials with homogeneity and
stability, enrolment, dispatch): those pages are the provider room's and have tests of their own.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from lims.auth.services import create_user
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.eqa import service
from lims.eqa.models import (
    EqaMaterial,
    EqaMeasurand,
    EqaMethod,
    EqaResult,
    EqaRound,
    EqaSampleCode,
    EqaScore,
    RoundStatus,
    SigmaKind,
)
from lims.eqa.submissions import link_participant_account
from lims.extensions import db
from tests.browser.conftest import PASSWORD, LiveServer
from tests.lims.eqa.room import passing_pairs

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session

MEANS = (100.0, 250.0)
T = TypeVar("T")


@pytest.fixture()
def ids() -> dict[str, Any]:
    return {}


@pytest.fixture()
def live_extra(ids: dict[str, Any]) -> Callable[[Session], None]:
    def add(session: Session) -> None:
        now = now_utc()
        provider = create_user(session, actor=None, now=now, username="eqa-provider",
                               password=PASSWORD, roles=(Role.REVIEWER,))
        programme = service.create_programme(
            session, actor=provider, now=now, code="UIC-E2E", name="Urinary iodine",
            measurand=EqaMeasurand.UIC, sigma_kind=SigmaKind.PERCENT, sigma_percent=10.0,
            min_p=3, value_ceiling=2000.0)
        round_ = service.create_round(session, actor=provider, now=now, programme=programme,
                                      code="2026-2", dispatch_date=now.date() - timedelta(days=5),
                                      deadline=now.date() + timedelta(days=5))
        for index, mean in enumerate(MEANS):
            material = service.add_material(session, actor=provider, now=now, round_=round_,
                                            code="AB"[index], pool_id=f"POOL-{index}")
            service.record_homogeneity(session, actor=provider, now=now, material=material,
                                       pairs=passing_pairs(mean))
            service.record_stability(session, actor=provider, now=now, material=material,
                                     values=[mean, mean * 1.001])
        labs = [service.register_laboratory(session, actor=provider, now=now, name=name,
                                            country="KZ", methods=[EqaMethod.ICP_MS])
                for name in ("Almaty Iodine Lab", "Bishkek Iodine Lab", "Tashkent Iodine Lab",
                             "Dushanbe Iodine Lab")]
        enrolments = [service.enrol_laboratory(session, actor=provider, now=now, round_=round_,
                                               laboratory=lab) for lab in labs]
        service.change_round_status(session, actor=provider, now=now, round_=round_,
                                    to=RoundStatus.DISPATCHED)
        for letter, lab in zip("ab", labs, strict=False):
            account = create_user(session, actor=None, now=now, username=f"eqa-lab-{letter}",
                                  password=PASSWORD, roles=(Role.EQA_PARTICIPANT,))
            link_participant_account(session, actor=provider, now=now, laboratory=lab,
                                     user=account)
        ids.update(round=round_.id, labs=[lab.name for lab in labs],
                   enrolments=[e.id for e in enrolments],
                   lab_codes=[e.lab_code for e in enrolments],
                   codes=[sorted(session.execute(
                       sa.select(EqaMaterial.code, EqaSampleCode.code)
                       .join(EqaMaterial, EqaSampleCode.material_id == EqaMaterial.id)
                       .where(EqaSampleCode.enrolment_id == e.id)).all())
                          for e in enrolments],
                   materials=[m.id for m in round_.materials])

    return add


def in_app(app: Flask, work: Callable[[], T]) -> T:
    """``work`` inside the served app's context, in a thread of its own: Playwright's sync API
    keeps an event loop in the test's thread, where Flask's teardown cannot run."""
    done: list[T] = []

    def run() -> None:
        with app.app_context():
            done.append(work())

    thread = threading.Thread(target=run, name="eqa-e2e-db")
    thread.start()
    thread.join(30)
    assert done, "the database step failed (see the captured log)"
    return done[0]


def login(page: Page, url: str, username: str) -> None:
    from playwright.sync_api import expect

    page.context.clear_cookies()  # whoever was logged in before
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()


def submit(page: Page, code: str, value: str) -> None:
    form = page.locator("form[action$='/results']")
    form.locator("select[name=sample_code]").select_option(code)
    form.locator("input[name=value]").fill(value)
    form.locator("input[name=uncertainty]").fill("3,5")
    form.locator("select[name=method]").select_option("icp_ms")
    form.locator("button[type=submit]").click()


def results_file(codes: list[tuple[str, str]], values: tuple[str, str]) -> dict[str, Any]:
    rows = "\n".join(f"{code},{value},µg/L,,icp_ms"
                     for (_material, code), value in zip(codes, values, strict=True))
    return {"name": "results.csv", "mimeType": "text/csv",
            "buffer": f"sample_code,value,unit,uncertainty,method\n{rows}\n".encode()}


def test_a_round_from_the_participants_side(live_server: LiveServer, page: Page,
                                            ids: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    url = live_server.url
    own_a = f"{url}/eqa/lab/enrolments/{ids['enrolments'][0]}"
    # laboratory A submits both samples on time, through its own pages
    login(page, url, "eqa-lab-a")
    page.locator("header nav a[href$='/eqa/lab/']").click()
    expect(page.locator("main")).to_contain_text(ids["labs"][0])
    page.locator("#eqa-enrolments a").first.click()
    (_, a1), (_, a2) = ids["codes"][0]
    submit(page, a1, "98,5")
    expect(page.locator("body")).to_contain_text(f"Result for sample {a1} received.")
    submit(page, a2, "1500")  # a typo, corrected before the deadline
    expect(page.locator("#eqa-sheet")).to_contain_text("1,500.00")
    correction = page.locator("form[action$='/corrections']")
    correction.locator("select[name='correction-sample_code']").select_option(a2)
    correction.locator("input[name='correction-value']").fill("252")
    correction.locator("select[name='correction-method']").select_option("icp_ms")
    correction.locator("button[type=submit]").click()
    expect(correction.locator(".errors")).to_contain_text("reason")
    correction.locator("textarea[name='correction-reason']").fill("decimal point slipped")
    correction.locator("button[type=submit]").click()
    expect(page.locator("#eqa-sheet")).to_contain_text("252.00")
    expect(page.locator("#eqa-sheet")).to_contain_text("version 2")

    # the deadline passes; laboratory B's result is accepted and flagged late
    def deadline_passes() -> None:
        round_ = db.session.get(EqaRound, ids["round"])
        round_.deadline = now_utc().date() - timedelta(days=1)
        db.session.commit()

    in_app(live_server.app, deadline_passes)
    login(page, url, "eqa-lab-b")
    page.goto(f"{url}/eqa/lab/enrolments/{ids['enrolments'][1]}")
    (_, b1), _ = ids["codes"][1]
    submit(page, b1, "104")
    expect(page.locator("#eqa-sheet")).to_contain_text("late")
    # B cannot open A's enrolment, and never sees A's name or codes
    response = page.goto(own_a)
    assert response is not None and response.status == 404
    page.goto(f"{url}/eqa/lab/")
    expect(page.locator("main")).not_to_contain_text(ids["labs"][0])

    # the provider uploads laboratories C and D from their files
    login(page, url, "eqa-provider")
    for lab, values in ((2, ("101", "247")), (3, ("99", "255"))):
        page.goto(f"{url}/eqa/results/enrolments/{ids['enrolments'][lab]}/upload")
        page.set_input_files("input[type=file]", results_file(ids["codes"][lab], values))
        page.locator("main form button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("2 results of laboratory")
    late = in_app(live_server.app, lambda: db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.cast(EqaResult.late, sa.Integer)))
        .where(EqaResult.is_current)).one())
    assert tuple(late) == (7, 5)  # B's result and the four uploaded after the deadline

    # assigned values by Algorithm A, scores, close and report the round
    for material_id in ids["materials"]:
        page.goto(f"{url}/eqa/materials/{material_id}")
        value_form = page.locator("form[action$='/value']")
        value_form.locator("select[name=source]").select_option("consensus")
        value_form.locator("button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("Assigned value set")
    page.goto(f"{url}/eqa/rounds/{ids['round']}")
    page.locator("form[action$='/score'] button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Scores computed: 7")
    for status in ("closed", "reported"):
        status_form = page.locator("form[action$='/status']")
        status_form.locator("select[name=to]").select_option(status)
        status_form.locator("button[type=submit]").click()
        expect(page.locator("main")).to_contain_text("is now")

    # the provider issues laboratory A's report and the round summary in Russian
    for kind, enrolment in (("lab_report", str(ids["enrolments"][0])), ("summary", "")):
        issue_form = page.locator("form[action$='/documents']")
        issue_form.locator("select[name=kind]").select_option(kind)
        issue_form.locator("select[name=enrolment]").select_option(enrolment)
        issue_form.locator("select[name=language]").select_option("ru")
        issue_form.locator("button[type=submit]").click()
        expect(page.locator("body")).to_contain_text("issued, version 1")

    # laboratory A sees its own scores and classes, and no other laboratory
    login(page, url, "eqa-lab-a")
    page.goto(own_a)
    sheet = page.locator("#eqa-sheet")
    expect(sheet).to_contain_text("Satisfactory")
    text = sheet.inner_text()
    assert re.search(r"z = -?\d+\.\d\d", text), text
    for name in ids["labs"][1:]:
        assert name not in page.content()
    for code in (c for lab in ids["codes"][1:] for _m, c in lab):
        assert code not in page.content()

    # its documents: its report and the summary, both in Russian, with its scores printed
    links = page.locator("#eqa-documents a")
    expect(links).to_have_count(2)
    scores = in_app(live_server.app, lambda: db.session.scalars(
        sa.select(EqaScore.z).join(EqaResult, EqaScore.result_id == EqaResult.id)
        .where(EqaScore.is_current, EqaResult.enrolment_id == ids["enrolments"][0])).all())
    assert len(scores) == 2
    printed = {f"{z:.2f}".replace(".", ",").replace("-", "−") for z in scores}
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        response = page.request.get(f"{url}{href}")
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
        assert "Z" in text.upper() and ids["lab_codes"][0] in text
        found = {z for z in printed if z in text or z.replace("−", "-") in text}
        assert found == printed, (printed, text[:2000])
        for name in ids["labs"][1:]:
            assert name not in text
