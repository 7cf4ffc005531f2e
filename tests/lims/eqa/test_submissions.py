"""The submission service: what a participating laboratory may submit, when, and how it corrects
it (issue 15 item 4 and "Bad input"); the provider's upload of a laboratory's file."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.core.errors import ConflictError, LimsError, ValidationError
from lims.core.permissions import Role
from lims.eqa.models import (
    CorrectionStatus,
    EqaResult,
    EqaScore,
    ResultVia,
    RoundStatus,
    ScoreClass,
    ScoreKind,
)
from lims.eqa.submissions import (
    ResultEntry,
    correct_result,
    current_result,
    decide_correction,
    link_participant_account,
    submit_result,
    upload_results,
)
from tests.conftest import FIXED_NOW
from tests.lims.eqa.participants import CEILING, World, build_world, user

AFTER_DEADLINE = FIXED_NOW + timedelta(days=11)


@pytest.fixture()
def world(session: Session) -> World:
    return build_world(session, FIXED_NOW)


def entry(code: str, value: object = "123.4", **changes: object) -> ResultEntry:
    fields: dict[str, object] = {"sample_code": code, "value": value, "unit": "µg/L",
                                 "method": "ammonium_persulfate"}
    fields.update(changes)
    return ResultEntry(**fields)  # type: ignore[arg-type]


def submit(session: Session, world: World, lab: int = 0, material: int = 0, *,
           now=FIXED_NOW, **changes: object) -> EqaResult:
    return submit_result(session, actor=world.participants[lab], now=now,
                         enrolment=world.enrolments[lab],
                         entry=entry(world.code(lab, material), **changes))


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)))


def test_a_result_is_stored_with_who_when_and_how(session: Session, world: World) -> None:
    result = submit(session, world, value="123,4", uncertainty="5.1", coverage_k="2",
                    unit="ug/L")
    assert (result.value, result.u_x, result.coverage_k, result.unit.value) == (
        123.4, 5.1, 2.0, "µg/L")
    assert (result.version, result.is_current, result.late, result.via) == (
        1, True, False, ResultVia.PARTICIPANT)
    assert result.material_id == world.materials[0].id
    assert result.submitted_by_id == world.participants[0].id
    [event] = events(session, "eqa_result_submitted")
    assert event.entity_id == result.id and world.code(0, 0) in (event.entity_label or "")
    assert event.changes["value"] == 123.4


def test_a_number_from_json_is_taken_as_given(session: Session, world: World) -> None:
    assert submit(session, world, value=0.1, uncertainty=None).value == 0.1
    assert submit(session, world, material=1, value=250).value == 250.0


def test_after_the_deadline_the_result_is_accepted_and_flagged_late(session: Session,
                                                                    world: World) -> None:
    on_time = submit(session, world, now=FIXED_NOW.replace(day=24, hour=23, minute=59))
    late = submit(session, world, material=1, now=AFTER_DEADLINE)
    assert (on_time.late, late.late) == (False, True)


@pytest.mark.parametrize(("status", "words"), [(RoundStatus.PLANNED, "not been dispatched"),
                                               (RoundStatus.CLOSED, "is closed"),
                                               (RoundStatus.REPORTED, "is closed")])
def test_only_a_dispatched_round_takes_results(session: Session, world: World,
                                               status: RoundStatus, words: str) -> None:
    world.round.status = status
    session.flush()
    with pytest.raises(ConflictError, match=words):
        submit(session, world)
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaResult)) == 0


def test_a_material_not_sent_to_the_laboratory_is_refused(session: Session, world: World) -> None:
    # the other laboratory's code for the same material is answered like an unknown one
    for code in (world.code(1, 0), "NO-SUCH-CODE"):
        with pytest.raises(ValidationError, match="No sample .* was sent to your laboratory") as e:
            submit_result(session, actor=world.participants[0], now=FIXED_NOW,
                          enrolment=world.enrolments[0], entry=entry(code))
        assert e.value.field == "sample_code"


def test_a_second_submission_for_the_same_material_is_refused(session: Session,
                                                              world: World) -> None:
    submit(session, world)
    with pytest.raises(ConflictError, match="already been submitted"):
        submit(session, world, value="99")
    assert [r.value for r in session.scalars(sa.select(EqaResult))] == [123.4]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"unit": "mg/kg"}, "unit", "not the unit of this programme"),
    ({"unit": "mmol/L"}, "unit", "not the unit of this programme"),
    ({"unit": ""}, "unit", "required"),
    ({"value": "about 120"}, "value", "is not a number"),
    ({"value": ""}, "value", "required"),
    ({"value": "-1"}, "value", "cannot be negative"),
    ({"value": -0.5}, "value", "cannot be negative"),
    ({"value": "NaN"}, "value", "finite"),
    ({"value": float("inf")}, "value", "finite"),
    ({"value": "1e400"}, "value", "too large"),
    ({"value": str(CEILING + 0.1)}, "value", "ceiling of 2000"),
    ({"value": True}, "value", "is not a number"),
    ({"uncertainty": "0"}, "uncertainty", "greater than zero"),
    ({"uncertainty": "-2"}, "uncertainty", "cannot be negative"),
    ({"coverage_k": "2"}, "coverage_k", "needs an uncertainty"),
    ({"uncertainty": "3", "coverage_k": "11"}, "coverage_k", "ceiling of 10"),
    ({"method": "guesswork"}, "method", "is not one of"),
])
def test_impossible_values_are_refused_naming_the_sample_and_field(
        session: Session, world: World, changes: dict[str, object], field: str,
        words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        submit(session, world, **changes)
    assert world.code(0, 0) in refused.value.message
    assert refused.value.field == field
    assert any(e["column"] == field and words in str(e["message"]) for e in refused.value.errors)
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaResult)) == 0


def test_the_ceiling_itself_and_zero_are_accepted(session: Session, world: World) -> None:
    assert submit(session, world, value=str(CEILING)).value == CEILING
    assert submit(session, world, material=1, value="0").value == 0.0


def test_every_problem_of_a_result_is_named_at_once(session: Session, world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        submit(session, world, value="-3", unit="mg/kg", method="")
    assert {e["column"] for e in refused.value.errors} == {"value", "unit", "method"}


# --- corrections ---------------------------------------------------------------------------------

def correct(session: Session, world: World, *, now=FIXED_NOW, reason: str | None = "typo",
            **changes: object) -> EqaResult:
    return correct_result(session, actor=world.participants[0], now=now,
                          enrolment=world.enrolments[0],
                          entry=entry(world.code(0, 0), **changes), reason=reason)


def test_a_correction_before_the_deadline_is_a_new_version_with_its_reason(
        session: Session, world: World) -> None:
    first = submit(session, world)
    second = correct(session, world, value="132.4", reason="transposed digits")
    assert (first.is_current, second.is_current, second.version) == (False, True, 2)
    assert (second.value, second.reason, second.correction_status) == (
        132.4, "transposed digits", None)
    assert current_result(session, world.enrolments[0].id, world.materials[0].id) is second
    [event] = events(session, "eqa_result_corrected")
    assert event.reason == "transposed digits" and event.changes["replaces"] == first.id


def test_a_correction_needs_a_reason_and_a_result_to_correct(session: Session,
                                                             world: World) -> None:
    with pytest.raises(ConflictError, match="No result .* submitted yet"):
        correct(session, world)
    submit(session, world)
    with pytest.raises(ValidationError, match="reason") as refused:
        correct(session, world, reason="  ")
    assert refused.value.field == "reason"


def test_a_correction_is_checked_like_a_result(session: Session, world: World) -> None:
    submit(session, world)
    with pytest.raises(ValidationError, match="not the unit"):
        correct(session, world, unit="mg/kg")


def test_after_the_deadline_a_correction_waits_for_the_provider(session: Session,
                                                                world: World) -> None:
    first = submit(session, world)
    pending = correct(session, world, now=AFTER_DEADLINE, value="140")
    assert (pending.is_current, pending.correction_status, pending.late) == (
        False, CorrectionStatus.PENDING, True)
    assert current_result(session, world.enrolments[0].id, world.materials[0].id) is first
    with pytest.raises(ConflictError, match="already waiting"):
        correct(session, world, now=AFTER_DEADLINE, value="141")
    assert events(session, "eqa_correction_requested")[0].reason == "typo"

    decided = decide_correction(session, actor=world.provider, now=AFTER_DEADLINE,
                                correction=pending, accept=True, reason="lab's worksheet seen")
    assert (decided.is_current, decided.correction_status, decided.decided_by_id) == (
        True, CorrectionStatus.ACCEPTED, world.provider.id)
    assert first.is_current is False
    [event] = events(session, "eqa_correction_accepted")
    assert event.reason == "lab's worksheet seen" and event.actor_id == world.provider.id
    with pytest.raises(ConflictError, match="already been decided"):
        decide_correction(session, actor=world.provider, now=AFTER_DEADLINE,
                          correction=pending, accept=False, reason="changed my mind")


def test_a_refused_correction_is_kept_and_the_result_stands(session: Session,
                                                            world: World) -> None:
    first = submit(session, world)
    pending = correct(session, world, now=AFTER_DEADLINE, value="140")
    decide_correction(session, actor=world.provider, now=AFTER_DEADLINE, correction=pending,
                      accept=False, reason="results already seen by the lab")
    assert (pending.correction_status, pending.is_current, first.is_current) == (
        CorrectionStatus.REFUSED, False, True)
    assert events(session, "eqa_correction_refused")[0].reason.startswith("results already")
    # a new late correction may be sent after a refusal; it takes the next version number
    again = correct(session, world, now=AFTER_DEADLINE, value="139")
    assert again.version == 3 and again.correction_status is CorrectionStatus.PENDING


def test_no_correction_once_the_round_is_closed(session: Session, world: World) -> None:
    submit(session, world)
    world.round.status = RoundStatus.CLOSED
    session.flush()
    with pytest.raises(ConflictError, match="is closed"):
        correct(session, world)


# --- the provider's upload -----------------------------------------------------------------------

def csv_file(*rows: str, header: str = "sample_code,value,unit,uncertainty,method") -> bytes:
    return "\n".join([header, *rows]).encode()


def upload(session: Session, world: World, data: bytes, filename: str = "lab.csv",
           lab: int = 0) -> list[EqaResult]:
    return upload_results(session, actor=world.provider, now=FIXED_NOW,
                          enrolment=world.enrolments[lab], filename=filename, data=data)


def test_a_file_is_stored_whole_and_audited_as_the_providers_upload(session: Session,
                                                                    world: World) -> None:
    results = upload(session, world, csv_file(f"{world.code(0, 0)},120.5,µg/L,4.2,icp_ms",
                                              f"{world.code(0, 1)};310;ug/l;;icp_ms"
                                              .replace(";", ",")))
    assert [(r.value, r.u_x, r.via) for r in results] == [
        (120.5, 4.2, ResultVia.PROVIDER_UPLOAD), (310.0, None, ResultVia.PROVIDER_UPLOAD)]
    assert all(r.submitted_by_id == world.provider.id for r in results)
    [file_event] = events(session, "eqa_results_uploaded")
    assert file_event.changes["rows"] == 2 and file_event.changes["file"] == "lab.csv"
    assert [e.changes["via"] for e in events(session, "eqa_result_submitted")] == [
        "provider_upload", "provider_upload"]


def test_a_workbook_is_read_like_a_csv(session: Session, world: World) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Sample code", "Value", "Unit", "Method"])
    sheet.append([world.code(0, 1), 87.25, "µg/L", "sk_microplate"])
    buffer = io.BytesIO()
    book.save(buffer)
    [result] = upload(session, world, buffer.getvalue(), "lab.xlsx")
    assert (result.value, result.method.value) == (87.25, "sk_microplate")


def test_a_bad_file_is_refused_whole_with_every_row_named(session: Session, world: World) -> None:
    submit(session, world, material=1)
    data = csv_file(f"{world.code(0, 0)},120,µg/L,,icp_ms",
                    f"{world.code(1, 0)},121,µg/L,,icp_ms",       # another laboratory's tube
                    f"{world.code(0, 1)},122,µg/L,,icp_ms",       # already submitted
                    f"{world.code(0, 0)},-4,mg/kg,,icp_ms",       # repeated; negative; wrong unit
                    "ZZZ,n/a,µg/L,,icp_ms",                      # unknown code; not a number
                    f"{world.code(0, 0)},9999,µg/L,,icp_ms")      # repeated; above the ceiling
    with pytest.raises(ValidationError, match="problems in lab.csv: nothing was saved") as refused:
        upload(session, world, data)
    named = {(e["row"], e["column"]) for e in refused.value.errors}
    assert named == {(3, "sample_code"), (4, "sample_code"), (5, "sample_code"), (5, "value"),
                     (5, "unit"), (6, "sample_code"), (6, "value"), (7, "sample_code"),
                     (7, "value")}
    assert session.scalar(sa.select(sa.func.count()).select_from(EqaResult)) == 1


def test_a_file_with_the_wrong_columns_is_refused_before_its_rows(session: Session,
                                                                  world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        upload(session, world, csv_file("X,1,µg/L", header="code,value,unit"))
    assert {(e["column"], e["message"]) for e in refused.value.errors} == {
        ("sample_code", "required column is missing"), ("code", "unknown column")}
    with pytest.raises(ValidationError, match="no data rows"):
        upload(session, world, csv_file())
    with pytest.raises(LimsError, match="upload a .csv or .xlsx file"):
        upload(session, world, b"%PDF-1.4", "results.pdf")


def test_no_upload_into_a_closed_round(session: Session, world: World) -> None:
    world.round.status = RoundStatus.CLOSED
    session.flush()
    with pytest.raises(ConflictError, match="is closed"):
        upload(session, world, csv_file(f"{world.code(0, 0)},120,µg/L,,icp_ms"))


def test_an_accepted_correction_takes_the_old_scores_out_of_the_current_ones(
        session: Session, world: World) -> None:
    first = submit(session, world)
    score = EqaScore(result_id=first.id, material_id=first.material_id, x_pt=120.0, u_x_pt=1.0,
                     sigma_pt=12.0, z=0.28, z_prime=0.28, score_kind=ScoreKind.Z,
                     score_class=ScoreClass.SATISFACTORY, computed_at=FIXED_NOW,
                     computed_by_id=world.provider.id)
    session.add(score)
    session.flush()
    pending = correct(session, world, now=AFTER_DEADLINE, value="140")
    assert score.is_current  # a pending correction changes nothing yet
    decide_correction(session, actor=world.provider, now=AFTER_DEADLINE, correction=pending,
                      accept=True, reason="checked")
    session.refresh(score)
    assert score.is_current is False  # until the provider scores the round again


# --- participant accounts ------------------------------------------------------------------------

def test_a_participant_account_is_linked_to_one_laboratory(session: Session,
                                                           world: World) -> None:
    newcomer = user(session, FIXED_NOW, Role.EQA_PARTICIPANT)
    account = link_participant_account(session, actor=world.provider, now=FIXED_NOW,
                                       laboratory=world.labs[1], user=newcomer)
    assert (account.laboratory_id, account.created_by_id) == (world.labs[1].id,
                                                               world.provider.id)
    assert events(session, "eqa_account_linked")[0].changes == {"username": newcomer.username}
    with pytest.raises(ConflictError, match="already belongs to a laboratory"):
        link_participant_account(session, actor=world.provider, now=FIXED_NOW,
                                 laboratory=world.labs[0], user=newcomer)


@pytest.mark.parametrize("roles", [(Role.TECHNICIAN,), (Role.EQA_PARTICIPANT, Role.REVIEWER)])
def test_only_a_pure_participant_account_is_linked(session: Session, world: World,
                                                   roles: tuple[Role, ...]) -> None:
    with pytest.raises(ValidationError):
        link_participant_account(session, actor=world.provider, now=FIXED_NOW,
                                 laboratory=world.labs[0], user=user(session, FIXED_NOW, *roles))
