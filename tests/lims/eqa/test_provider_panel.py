"""The EQA provider's dashboard panel (lims/eqa/panels.py): dispatched rounds near or past their
deadline with the laboratories still missing results, late corrections waiting for a decision,
closed rounds not yet reported — and nothing at all when nothing needs doing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lims.cli import main
from lims.core.permissions import Role
from lims.eqa import service
from lims.eqa.models import (
    CorrectionStatus,
    EqaMethod,
    EqaResult,
    EqaUnit,
    ResultVia,
    RoundStatus,
)
from lims.eqa.panels import eqa_provider
from lims.home.panels import panels_for
from tests.conftest import FIXED_NOW
from tests.lims.eqa.room import DEADLINE, add_result, planned_round

TITLE = "EQA scheme"


def _at(day_offset: int) -> datetime:
    """Noon in Almaty ``day_offset`` days after the rounds' deadline."""
    return datetime(DEADLINE.year, DEADLINE.month, DEADLINE.day, 7, tzinfo=UTC) \
        + timedelta(days=day_offset)


def test_panel_counts_missing_laboratories_corrections_and_closed_rounds(
        app, session, make_user) -> None:
    provider = make_user(Role.REVIEWER)
    technician = make_user(Role.TECHNICIAN)
    with app.test_request_context():
        assert eqa_provider(session, provider, _at(-3)) is None
        due = planned_round(session, provider, labs=3)
        service.change_round_status(session, actor=provider, now=FIXED_NOW, round_=due.round,
                                    to=RoundStatus.DISPATCHED)
        first, second, _third = due.enrolments
        for material in due.materials:
            add_result(session, provider, first, material, 100.0)
        add_result(session, provider, second, due.materials[0], 100.0)
        # a correction after the deadline, waiting: a version that is not current
        session.add(EqaResult(enrolment_id=first.id, material_id=due.materials[1].id,
                              value=120.0, unit=EqaUnit.UG_PER_L, method=EqaMethod.SK_MICROPLATE,
                              submitted_at=FIXED_NOW, submitted_by_id=provider.id,
                              via=ResultVia.PARTICIPANT, late=True, version=2, is_current=False,
                              reason="typo", correction_status=CorrectionStatus.PENDING))
        closed = planned_round(session, provider, labs=1)
        closed.round.status = RoundStatus.CLOSED
        session.flush()

        # eight days before the deadline the dispatched round is not yet due
        early = eqa_provider(session, provider, _at(-8))
        assert early is not None
        assert [t.count for t in early.tiles] == [0, 1, 1]

        shown = {p.title: p for p in panels_for(session, provider, _at(-3))}
        assert TITLE not in {p.title for p in panels_for(session, technician, _at(-3))}
        late = eqa_provider(session, provider, _at(2))
    panel = shown[TITLE]
    counts = {t.label: (t.count, t.alert) for t in panel.tiles}
    assert counts == {
        "Rounds with a deadline within 7 days or past": (1, True),
        "Late corrections waiting for a decision": (1, True),
        "Closed rounds not yet reported": (1, False),
    }
    notes = {link.label: link.note for link in panel.links}
    prefix = due.round.programme.code
    assert notes[f"{prefix} · {due.round.code}"].endswith(
        "laboratories without every result: 2 of 3")
    assert notes[f"{prefix} · {due.round.code}"].startswith("due on")
    assert notes[f"{closed.round.programme.code} · {closed.round.code}"] == "not scored"
    assert late is not None
    assert {link.note.split(";")[0].split(" ")[0] for link in late.links
            if link.label.endswith(due.round.code)} == {"overdue"}


def test_panel_links_open_for_the_provider(app, client, session, make_user, login) -> None:
    provider = make_user(Role.REVIEWER)
    rnd = planned_round(session, provider, labs=1)
    rnd.round.status = RoundStatus.CLOSED
    session.commit()
    login(provider)
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert TITLE in html
    assert "/eqa/?status=closed" in html and f"/eqa/rounds/{rnd.round.id}" in html
    assert client.get("/eqa/?status=closed").status_code == 200


def test_a_closed_scored_round_is_named_as_not_reported(app, session, make_user) -> None:
    admin = make_user(Role.ADMIN)
    session.commit()
    ran = app.test_cli_runner().invoke(main, ["eqa", "demo", "--by", admin.username])
    assert ran.exit_code == 0, ran.output
    with app.test_request_context():
        panel = eqa_provider(session, admin, FIXED_NOW)
    assert panel is not None
    assert {link.label: link.note for link in panel.links} == {
        "UIC-DEMO · 2026-1": "scored, not reported"}
    assert [t.count for t in panel.tiles] == [0, 0, 1]
