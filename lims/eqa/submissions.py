"""A participating laboratory's results: submitted by its own account (form or API), or uploaded
by the provider on its behalf from the laboratory's file; corrected as new versions.

One set of rules for every way in, so a form, the API and a file refuse the same things with the
same words, naming the sample code (and in a file the row and column):

- the round must be dispatched (planned: not yet; closed or reported: no more results);
- the sample code must be one sent to *this* laboratory in the round (another laboratory's code is
  answered exactly like an unknown one, so codes cannot be probed);
- one result per material: a second submission is refused, a change is a correction;
- the value is a finite number, not negative, not above the programme's ceiling, in the
  programme's unit (never converted); the standard uncertainty, when given, likewise and > 0.

After the deadline a result is accepted but flagged late. A correction before the deadline is a new
version with its reason; after it, the correction waits for the provider, who accepts or refuses it
(both audited). Every state change first locks the round row, then the enrolment row (the
provider's services lock the round first too): one laboratory's concurrent submissions are decided
one after the other (two clicks on Submit store one result), and a round being closed waits for a
submission in progress, or the submission sees it closed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.inputs import NUMBER_LIMIT, text_problem
from lims.core.locking import lock
from lims.core.permissions import Permission, Role
from lims.eqa.models import (
    CorrectionStatus,
    EqaEnrolment,
    EqaLabAccount,
    EqaLaboratory,
    EqaMaterial,
    EqaMethod,
    EqaProgramme,
    EqaResult,
    EqaSampleCode,
    EqaScore,
    EqaUnit,
    ResultVia,
    RoundStatus,
)
from lims.eqa.result_file import ResultRow, read_result_file
from lims.samples.batch_import import RowError

__all__ = [
    "ResultEntry",
    "correct_result",
    "current_result",
    "decide_correction",
    "find_correction",
    "parse_unit",
    "pending_correction",
    "submit_result",
    "upload_results",
]

REASON_MAX = 2000
#: A coverage factor beyond this is a typo (k is 2 for about 95 %, rarely above 3).
COVERAGE_K_MAX = 10

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
#: How laboratories write the two units, folded to lower case; the micro sign (U+00B5) and the
#: Greek mu (U+03BC) look the same and both mean micro.
_UNIT_SPELLINGS: dict[str, EqaUnit] = {
    "µg/l": EqaUnit.UG_PER_L, "μg/l": EqaUnit.UG_PER_L, "ug/l": EqaUnit.UG_PER_L,
    "mcg/l": EqaUnit.UG_PER_L, "мкг/л": EqaUnit.UG_PER_L,
    "mg/kg": EqaUnit.MG_PER_KG, "мг/кг": EqaUnit.MG_PER_KG,
}


@dataclass(frozen=True)
class ResultEntry:
    """A result as it arrives: text from a form or a file cell, numbers from JSON."""

    sample_code: str
    value: object
    unit: object
    method: object
    uncertainty: object = None
    coverage_k: object = None


@dataclass(frozen=True)
class _Checked:
    value: float
    unit: EqaUnit
    method: EqaMethod
    u_x: float | None
    coverage_k: float | None


@dataclass(frozen=True)
class _Problem:
    field: str
    message: str


# --- checking what was sent -----------------------------------------------------------------------

def _number(raw: object) -> Decimal | None:
    """A number from a form, a file cell (``4,5`` too) or JSON; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | Decimal):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))  # 'nan' and 'inf' too: refused as not finite
    if isinstance(raw, str):
        text = raw.strip().replace("\u00a0", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if text.lower() in {"nan", "inf", "+inf", "-inf", "infinity", "-infinity"}:
            return Decimal("NaN")
        if not _DECIMAL.fullmatch(text):
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def parse_unit(raw: object) -> EqaUnit | None:
    """The unit a laboratory wrote, whichever usual spelling; None when it is neither unit."""
    if not isinstance(raw, str):
        return None
    return _UNIT_SPELLINGS.get("".join(raw.split()).lower())


def _quantity(raw: object, field: str, ceiling: float, *, positive: bool) -> tuple[float | None,
                                                                                  _Problem | None]:
    number = _number(raw)
    if number is None:
        shown = str(raw)[:40]
        return None, _Problem(field, _("'%(value)s' is not a number", value=shown))
    if not number.is_finite():
        return None, _Problem(field, _("Enter a finite number (not NaN or infinity)."))
    if abs(number) >= NUMBER_LIMIT:
        return None, _Problem(field, _("The number is too large."))
    if number < 0:
        return None, _Problem(field, _("cannot be negative"))
    if positive and number == 0:
        return None, _Problem(field, _("must be greater than zero"))
    if number > Decimal(repr(ceiling)):
        return None, _Problem(field, _("above the programme's ceiling of %(ceiling)s",
                                       ceiling=f"{ceiling:g}"))
    return float(number), None


def _check(programme: EqaProgramme, entry: ResultEntry) -> tuple[_Checked | None, list[_Problem]]:
    """Every problem of one result (not only the first), each naming its field."""
    problems: list[_Problem] = []
    value: float | None = None
    if _blank(entry.value):
        problems.append(_Problem("value", _("required")))
    else:
        value, problem = _quantity(entry.value, "value", programme.value_ceiling, positive=False)
        problems += [problem] if problem else []
    unit = parse_unit(entry.unit)
    if _blank(entry.unit):
        problems.append(_Problem("unit", _("required")))
    elif unit is None or unit != programme.unit:
        problems.append(_Problem("unit", _("'%(unit)s' is not the unit of this programme: results "
                                           "are reported in %(expected)s and never converted",
                                           unit=str(entry.unit)[:20], expected=programme.unit.value)))
    u_x: float | None = None
    if not _blank(entry.uncertainty):
        u_x, problem = _quantity(entry.uncertainty, "uncertainty", programme.value_ceiling,
                                 positive=True)
        problems += [problem] if problem else []
    coverage_k: float | None = None
    if not _blank(entry.coverage_k):
        coverage_k, problem = _quantity(entry.coverage_k, "coverage_k", COVERAGE_K_MAX,
                                        positive=True)
        problems += [problem] if problem else []
        if _blank(entry.uncertainty):
            problems.append(_Problem("coverage_k", _("a coverage factor needs an uncertainty")))
    method: EqaMethod | None = None
    if _blank(entry.method):
        problems.append(_Problem("method", _("required")))
    else:
        try:
            method = EqaMethod(str(entry.method).strip().lower())
        except ValueError:
            problems.append(_Problem("method", _("'%(value)s' is not one of: %(allowed)s",
                                                 value=str(entry.method)[:40],
                                                 allowed=", ".join(m.value for m in EqaMethod))))
    if problems or value is None or unit is None or method is None:
        return None, problems
    return _Checked(value, unit, method, u_x, coverage_k), []


def _refuse(sample_code: str, problems: Sequence[_Problem]) -> ValidationError:
    return ValidationError(
        _("Sample %(code)s: %(problems)s", code=sample_code,
          problems="; ".join(f"{p.field}: {p.message}" for p in problems)),
        field=problems[0].field, errors=[{"column": p.field, "message": p.message}
                                         for p in problems])


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError(_("Give the reason for the correction."), field="reason")
    if len(text) > REASON_MAX:
        raise ValidationError(ngettext("at most %(num)d character", "at most %(num)d characters",
                                       REASON_MAX), field="reason")
    problem = text_problem(text)
    if problem is not None:
        raise ValidationError(problem, field="reason")
    return text


# --- what the enrolment holds ---------------------------------------------------------------------

def _lock(session: Session, enrolment: EqaEnrolment) -> EqaEnrolment:
    lock(session, enrolment.round)
    return lock(session, enrolment)


def _supersede(session: Session, previous: EqaResult) -> None:
    """A result that stops being current takes its scores with it: until the provider scores
    the round again, no current score describes a replaced result."""
    previous.is_current = False
    session.execute(sa.update(EqaScore).where(EqaScore.result_id == previous.id,
                                              EqaScore.is_current.is_(True))
                    .values(is_current=False))
    session.flush()  # the partial unique index allows one current version at a time


def _open_round(enrolment: EqaEnrolment) -> None:
    """Results are accepted while the round is dispatched (late ones too, flagged)."""
    status = enrolment.round.status
    if status is RoundStatus.PLANNED:
        raise ConflictError(_("Round %(round)s has not been dispatched yet: no results are "
                              "accepted before the samples are sent.", round=enrolment.round.code))
    if status is not RoundStatus.DISPATCHED:
        raise ConflictError(_("Round %(round)s is closed: results and corrections are no longer "
                              "accepted.", round=enrolment.round.code))


def _material_for(session: Session, enrolment: EqaEnrolment, sample_code: str) -> EqaMaterial:
    """The material behind one of the laboratory's own sample codes. A code sent to another
    laboratory is answered exactly as one that does not exist."""
    code = (sample_code or "").strip()
    material = session.scalar(
        sa.select(EqaMaterial).join(EqaSampleCode, EqaSampleCode.material_id == EqaMaterial.id)
        .where(EqaSampleCode.enrolment_id == enrolment.id, EqaSampleCode.code == code))
    if material is None:
        raise ValidationError(_("No sample %(code)s was sent to your laboratory in round "
                                "%(round)s.", code=code[:40], round=enrolment.round.code),
                              field="sample_code")
    return material


def current_result(session: Session, enrolment_id: int, material_id: int) -> EqaResult | None:
    return session.scalar(sa.select(EqaResult).where(
        EqaResult.enrolment_id == enrolment_id, EqaResult.material_id == material_id,
        EqaResult.is_current.is_(True)))


def pending_correction(session: Session, enrolment_id: int, material_id: int) -> EqaResult | None:
    return session.scalar(sa.select(EqaResult).where(
        EqaResult.enrolment_id == enrolment_id, EqaResult.material_id == material_id,
        EqaResult.correction_status == CorrectionStatus.PENDING))


def _next_version(session: Session, enrolment_id: int, material_id: int) -> int:
    latest = session.scalar(sa.select(sa.func.max(EqaResult.version)).where(
        EqaResult.enrolment_id == enrolment_id, EqaResult.material_id == material_id))
    return (latest or 0) + 1


def _label(enrolment: EqaEnrolment, sample_code: str) -> str:
    return f"{enrolment.round.code} · {enrolment.lab_code} · {sample_code}"


def _fields(result: EqaResult) -> dict[str, object]:
    return {"value": result.value, "unit": result.unit, "uncertainty": result.u_x,
            "coverage_k": result.coverage_k, "method": result.method, "late": result.late,
            "version": result.version}


def _new_result(session: Session, *, actor: User, now: datetime, enrolment: EqaEnrolment,
                material: EqaMaterial, checked: _Checked, via: ResultVia, version: int,
                is_current: bool, reason: str | None = None,
                correction_status: CorrectionStatus | None = None) -> EqaResult:
    result = EqaResult(
        enrolment_id=enrolment.id, material_id=material.id, value=checked.value,
        unit=checked.unit, u_x=checked.u_x, coverage_k=checked.coverage_k, method=checked.method,
        submitted_at=now, submitted_by_id=actor.id, via=via, late=enrolment.round.is_late(now),
        version=version, is_current=is_current, reason=reason,
        correction_status=correction_status)
    session.add(result)
    session.flush()
    return result


# --- services -------------------------------------------------------------------------------------

def submit_result(session: Session, *, actor: User, now: datetime, enrolment: EqaEnrolment,
                  entry: ResultEntry, via: ResultVia = ResultVia.PARTICIPANT) -> EqaResult:
    """Store a laboratory's first result for the material behind ``entry.sample_code``."""
    _lock(session, enrolment)
    _open_round(enrolment)
    material = _material_for(session, enrolment, entry.sample_code)
    if current_result(session, enrolment.id, material.id) is not None:
        raise ConflictError(_("A result for sample %(code)s has already been submitted; to change "
                              "it, send a correction with its reason.",
                              code=entry.sample_code.strip()), field="sample_code")
    checked, problems = _check(enrolment.round.programme, entry)
    if checked is None:
        raise _refuse(entry.sample_code.strip(), problems)
    result = _new_result(session, actor=actor, now=now, enrolment=enrolment, material=material,
                         checked=checked, via=via, version=1, is_current=True)
    record_event(session, actor=actor, now=now, action="eqa_result_submitted",
                 entity_type="eqa_result", entity_id=result.id,
                 entity_label=_label(enrolment, entry.sample_code.strip()),
                 changes={**_fields(result), "via": via})
    session.flush()
    return result


def correct_result(session: Session, *, actor: User, now: datetime, enrolment: EqaEnrolment,
                   entry: ResultEntry, reason: str | None) -> EqaResult:
    """Before the deadline: a new current version with its reason. After it: a pending
    correction, which counts only once the provider accepts it."""
    _lock(session, enrolment)
    why = _reason(reason)
    _open_round(enrolment)
    code = entry.sample_code.strip()
    material = _material_for(session, enrolment, code)
    previous = current_result(session, enrolment.id, material.id)
    if previous is None:
        raise ConflictError(_("No result for sample %(code)s has been submitted yet: submit it "
                              "instead of correcting it.", code=code), field="sample_code")
    checked, problems = _check(enrolment.round.programme, entry)
    if checked is None:
        raise _refuse(code, problems)
    version = _next_version(session, enrolment.id, material.id)
    if enrolment.round.is_late(now):
        if pending_correction(session, enrolment.id, material.id) is not None:
            raise ConflictError(_("A correction of sample %(code)s is already waiting for the "
                                  "provider's decision.", code=code), field="sample_code")
        pending = _new_result(session, actor=actor, now=now, enrolment=enrolment,
                              material=material, checked=checked, via=ResultVia.PARTICIPANT,
                              version=version, is_current=False, reason=why,
                              correction_status=CorrectionStatus.PENDING)
        record_event(session, actor=actor, now=now, action="eqa_correction_requested",
                     entity_type="eqa_result", entity_id=pending.id,
                     entity_label=_label(enrolment, code), changes=_fields(pending), reason=why)
        session.flush()
        return pending
    _supersede(session, previous)
    result = _new_result(session, actor=actor, now=now, enrolment=enrolment, material=material,
                         checked=checked, via=ResultVia.PARTICIPANT, version=version,
                         is_current=True, reason=why)
    record_event(session, actor=actor, now=now, action="eqa_result_corrected",
                 entity_type="eqa_result", entity_id=result.id,
                 entity_label=_label(enrolment, code),
                 changes={**_fields(result), "replaces": previous.id}, reason=why)
    session.flush()
    return result


def decide_correction(session: Session, *, actor: User, now: datetime, correction: EqaResult,
                      accept: bool, reason: str | None) -> EqaResult:
    """The provider's decision on a late correction: accepted, it becomes the current version;
    refused, it stays on record as refused. Either way who, when and why are kept."""
    enrolment = _lock(session, correction.enrolment)
    session.refresh(correction)
    why = _reason(reason)
    if correction.correction_status is not CorrectionStatus.PENDING:
        raise ConflictError(_("This correction has already been decided."))
    if enrolment.round.status is RoundStatus.REPORTED:
        raise ConflictError(_("Round %(round)s has been reported: its results can no longer "
                              "change.", round=enrolment.round.code))
    if accept:
        previous = current_result(session, correction.enrolment_id, correction.material_id)
        if previous is not None:
            _supersede(session, previous)
        correction.is_current = True
    correction.correction_status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REFUSED
    correction.decided_at = now
    correction.decided_by_id = actor.id
    correction.decision_reason = why
    code = session.scalar(sa.select(EqaSampleCode.code).where(
        EqaSampleCode.enrolment_id == enrolment.id,
        EqaSampleCode.material_id == correction.material_id)) or ""
    record_event(session, actor=actor, now=now,
                 action="eqa_correction_accepted" if accept else "eqa_correction_refused",
                 entity_type="eqa_result", entity_id=correction.id,
                 entity_label=_label(enrolment, code),
                 changes={"correction_status": correction.correction_status}, reason=why)
    session.flush()
    return correction


def upload_results(session: Session, *, actor: User, now: datetime, enrolment: EqaEnrolment,
                   filename: str, data: bytes) -> list[EqaResult]:
    """The provider enters a laboratory's results from its file: every row is checked, and the
    file is refused as a whole (every bad row named) or stored as a whole, audited as the
    provider's upload."""
    rows = read_result_file(data, filename)
    _lock(session, enrolment)
    _open_round(enrolment)
    programme = enrolment.round.programme
    by_code = {code: material for code, material in session.execute(
        sa.select(EqaSampleCode.code, EqaMaterial)
        .join(EqaMaterial, EqaSampleCode.material_id == EqaMaterial.id)
        .where(EqaSampleCode.enrolment_id == enrolment.id))}
    answered = set(session.scalars(sa.select(EqaResult.material_id).where(
        EqaResult.enrolment_id == enrolment.id, EqaResult.is_current.is_(True))))
    errors: list[RowError] = []
    accepted: list[tuple[ResultRow, EqaMaterial, _Checked]] = []
    seen: dict[str, int] = {}
    for row in rows:
        material = by_code.get(row.sample_code)
        if not row.sample_code:
            errors.append(RowError(row.row, "sample_code", _("required")))
        elif material is None:
            errors.append(RowError(row.row, "sample_code", _(
                "no sample %(code)s was sent to laboratory %(lab)s in round %(round)s",
                code=row.sample_code[:40], lab=enrolment.lab_code, round=enrolment.round.code)))
        elif row.sample_code in seen:
            errors.append(RowError(row.row, "sample_code", _(
                "sample %(code)s appears more than once in the file (row %(first)d)",
                code=row.sample_code, first=seen[row.sample_code])))
        elif material.id in answered:
            errors.append(RowError(row.row, "sample_code", _(
                "a result for sample %(code)s has already been submitted",
                code=row.sample_code)))
        seen.setdefault(row.sample_code, row.row)
        checked, problems = _check(programme, ResultEntry(
            sample_code=row.sample_code, value=row.value, unit=row.unit, method=row.method,
            uncertainty=row.uncertainty))
        errors += [RowError(row.row, p.field, p.message) for p in problems]
        if checked is not None and material is not None:
            accepted.append((row, material, checked))
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        raise ValidationError(
            ngettext("%(num)d problem in %(file)s: nothing was saved",
                     "%(num)d problems in %(file)s: nothing was saved", len(errors),
                     file=filename[:120]),
            field="file", errors=[e.as_dict() for e in errors])
    results = []
    for row, material, checked in accepted:
        result = _new_result(session, actor=actor, now=now, enrolment=enrolment,
                             material=material, checked=checked, via=ResultVia.PROVIDER_UPLOAD,
                             version=1, is_current=True)
        record_event(session, actor=actor, now=now, action="eqa_result_submitted",
                     entity_type="eqa_result", entity_id=result.id,
                     entity_label=_label(enrolment, row.sample_code),
                     changes={**_fields(result), "via": ResultVia.PROVIDER_UPLOAD,
                              "file": filename[:255], "row": row.row})
        results.append(result)
    record_event(session, actor=actor, now=now, action="eqa_results_uploaded",
                 entity_type="eqa_enrolment", entity_id=enrolment.id,
                 entity_label=f"{enrolment.round.code} · {enrolment.lab_code}",
                 changes={"file": filename[:255], "sha256": hashlib.sha256(data).hexdigest(),
                          "rows": len(results)})
    session.flush()
    return results


def find_correction(session: Session, correction_id: int) -> EqaResult:
    """A pending or decided correction, for the provider's decision page."""
    correction = session.get(EqaResult, correction_id)
    if correction is None or correction.correction_status is None:
        raise NotFoundError(_("No such correction."))
    return correction


# --- participant accounts --------------------------------------------------------------------------

def link_participant_account(session: Session, *, actor: User, now: datetime,
                             laboratory: EqaLaboratory, user: User) -> EqaLabAccount:
    """Make ``user`` (an account with the EQA participant role, created like any other user)
    the account of ``laboratory``: from then on it sees that laboratory's enrolments and nothing
    else. An account belongs to one laboratory for good (its past submissions are that
    laboratory's); a laboratory may have several accounts."""
    lock(session, user)
    if Role.EQA_PARTICIPANT not in user.roles:
        raise ValidationError(_("Only an account with the EQA participant role can act for a "
                                "laboratory."), field="user")
    if Permission.MANAGE_EQA in user.permissions:
        raise ValidationError(_("A provider's account cannot also act for a participating "
                                "laboratory."), field="user")
    linked = session.scalar(sa.select(EqaLabAccount).where(EqaLabAccount.user_id == user.id))
    if linked is not None:
        raise ConflictError(_("Account %(user)s already belongs to a laboratory.",
                              user=user.username), field="user")
    account = EqaLabAccount(user_id=user.id, laboratory_id=laboratory.id, created_at=now,
                            created_by_id=actor.id)
    session.add(account)
    session.flush()
    record_event(session, actor=actor, now=now, action="eqa_account_linked",
                 entity_type="eqa_laboratory", entity_id=laboratory.id,
                 entity_label=laboratory.name, changes={"username": user.username})
    session.flush()
    return account
