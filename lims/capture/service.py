"""Operations on the instrument register and the readings inbox.

Every function follows the house convention: it checks the rules, writes its audit event in the
same transaction, flushes and never commits. Readings are never edited in place beyond the inbox
decision (attach / discard), and each decision keeps who, when and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session, selectinload

from instruments.records import PlateReading
from lims.audit.service import record_event
from lims.auth.models import User
from lims.auth.services import create_api_token, revoke_api_token
from lims.capture import plausibility
from lims.capture.analytes import ANALYTES
from lims.capture.ingest import SampleRow, match_result
from lims.capture.labels import reading_label
from lims.capture.models import (
    Instrument,
    InstrumentReading,
    Protocol,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.capture.reasons import Reason
from lims.core.errors import (
    BusinessRuleViolation,
    ConfirmationRequired,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from lims.core.inputs import require_code
from lims.core.labels import label
from lims.core.locking import lock
from lims.monitoring.models import SampleKindRef
from lims.equipment.queries import instrument_problem, problem_reason
from lims.samples.accession import normalise_query
from lims.samples.models import Sample, SampleKind
from lims.samples.transitions import get_sample_by_accession

INSTRUMENT_ENTITY = "instrument"
READING_ENTITY = "instrument_reading"


@dataclass(frozen=True)
class InstrumentFields:
    code: str
    name: str
    protocol: Protocol
    model: str = ""
    serial_number: str = ""
    location: str = ""
    serial_settings: dict[str, Any] | None = None
    notes: str | None = None


def get_instrument(session: Session, instrument_id: int) -> Instrument:
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFoundError(_("There is no instrument with id %(id)s.", id=instrument_id))
    return instrument


def instrument_for_token(session: Session, token_id: int) -> Instrument | None:
    return session.scalar(sa.select(Instrument).where(Instrument.api_token_id == token_id))


def create_instrument(session: Session, *, actor: User, now: datetime,
                      fields: InstrumentFields) -> Instrument:
    code = fields.code.strip()
    if not code:
        raise ValidationError(_("An instrument needs a code."), field="code")
    require_code(code, field="code")
    if session.scalar(sa.select(Instrument.id).where(Instrument.code == code)) is not None:
        raise ConflictError(_("An instrument with code %(code)s is already registered.", code=code),
                            field="code")
    instrument = Instrument(
        code=code, name=fields.name.strip(), protocol=fields.protocol, model=fields.model.strip(),
        serial_number=fields.serial_number.strip(), location=fields.location.strip(),
        serial_settings=dict(fields.serial_settings or {}), notes=fields.notes, created_at=now,
    )
    session.add(instrument)
    session.flush()
    record_event(session, actor=actor, now=now, action="instrument_registered",
                 entity_type=INSTRUMENT_ENTITY, entity_id=instrument.id, entity_label=code,
                 changes={k: {"before": None, "after": v} for k, v in _fields(instrument).items()})
    return instrument


def _fields(instrument: Instrument) -> dict[str, Any]:
    return {"code": instrument.code, "name": instrument.name, "protocol": instrument.protocol,
            "model": instrument.model, "serial_number": instrument.serial_number,
            "location": instrument.location, "serial_settings": instrument.serial_settings,
            "notes": instrument.notes, "is_active": instrument.is_active}


def update_instrument(session: Session, *, actor: User, now: datetime, instrument: Instrument,
                      fields: InstrumentFields, is_active: bool) -> Instrument:
    if fields.code.strip() != instrument.code:
        raise BusinessRuleViolation(
            _("An instrument's code cannot change: its readings and driver profile carry it."),
            field="code")
    before = _fields(instrument)
    instrument.name = fields.name.strip()
    instrument.protocol = fields.protocol
    instrument.model = fields.model.strip()
    instrument.serial_number = fields.serial_number.strip()
    instrument.location = fields.location.strip()
    instrument.serial_settings = dict(fields.serial_settings or {})
    instrument.notes = fields.notes
    instrument.is_active = is_active
    after = _fields(instrument)
    changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changes:
        record_event(session, actor=actor, now=now, action="instrument_updated",
                     entity_type=INSTRUMENT_ENTITY, entity_id=instrument.id,
                     entity_label=instrument.code, changes=changes)
    session.flush()
    return instrument


def issue_instrument_token(session: Session, *, actor: User, now: datetime,
                           instrument: Instrument) -> str:
    """A new token for the instrument's driver; the previous one (if any) is revoked at once, so
    a PC that is retired or lost cannot keep submitting. Returns the secret (shown once)."""
    if instrument.protocol in (Protocol.MANUAL, Protocol.FILE):
        raise BusinessRuleViolation(
            _("Instrument %(code)s has no driver (its readings are keyed in or uploaded); it needs"
              " no token.", code=instrument.code))
    if instrument.api_token is not None and instrument.api_token.is_active:
        revoke_api_token(session, actor=actor, now=now, token_id=instrument.api_token.id)
    token, secret = create_api_token(session, actor=actor, now=now, name=f"instrument {instrument.code}")
    instrument.api_token_id = token.id
    session.flush()
    record_event(session, actor=actor, now=now, action="instrument_token_issued",
                 entity_type=INSTRUMENT_ENTITY, entity_id=instrument.id, entity_label=instrument.code,
                 changes={"token_prefix": token.prefix})
    return secret


def get_reading(session: Session, reading_id: int) -> InstrumentReading:
    reading = session.get(InstrumentReading, reading_id)
    if reading is None:
        raise NotFoundError(_("There is no reading with id %(id)s.", id=reading_id))
    return reading


def _refuse_unless_open(session: Session, reading: InstrumentReading) -> None:
    lock(session, reading)
    if reading.status is not ReadingStatus.UNMATCHED:
        status = reading_label(reading.status)
        if reading.resolved_by:
            message = _("Reading #%(id)s is already decided (%(status)s, by %(user)s); only unmatched"
                        " readings can be attached or discarded.", id=reading.id, status=status,
                        user=reading.resolved_by.username)
        else:
            message = _("Reading #%(id)s is already decided (%(status)s); only unmatched readings can"
                        " be attached or discarded.", id=reading.id, status=status)
        raise ConflictError(message)


def attach_reading(session: Session, *, actor: User, now: datetime, reading: InstrumentReading,
                   accession: str, reason: str, confirmed: Collection[str] = (),
                   lab_zone: tzinfo = UTC) -> InstrumentReading:
    """Attach an unmatched result to the sample a technician names. The same checks as for a
    driver's reading apply (status, value, range, the instrument's equipment record on the
    measurement day), except the sample the instrument named: the person is correcting exactly
    that.

    What is possible but implausible (``lims.capture.plausibility``: measured before collection
    or after the kind's maximum age (reference data), another kind of sample, a sample that already has a value)
    raises ``ConfirmationRequired`` until every question's code is in ``confirmed``; the answers
    go into the audit event. ``lab_zone`` places the instrument's clock (kept naive, as sent)."""
    _refuse_unless_open(session, reading)
    if reading.type is not ReadingType.RESULT:
        raise BusinessRuleViolation(
            _("Reading #%(id)s is not a result (%(type)s): it cannot belong to a sample.",
              id=reading.id, type=reading_label(reading.type)))
    if not reason.strip():
        raise ValidationError(_("Say why this reading belongs to that sample."), field="reason")
    wanted = normalise_query(accession)
    sample = get_sample_by_accession(session, wanted)
    if sample is None:
        raise NotFoundError(_("There is no sample with accession %(accession)s.", accession=wanted),
                            field="accession")
    problem = instrument_problem(session, reading.instrument_id,
                                 (reading.measured_at or reading.received_at).date())
    if problem is not None:  # by hand no more than by driver: never a result from unfit equipment
        raise BusinessRuleViolation(problem_reason(problem).text(), field="accession")
    payload = dict(reading.payload, sample_id=sample.accession, problems=[])
    spec = ANALYTES.get(reading.analyte or "")
    # another kind of sample is asked below, not refused: match the rest as if it were right
    as_matched = SampleRow(sample.id, sample.accession, spec.kind if spec else sample.kind,
                           sample.status)
    status, why = match_result(payload, as_matched)
    if status is not ReadingStatus.ATTACHED:
        raise BusinessRuleViolation(why.text() if why else _("This reading cannot be attached."),
                                    field="accession")
    assert spec is not None  # match_result refuses an unknown analyte
    questions = _plausibility_questions(session, reading, sample, spec.kind, lab_zone)
    unanswered = {code: text for code, text in questions.items() if code not in confirmed}
    if unanswered:
        raise ConfirmationRequired(
            _("Check before attaching reading #%(id)s to %(accession)s:", id=reading.id,
              accession=sample.accession), questions=questions, field="accession")
    before = {"status": reading.status, "sample": None, "reason": reading.reason}
    answers = {"confirmed_despite": {code: True for code in questions}} if questions else {}
    reading.status = ReadingStatus.ATTACHED
    reading.sample_id = sample.id
    reading.resolved_at = now
    reading.resolved_by_id = actor.id
    reading.resolution_reason = reason.strip()
    session.flush()
    record_event(session, actor=actor, now=now, action="reading_attached", entity_type=READING_ENTITY,
                 entity_id=reading.id, entity_label=f"#{reading.id}", reason=reason.strip(),
                 changes={"status": {"before": before["status"], "after": reading.status},
                          "sample": {"before": reading.sample_ref, "after": sample.accession},
                          **answers})
    record_event(session, actor=actor, now=now, action="reading_attached", entity_type="sample",
                 entity_id=sample.id, entity_label=sample.accession, reason=reason.strip(),
                 changes={"reading": {"before": None, "after": f"#{reading.id} {reading.analyte}"
                                                            f" {reading.raw_value} {reading.unit}"},
                          **answers})
    return reading


def _plausibility_questions(session: Session, reading: InstrumentReading, sample: Sample,
                            analyte_kind: SampleKind, lab_zone: tzinfo) -> dict[str, str]:
    """The plausibility questions for this reading and sample, each code with its sentence."""
    measured = reading.measured_at
    if measured is not None and measured.tzinfo is None:
        measured = measured.replace(tzinfo=lab_zone)
    kind_ref = session.get(SampleKindRef, sample.kind.value)
    max_age = timedelta(days=kind_ref.max_age_days) \
        if kind_ref is not None and kind_ref.max_age_days is not None else None
    current = current_value(session, sample.id, reading.analyte or "")
    found = plausibility.doubts(measured_at=measured, collected_at=sample.collected_at,
                                sample_kind=sample.kind, analyte_kind=analyte_kind,
                                max_age=max_age, has_current_value=current is not None)
    texts: dict[str, str] = {}
    for doubt in found:
        if doubt.code == "wrong_kind":
            texts[doubt.code] = _("%(accession)s is a %(kind)s sample, but %(analyte)s is measured "
                                  "in %(analyte_kind)s samples.", accession=sample.accession,
                                  kind=label(sample.kind), analyte=reading.analyte,
                                  analyte_kind=label(analyte_kind))
        elif doubt.code == "before_collection":
            texts[doubt.code] = _("The reading was measured on %(measured)s, before %(accession)s "
                                  "was collected (%(collected)s).",
                                  measured=_lab_clock(measured, lab_zone),
                                  collected=_lab_clock(sample.collected_at, lab_zone),
                                  accession=sample.accession)
        elif doubt.code == "too_old":
            texts[doubt.code] = ngettext(
                "The reading was measured %(num)d day after %(accession)s was collected; a "
                "%(kind)s sample is measured within %(max_days)d days.",
                "The reading was measured %(num)d days after %(accession)s was collected; a "
                "%(kind)s sample is measured within %(max_days)d days.",
                int(doubt.params["days"]), accession=sample.accession, kind=label(sample.kind),
                max_days=doubt.params["max_days"])
        else:
            texts[doubt.code] = _("%(accession)s already has a current %(analyte)s value "
                                  "(%(value)s); attaching adds another.",
                                  accession=sample.accession, analyte=reading.analyte,
                                  value=current)
    return texts


def _lab_clock(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def current_value(session: Session, sample_id: int, analyte: str) -> str | None:
    """The sample's current value of ``analyte`` as shown ("24.6", "< 14"), or None: its current
    result (held, preliminary or verified), else the last reading of it attached to the sample."""
    from lims.analysis.models import Analyte, Result, ResultStatus  # analysis builds on capture

    if analyte in Analyte._value2member_map_:
        result = session.scalar(sa.select(Result).where(
            Result.sample_id == sample_id, Result.is_current, Result.analyte == Analyte(analyte),
            Result.status.in_((ResultStatus.HELD, ResultStatus.PRELIMINARY,
                               ResultStatus.VERIFIED))))
        if result is not None:
            return result.display
    raw = session.scalar(sa.select(InstrumentReading.raw_value).where(
        InstrumentReading.sample_id == sample_id, InstrumentReading.analyte == analyte,
        InstrumentReading.status == ReadingStatus.ATTACHED,
        InstrumentReading.type == ReadingType.RESULT).order_by(InstrumentReading.id.desc())
        .limit(1))
    return raw


def discard_reading(session: Session, *, actor: User, now: datetime, reading: InstrumentReading,
                    reason: str) -> InstrumentReading:
    _refuse_unless_open(session, reading)
    if not reason.strip():
        raise ValidationError(_("A discarded reading needs a reason."), field="reason")
    reading.status = ReadingStatus.DISCARDED
    reading.resolved_at = now
    reading.resolved_by_id = actor.id
    reading.resolution_reason = reason.strip()
    session.flush()
    record_event(session, actor=actor, now=now, action="reading_discarded", entity_type=READING_ENTITY,
                 entity_id=reading.id, entity_label=f"#{reading.id}", reason=reason.strip(),
                 changes={"status": {"before": ReadingStatus.UNMATCHED, "after": reading.status}})
    return reading


def import_plate(session: Session, *, actor: User, now: datetime, instrument: Instrument,
                 plate: PlateReading, filename: str, data: bytes) -> InstrumentReading:
    """File a plate from an uploaded export file; the file's SHA-256 is its key, so the same
    file uploaded twice is refused rather than making a second plate."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"file-{digest[:64]}"
    existing = session.scalar(sa.select(InstrumentReading.id).where(
        InstrumentReading.instrument_id == instrument.id, InstrumentReading.idempotency_key == key))
    if existing is not None:
        raise ConflictError(_("This file was already imported as plate #%(id)s.", id=existing),
                            field="file")
    payload = plate.to_dict()
    reading = InstrumentReading(
        instrument_id=instrument.id, idempotency_key=key, type=ReadingType.PLATE,
        source=ReadingSource.FILE, status=ReadingStatus.PENDING,
        reason=Reason("plate_waiting").dump(), test_code=filename[:200],
        measured_at=plate.measured_at, received_at=now, payload=payload, raw=plate.raw,
        entered_by_id=actor.id,
    )
    session.add(reading)
    instrument.last_seen_at = now
    session.flush()
    record_event(session, actor=actor, now=now, action="plate_imported", entity_type=READING_ENTITY,
                 entity_id=reading.id, entity_label=f"#{reading.id}",
                 changes={"file": {"before": None, "after": filename}, "sha256": digest,
                          "instrument": instrument.code})
    return reading


def readings_for_sample(session: Session, sample_id: int) -> list[InstrumentReading]:
    """Every reading attached to a sample, oldest first, with its instrument (sample page)."""
    return list(session.scalars(
        sa.select(InstrumentReading)
        .options(selectinload(InstrumentReading.instrument), selectinload(InstrumentReading.entered_by))
        .where(InstrumentReading.sample_id == sample_id, InstrumentReading.status == ReadingStatus.ATTACHED)
        .order_by(InstrumentReading.id)))
