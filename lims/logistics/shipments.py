"""Shipment services: announce a shipment, load its manifest, scan it in at the desk, record the
cold chain, close it with its discrepancies.

Every change locks the shipment row first (``lock``), so the scans of two technicians on one
shipment, a scan and the closing, or two manifest loads are serialised and each sees what the
other committed. A scan of a manifest sample receives it through `receive_sample` (which locks
the sample and writes the receipt's audit event): this module never decides whether a sample
may be accepted. A closed shipment is frozen: every service refuses to change it.

Services flush and never commit; their messages are translated when raised.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.bulk import bulk_insert
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.inputs import bounded_int_problem, date_problem, require_finite, require_text
from lims.core.labels import label
from lims.core.locking import lock
from lims.logistics.shipment_models import (
    DiscrepancyKind,
    Shipment,
    ShipmentDiscrepancy,
    ShipmentItem,
    ShipmentStatus,
)
from lims.monitoring.models import Cluster, SurveyRound
from lims.samples import batch_import
from lims.samples.accession import normalise_query
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleKind
from lims.samples.registration import IN_CHUNK
from lims.samples.transitions import (
    DEFAULT_MIN_VOLUME_ML,
    ReceiptRefused,
    receive_sample,
    reject_sample,
)

ENTITY = "shipment"
MAX_BOXES = 999
MAX_MANIFEST_ROWS = 5000
#: A dispatch time this far in the future is a typing error, not a clock difference.
CLOCK_SLACK = timedelta(hours=1)
ACCESSION_COLUMN, BOX_COLUMN = "accession", "box"
#: What a box label says when it is scanned ("BOX-3", "BOX 3", "BOX3").
BOX_LABEL = re.compile(r"^BOX-?(?P<number>[0-9]{1,3})$")
#: Sample states in which a scanned sample is already at the lab: the scan confirms it arrived.
ALREADY_HERE = frozenset({SampleStatus.RECEIVED, SampleStatus.IN_ANALYSIS,
                          SampleStatus.PENDING_REVIEW, SampleStatus.VERIFIED,
                          SampleStatus.REPORTED})


def _refuse_if_closed(shipment: Shipment) -> None:
    if not shipment.is_open:
        raise ConflictError(_("Shipment %(shipment)s is closed and can no longer be changed.",
                              shipment=shipment.reference))


def _bounded(value: int | None, *, field: str, low: int, high: int, message: str) -> None:
    if value is None or bounded_int_problem(value) is not None or not low <= value <= high:
        raise ValidationError(message, field=field)


# ---------------------------------------------------------------------------------------------
# Announcing a shipment


def create_shipment(
    session: Session, *, actor: User, now: datetime, round_id: int, region_id: int,
    cluster_id: int | None, courier: str, dispatched_at: datetime, box_count: int,
    logger_id: str | None,
) -> Shipment:
    """A shipment announced by the field team: from a region of the round (and one of its
    cluster teams, if given), by a courier, with how many boxes and which temperature logger."""
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFoundError(_("unknown survey round"), field="round_id")
    if region_id not in {r.id for r in survey_round.regions}:
        raise ValidationError(_("This region is not surveyed in round %(round)s.",
                                round=survey_round.code), field="region_id")
    region = next(r for r in survey_round.regions if r.id == region_id)
    cluster = session.get(Cluster, cluster_id) if cluster_id is not None else None
    if cluster_id is not None and (cluster is None or cluster.round_id != round_id
                                   or cluster.region_id != region_id):
        raise ValidationError(_("This cluster is not in the chosen round and region."),
                              field="cluster_code")
    courier = (courier or "").strip()
    if not courier:
        raise ValidationError(_("Name the courier."), field="courier")
    require_text(courier, field="courier")
    logger_id = (logger_id or "").strip() or None
    require_text(logger_id, field="logger_id")
    _bounded(box_count, field="box_count", low=1, high=MAX_BOXES,
             message=_("The number of boxes must be between 1 and %(max)d.", max=MAX_BOXES))
    problem = date_problem(dispatched_at)
    if problem is not None:
        raise ValidationError(problem, field="dispatched_at")
    if dispatched_at > now + CLOCK_SLACK:
        raise ValidationError(_("The dispatch time is in the future."), field="dispatched_at")
    shipment = Shipment(round_id=round_id, region_id=region_id, cluster_id=cluster_id,
                        courier=courier[:120], dispatched_at=dispatched_at, box_count=box_count,
                        logger_id=logger_id[:64] if logger_id else None, created_at=now,
                        created_by_id=actor.id, status=ShipmentStatus.IN_TRANSIT)
    session.add(shipment)
    session.flush()
    record_event(session, actor=actor, now=now, action="shipment_created", entity_type=ENTITY,
                 entity_id=shipment.id, entity_label=shipment.reference,
                 changes={"round": survey_round.code, "region": region.iso_code,
                          "cluster": cluster.code if cluster else None, "courier": shipment.courier,
                          "dispatched_at": dispatched_at, "box_count": box_count,
                          "logger_id": shipment.logger_id})
    session.flush()
    return shipment


# ---------------------------------------------------------------------------------------------
# The manifest


@dataclass(frozen=True)
class ManifestRow:
    number: int  # the spreadsheet's row number (header = 1); 0 for generated rows
    accession: str
    box: int | None


def _open_shipment_of(session: Session, sample_ids: Sequence[int],
                      other_than: int | None) -> dict[int, int]:
    """sample id → the open shipment (other than ``other_than``) it is already in."""
    found: dict[int, int] = {}
    for start in range(0, len(sample_ids), IN_CHUNK):
        chunk = sample_ids[start:start + IN_CHUNK]
        stmt = sa.select(ShipmentItem.sample_id, ShipmentItem.shipment_id).where(
            ShipmentItem.sample_id.in_(chunk), ShipmentItem.is_open)
        if other_than is not None:
            stmt = stmt.where(ShipmentItem.shipment_id != other_than)
        found.update((row.sample_id, row.shipment_id) for row in session.execute(stmt))
    return found


def _samples_by_accession(session: Session, accessions: Sequence[str]) -> dict[str, Sample]:
    wanted = sorted(set(accessions))
    found: dict[str, Sample] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        found.update((s.accession, s) for s in session.scalars(
            sa.select(Sample).where(Sample.accession.in_(wanted[start:start + IN_CHUNK]))))
    return found


def parse_manifest(data: bytes, filename: str, *, max_rows: int = MAX_MANIFEST_ROWS
                   ) -> tuple[list[ManifestRow], list[batch_import.RowError]]:
    """Read a manifest file (columns ``accession`` and optionally ``box``) with the intake
    reader, so a workbook is refused by the same limits and rows are numbered the same way.
    Shape errors (columns, empty cells, bad box numbers, repeated rows) are collected by row."""
    frame = batch_import.read_table(data, filename, max_rows=max_rows)
    if frame.empty:
        raise ValidationError(_("the file has no data rows"), field="file")
    columns = list(frame.columns)
    unknown = [c for c in columns if c not in (ACCESSION_COLUMN, BOX_COLUMN)]
    if ACCESSION_COLUMN not in columns or unknown or len(set(columns)) != len(columns):
        errors = [batch_import.RowError(batch_import.HEADER_ROW, c, _("unknown column"))
                  for c in unknown]
        if ACCESSION_COLUMN not in columns:
            errors.insert(0, batch_import.RowError(batch_import.HEADER_ROW, ACCESSION_COLUMN,
                                                   _("required column is missing")))
        raise ValidationError(
            _("A manifest has the columns %(columns)s.", columns="accession, box"),
            field="file", errors=[e.as_dict() for e in errors])
    if len(frame) > max_rows:
        raise ValidationError(ngettext("the file has more than %(num)d row",
                                       "the file has more than %(num)d rows", max_rows),
                              field="file")
    rows: list[ManifestRow] = []
    errors: list[batch_import.RowError] = []
    first_row: dict[str, int] = {}
    for number, record in zip(frame.index.tolist(), frame.to_dict(orient="records"),
                              strict=True):
        accession = normalise_query(record.get(ACCESSION_COLUMN, ""))
        box_text = record.get(BOX_COLUMN, "")
        box: int | None = None
        if not accession:
            errors.append(batch_import.RowError(number, ACCESSION_COLUMN, _("required")))
            continue
        if len(accession) > 20:
            errors.append(batch_import.RowError(number, ACCESSION_COLUMN,
                                                batch_import.too_long(20)))
            continue
        if box_text:
            if not re.fullmatch(r"[0-9]{1,3}", box_text) or int(box_text) < 1:
                errors.append(batch_import.RowError(
                    number, BOX_COLUMN, _("expected a box number from 1 to %(max)d, got"
                                          " '%(value)s'", max=MAX_BOXES, value=box_text[:40])))
                continue
            box = int(box_text)
        if accession in first_row:
            errors.append(batch_import.RowError(
                number, ACCESSION_COLUMN, _("%(accession)s is already on row %(row)d",
                                            accession=accession, row=first_row[accession])))
            continue
        first_row[accession] = number
        rows.append(ManifestRow(number, accession, box))
    return rows, errors


def load_manifest(
    session: Session, *, actor: User, now: datetime, shipment: Shipment,
    rows: Sequence[ManifestRow], errors: Sequence[batch_import.RowError] = (),
    source: str, data: bytes | None = None,
) -> int:
    """Put ``rows`` on the shipment's manifest, all or nothing: every row naming an unknown
    accession, a sample of another kind of trouble (cancelled, rejected, received already) or a
    sample already in another open shipment is listed by row, with the shape ``errors`` of the
    file, and nothing is saved. A manifest is loaded once, before the first scan."""
    lock(session, shipment)
    _refuse_if_closed(shipment)
    if shipment.status is not ShipmentStatus.IN_TRANSIT or session.scalar(
            sa.select(sa.func.count()).select_from(ShipmentItem)
            .where(ShipmentItem.shipment_id == shipment.id)):
        raise ConflictError(_("Shipment %(shipment)s already has its manifest.",
                              shipment=shipment.reference), field="file")
    problems = list(errors)
    samples = _samples_by_accession(session, [r.accession for r in rows])
    elsewhere = _open_shipment_of(session, [s.id for s in samples.values()], shipment.id)
    items: list[dict[str, object]] = []
    for row in rows:
        sample = samples.get(row.accession)
        if sample is None:
            problems.append(batch_import.RowError(row.number, ACCESSION_COLUMN, _(
                "no sample with accession %(accession)s", accession=row.accession)))
        elif sample.id in elsewhere:
            problems.append(batch_import.RowError(row.number, ACCESSION_COLUMN, _(
                "%(accession)s is already in open shipment %(shipment)s",
                accession=row.accession, shipment=f"SHP-{elsewhere[sample.id]:06d}")))
        elif sample.status is not SampleStatus.REGISTERED:
            problems.append(batch_import.RowError(row.number, ACCESSION_COLUMN, _(
                "%(accession)s is %(status)s, not waiting to be received",
                accession=row.accession, status=label(sample.status).lower())))
        elif row.box is not None and row.box > shipment.box_count:
            problems.append(batch_import.RowError(row.number, BOX_COLUMN, ngettext(
                "the shipment has %(num)d box", "the shipment has %(num)d boxes",
                shipment.box_count)))
        else:
            items.append({"shipment_id": shipment.id, "sample_id": sample.id, "expected": True,
                          "is_open": True, "box_number": row.box})
    if problems:
        problems.sort(key=lambda e: (e.row, e.column))
        raise ValidationError(
            ngettext("%(num)d problem in %(file)s: nothing was loaded",
                     "%(num)d problems in %(file)s: nothing was loaded", len(problems),
                     file=source),
            field="file", errors=[e.as_dict() for e in problems])
    if not items:
        raise ValidationError(_("The manifest is empty."), field="file")
    bulk_insert(session, ShipmentItem.__table__, items)
    changes: dict[str, object] = {"rows": len(items), "file": source}
    if data is not None:
        changes["sha256"] = hashlib.sha256(data).hexdigest()
    record_event(session, actor=actor, now=now, action="shipment_manifest_loaded",
                 entity_type=ENTITY, entity_id=shipment.id, entity_label=shipment.reference,
                 changes=changes)
    session.flush()
    return len(items)


def manifest_from_registrations(session: Session, *, actor: User, now: datetime,
                                shipment: Shipment) -> int:
    """The manifest the field team did not send: every sample registered and not received in
    the shipment's round and region (its cluster, if it has one), not in another open shipment,
    registered before the shipment was dispatched."""
    stmt = (sa.select(Sample.accession).where(
        Sample.round_id == shipment.round_id, Sample.region_id == shipment.region_id,
        Sample.status == SampleStatus.REGISTERED, Sample.registered_at <= shipment.dispatched_at,
        ~sa.exists().where(ShipmentItem.sample_id == Sample.id, ShipmentItem.is_open))
        .order_by(Sample.accession).limit(MAX_MANIFEST_ROWS + 1))
    if shipment.cluster_id is not None:
        stmt = stmt.where(Sample.cluster_id == shipment.cluster_id)
    accessions = list(session.scalars(stmt))
    if len(accessions) > MAX_MANIFEST_ROWS:
        raise ValidationError(ngettext(
            "More than %(num)d sample would be on the manifest: announce a shipment per cluster.",
            "More than %(num)d samples would be on the manifest: announce a shipment per cluster.",
            MAX_MANIFEST_ROWS))
    if not accessions:
        raise ValidationError(_("No registered sample of this region waits to be received."))
    return load_manifest(session, actor=actor, now=now, shipment=shipment,
                         rows=[ManifestRow(0, a, None) for a in accessions],
                         source=_("registrations"))


# ---------------------------------------------------------------------------------------------
# Scanning at the desk


@dataclass(frozen=True)
class ScanResult:
    """What one scan did. ``outcome`` is a stable code the page styles and tests read; ``changed``
    says whether anything was saved; ``accession`` is what was looked for."""

    outcome: str
    message: str
    accession: str
    changed: bool = False
    box: int | None = None


def parse_box(text: str) -> int | None:
    """The box number a scanned box label names ("BOX-3"), or None if it is not a box label."""
    match = BOX_LABEL.match(normalise_query(text))
    return int(match["number"]) if match else None


def scan(
    session: Session, *, actor: User, now: datetime, shipment: Shipment, text: str,
    box: int | None = None, receive_extra: bool = False,
    min_volume_ml: Decimal = DEFAULT_MIN_VOLUME_ML,
) -> ScanResult:
    """One scan at the desk: a box label (the box the next samples come from) or a sample.

    A manifest sample is received (`receive_sample`, with the shipment's arrival temperature) and
    marked scanned. A sample the rules refuse (too little urine, too old) is marked as arrived
    and left registered, with the reason, for the receipt desk to reject. A registered sample not
    on the manifest is offered as extra; with ``receive_extra`` it is received and recorded as
    extra. A sample in another open shipment, cancelled or rejected, an unknown accession or a
    second scan of the same sample changes nothing."""
    accession = normalise_query(text)[:40]
    box_scanned = parse_box(accession)
    lock(session, shipment)
    _refuse_if_closed(shipment)
    if box_scanned is not None:
        if not 1 <= box_scanned <= shipment.box_count:
            return ScanResult("bad_box", ngettext(
                "There is no box %(box)d: this shipment has %(num)d box.",
                "There is no box %(box)d: this shipment has %(num)d boxes.",
                shipment.box_count, box=box_scanned), accession)
        return ScanResult("box", _("Box %(box)d: scan its samples.", box=box_scanned),
                          accession, box=box_scanned)
    if box is not None and not 1 <= box <= shipment.box_count:
        box = None
    if not accession:
        return ScanResult("empty", _("Scan or type an accession."), accession)
    sample = session.scalar(sa.select(Sample).where(Sample.accession == accession))
    if sample is None:
        return ScanResult("unknown", _("No sample with accession %(accession)s: register it, "
                                       "then scan it again.", accession=accession), accession)
    item = session.scalar(sa.select(ShipmentItem).where(
        ShipmentItem.shipment_id == shipment.id, ShipmentItem.sample_id == sample.id)
        .execution_options(populate_existing=True))
    if item is not None and item.scanned_at is not None:
        return ScanResult("already_scanned", _(
            "%(accession)s was already scanned at %(when)s UTC by %(user)s.", accession=accession,
            when=item.scanned_at.strftime("%H:%M:%S"),
            user=item.scanned_by.username if item.scanned_by else "—"), accession)
    if item is None:
        elsewhere = _open_shipment_of(session, [sample.id], shipment.id)
        if elsewhere:
            return ScanResult("other_shipment", _(
                "%(accession)s belongs to open shipment %(shipment)s; nothing was changed.",
                accession=accession, shipment=f"SHP-{elsewhere[sample.id]:06d}"), accession)
    if sample.status in (SampleStatus.CANCELLED, SampleStatus.REJECTED):
        return ScanResult("not_receivable", _(
            "%(accession)s is %(status)s and cannot be received; nothing was changed.",
            accession=accession, status=label(sample.status).lower()), accession)
    if item is None and sample.status is not SampleStatus.REGISTERED:
        return ScanResult("not_receivable", _(
            "%(accession)s is not on the manifest and is already %(status)s; nothing was changed.",
            accession=accession, status=label(sample.status).lower()), accession)
    if item is None and not receive_extra:
        return ScanResult("unexpected", _(
            "%(accession)s is not on the manifest. Receive it as an extra sample? Press Enter in"
            " the empty scan field, or the button.",
            accession=accession), accession)
    outcome, message = _receive(session, actor=actor, now=now, shipment=shipment,
                                sample=sample, min_volume_ml=min_volume_ml)
    if item is None:
        item = ShipmentItem(shipment_id=shipment.id, sample_id=sample.id, expected=False,
                            is_open=True)
        session.add(item)
        outcome, message = "extra", _("%(accession)s received as an extra sample.",
                                      accession=accession) if outcome == "received" else message
    item.scanned_at, item.scanned_by_id, item.scanned_box = now, actor.id, box
    changes: dict[str, object] = {"sample": accession, "expected": item.expected, "box": box}
    if shipment.status is ShipmentStatus.IN_TRANSIT:
        changes["status"] = {"before": shipment.status, "after": ShipmentStatus.RECEIVING}
        shipment.status = ShipmentStatus.RECEIVING
    record_event(session, actor=actor, now=now, action="shipment_sample_scanned",
                 entity_type=ENTITY, entity_id=shipment.id, entity_label=shipment.reference,
                 changes=changes)
    session.flush()
    if item.expected and box is not None and item.box_number not in (None, box):
        message += " " + _("The manifest puts it in box %(box)d.", box=item.box_number)
    return ScanResult(outcome, message, accession, changed=True)


def _receive(session: Session, *, actor: User, now: datetime, shipment: Shipment,
             sample: Sample, min_volume_ml: Decimal) -> tuple[str, str]:
    """Receive a registered sample through the receipt service; a sample already at the lab,
    or one the specimen rules refuse, is only marked as arrived (its reason said)."""
    if sample.status in ALREADY_HERE:
        return "arrived", _("%(accession)s arrived (received earlier).",
                            accession=sample.accession)
    try:
        receive_sample(session, actor=actor, now=now, sample=sample,
                       decision=ReceiptDecision.ACCEPTED,
                       temperature_c=shipment.arrival_temperature_c, container_intact=True,
                       min_volume_ml=min_volume_ml)
    except ReceiptRefused as refused:
        return "refused", _("%(accession)s arrived but cannot be accepted: %(reason)s",
                            accession=sample.accession, reason=refused.message)
    return "received", _("%(accession)s received.", accession=sample.accession)


# ---------------------------------------------------------------------------------------------
# Cold chain


def record_arrival(session: Session, *, actor: User, now: datetime, shipment: Shipment,
                   temperature_c: Decimal | None, logger_excursion: bool,
                   excursion_details: str | None) -> None:
    """The temperature measured in the boxes on arrival and what the logger recorded."""
    lock(session, shipment)
    _refuse_if_closed(shipment)
    require_finite(temperature_c, field="arrival_temperature_c")
    if temperature_c is not None and not Decimal(-90) <= temperature_c <= Decimal(60):
        raise ValidationError(_("The temperature must be between -90 and 60 °C."),
                              field="arrival_temperature_c")
    details = (excursion_details or "").strip() or None
    require_text(details, field="excursion_details")
    if logger_excursion and not details:
        raise ValidationError(_("Describe the excursion: how warm, for how long."),
                              field="excursion_details")
    before = {"arrival_temperature_c": shipment.arrival_temperature_c,
              "logger_excursion": shipment.logger_excursion,
              "excursion_details": shipment.excursion_details}
    shipment.arrival_temperature_c = temperature_c
    shipment.logger_excursion = logger_excursion
    shipment.excursion_details = details if logger_excursion else None
    after = {"arrival_temperature_c": shipment.arrival_temperature_c,
             "logger_excursion": shipment.logger_excursion,
             "excursion_details": shipment.excursion_details}
    changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if not changes:
        return
    record_event(session, actor=actor, now=now, action="shipment_arrival_recorded",
                 entity_type=ENTITY, entity_id=shipment.id, entity_label=shipment.reference,
                 changes=changes)
    session.flush()


def reject_for_cold_chain(session: Session, *, actor: User, now: datetime,
                          shipment: Shipment) -> int:
    """Reject every urine sample that arrived in this shipment and is not analysed yet, for the
    cold-chain break its logger recorded (each through `reject_sample`, audited per sample)."""
    lock(session, shipment)
    if not shipment.logger_excursion:
        raise ConflictError(_("No logger excursion is recorded for this shipment."))
    samples = list(session.scalars(
        sa.select(Sample).join(ShipmentItem, ShipmentItem.sample_id == Sample.id)
        .where(ShipmentItem.shipment_id == shipment.id, ShipmentItem.scanned_at.is_not(None),
               Sample.kind == SampleKind.URINE,
               Sample.status.in_((SampleStatus.REGISTERED, SampleStatus.RECEIVED)))
        .order_by(Sample.id)))
    note = _("Shipment %(shipment)s: %(details)s", shipment=shipment.reference,
             details=shipment.excursion_details)
    for sample in samples:
        reject_sample(session, actor=actor, now=now, sample=sample,
                      rejection_reason=RejectionReason.COLD_CHAIN, note=note[:500])
    return len(samples)


# ---------------------------------------------------------------------------------------------
# Closing


def _damaged(session: Session, shipment: Shipment, damaged: Mapping[str, str]
             ) -> dict[int, str]:
    """sample id → reason, for accessions the desk scanned in this shipment."""
    found: dict[int, str] = {}
    bad: list[str] = []
    for text, reason in damaged.items():
        accession = normalise_query(text)
        sample_id = session.scalar(
            sa.select(ShipmentItem.sample_id).join(Sample, Sample.id == ShipmentItem.sample_id)
            .where(ShipmentItem.shipment_id == shipment.id, Sample.accession == accession,
                   ShipmentItem.scanned_at.is_not(None)))
        if sample_id is None:
            bad.append(accession)
        elif not reason.strip():
            raise ValidationError(_("Give a reason for damaged sample %(accession)s.",
                                    accession=accession), field="damaged")
        else:
            require_text(reason, field="damaged")
            found[sample_id] = reason.strip()
    if bad:
        raise ValidationError(_("Not scanned in this shipment: %(accessions)s.",
                                accessions=", ".join(bad[:20])), field="damaged")
    return found


def close_shipment(
    session: Session, *, actor: User, now: datetime, shipment: Shipment,
    missing_reason: str | None, extra_reason: str | None, damaged: Mapping[str, str],
    note: str | None = None,
) -> list[ShipmentDiscrepancy]:
    """Close the shipment: every manifest sample not scanned is *missing*, every sample scanned
    but not on the manifest is *extra*, and the samples named as damaged are *damaged*, each
    with its reason; the shipment is then frozen and its samples are free for another one."""
    lock(session, shipment)
    _refuse_if_closed(shipment)
    for value, field in ((missing_reason, "missing_reason"), (extra_reason, "extra_reason"),
                         (note, "note")):
        require_text(value, field=field)
    items = list(session.scalars(sa.select(ShipmentItem).where(
        ShipmentItem.shipment_id == shipment.id).execution_options(populate_existing=True)))
    missing = [i.sample_id for i in items if i.expected and i.scanned_at is None]
    extra = [i.sample_id for i in items if not i.expected]
    missing_reason = (missing_reason or "").strip()
    extra_reason = (extra_reason or "").strip()
    if missing and not missing_reason:
        raise ValidationError(ngettext(
            "%(num)d sample on the manifest did not arrive: say why.",
            "%(num)d samples on the manifest did not arrive: say why.", len(missing)),
            field="missing_reason")
    if extra and not extra_reason:
        raise ValidationError(ngettext(
            "%(num)d sample arrived without being on the manifest: say why.",
            "%(num)d samples arrived without being on the manifest: say why.", len(extra)),
            field="extra_reason")
    broken = _damaged(session, shipment, damaged)
    rows = ([(sid, DiscrepancyKind.MISSING, missing_reason) for sid in missing]
            + [(sid, DiscrepancyKind.EXTRA, extra_reason) for sid in extra]
            + [(sid, DiscrepancyKind.DAMAGED, reason) for sid, reason in broken.items()])
    found = [ShipmentDiscrepancy(shipment_id=shipment.id, sample_id=sid, kind=kind,
                                 reason=reason, recorded_at=now, recorded_by_id=actor.id)
             for sid, kind, reason in rows]
    session.add_all(found)
    session.execute(sa.update(ShipmentItem).where(ShipmentItem.shipment_id == shipment.id)
                    .values(is_open=False))
    before = shipment.status
    shipment.status = ShipmentStatus.CLOSED
    shipment.closed_at, shipment.closed_by_id = now, actor.id
    shipment.close_note = (note or "").strip() or None
    record_event(session, actor=actor, now=now, action="shipment_closed", entity_type=ENTITY,
                 entity_id=shipment.id, entity_label=shipment.reference,
                 changes={"status": {"before": before, "after": ShipmentStatus.CLOSED},
                          "missing": len(missing), "extra": len(extra), "damaged": len(broken)},
                 reason=shipment.close_note)
    session.flush()
    return found


__all__ = [
    "ManifestRow",
    "ScanResult",
    "close_shipment",
    "create_shipment",
    "load_manifest",
    "manifest_from_registrations",
    "parse_box",
    "parse_manifest",
    "record_arrival",
    "reject_for_cold_chain",
    "scan",
]
