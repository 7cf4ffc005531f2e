"""Readings arriving from instrument drivers: validate the batch, file every item in the inbox.

Why whole-batch validation and per-item filing: a batch whose *shape* is wrong (a schema
violation, an item claiming another instrument) is refused whole with every error located, so
nothing is half-saved and the driver can set exactly those items aside; an item whose shape is
right but whose *content* cannot be attached (unknown accession, wrong sample kind, a value that
is not a number) is still stored — as unmatched, with the reason — because dropping it would lose
a measurement. Every item is answered, in order, so the driver marks its spool precisely.

Speed: one batch is a handful of statements whatever its size (one look-up of known keys, one
of the samples named, one of readings already attached to them — on PostgreSQL each with one
array parameter — then, on PostgreSQL, ids reserved from the sequence and one COPY; on SQLite
one multi-row INSERT and the new ids read back), so a driver pushing 1,000 readings per request
is not held up by per-row round trips. `benchmarks/bench_uplink_pg.py` says where the time goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import fastjsonschema
import sqlalchemy as sa
from flask_babel import ngettext
from jsonschema import Draft202012Validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from instruments.wire import BATCH_SCHEMA
from lims.capture.analytes import analyte as find_analyte
from lims.capture.models import (
    Instrument,
    InstrumentReading,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.capture.reasons import Reason
from lims.core.bulk import among, bulk_insert
from lims.core.errors import ValidationError
from lims.equipment.models import Calibration, Equipment
from lims.equipment.queries import equipment_for_instrument, problem_of, problem_reason
from lims.samples.accession import normalise_query
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind

__all__ = ["Outcome", "validate_batch", "ingest_batch", "match_result", "ACCEPTING_STATUSES",
           "parse_instrument_time"]

#: A reading attaches only to a sample the lab holds and has not yet released a result for.
ACCEPTING_STATUSES = frozenset({SampleStatus.RECEIVED, SampleStatus.IN_ANALYSIS})
#: Most validation errors listed in one 422 answer (a garbage batch must not make a huge answer).
MAX_ERRORS = 100


@dataclass(frozen=True)
class Outcome:
    idempotency_key: str
    outcome: str  # attached | unmatched | pending | duplicate
    reading_id: int
    #: The reason's fixed English sentence: the driver API does not follow a page's language.
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"idempotency_key": self.idempotency_key, "outcome": self.outcome,
                "reading_id": self.reading_id, "reason": self.reason}


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(BATCH_SCHEMA)
    return Draft202012Validator(BATCH_SCHEMA)


@lru_cache(maxsize=1)
def _fast_check() -> Callable[[Any], None]:
    """The same schema compiled to Python (about 10× faster on a 1,000-item batch). It stops at
    the first error, so it is only the fast path for good batches; a batch it refuses is
    validated again by `jsonschema`, which lists every error. The schema uses only keywords whose
    meaning is the same in draft 7 and 2020-12, so both validators agree.

    The item schema's ``allOf`` (the payload's schema chosen by the item's type) is dispatched
    here by the type instead: fastjsonschema decides each ``if`` by raising and catching an
    exception that formats the whole sub-schema, twice per item — half of all validation time."""
    draft7 = "http://json-schema.org/draft-07/schema#"
    items = BATCH_SCHEMA["properties"]["items"]
    item = items["items"]
    envelope = fastjsonschema.compile({
        **BATCH_SCHEMA, "$schema": draft7,
        "properties": {"items": {**items, "items": {k: v for k, v in item.items() if k != "allOf"}}}})
    payloads = {branch["if"]["properties"]["type"]["const"]:
                fastjsonschema.compile({**branch["then"]["properties"]["payload"], "$schema": draft7})
                for branch in item["allOf"]}

    def check(body: Any) -> None:
        envelope(body)
        for entry in body["items"]:
            payloads[entry["type"]](entry["payload"])

    return check


def _schema_errors(body: Any) -> list[dict[str, Any]]:
    try:
        _fast_check()(body)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    errors: list[dict[str, Any]] = []
    for err in sorted(_validator().iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        entry: dict[str, Any] = {"path": _json_path(path), "message": err.message}
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            entry["index"] = path[1]
        errors.append(entry)
    return errors


def _json_path(path: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def parse_instrument_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the wire; instruments' own clocks are kept as sent (naive)."""
    if text is None:
        return None
    return datetime.fromisoformat(text)


def validate_batch(body: Any, instrument: Instrument) -> list[dict[str, Any]]:
    """Raise `ValidationError` listing every problem (item index, JSON path, message).

    Beyond the schema: timestamps must parse, and every item must be the token's own
    instrument's — a token can never file readings under another instrument's name.
    """
    errors = _schema_errors(body)
    items = body.get("items") if isinstance(body, dict) else None
    if isinstance(items, list):
        broken = {e.get("index") for e in errors}
        for i, item in enumerate(items):
            if i in broken or not isinstance(item, dict):
                continue
            named = {item["instrument_id"], item["payload"].get("instrument_id", item["instrument_id"])}
            if named != {instrument.code}:
                errors.append({"index": i, "path": f"$.items[{i}].instrument_id",
                               "message": f"this token belongs to instrument {instrument.code!r};"
                                          f" the item names {sorted(named)}"})
            for field in ("spooled_at", "payload.measured_at"):
                where, _, name = field.rpartition(".")
                holder = item["payload"] if where else item
                try:
                    parse_instrument_time(holder.get(name))
                except (TypeError, ValueError):
                    errors.append({"index": i, "path": f"$.items[{i}].{field}",
                                   "message": f"{holder.get(name)!r} is not an ISO 8601 date-time"})
    if errors:
        raise ValidationError(
            ngettext("the batch was refused: %(num)d problem; nothing was saved",
                     "the batch was refused: %(num)d problems; nothing was saved", len(errors)),
            errors=errors[:MAX_ERRORS],
        )
    return body["items"]


class SampleLike(Protocol):
    """What matching needs of a sample: a `Sample` row or the light tuple read for a batch."""

    @property
    def id(self) -> int: ...
    @property
    def accession(self) -> str: ...
    @property
    def kind(self) -> SampleKind: ...
    @property
    def status(self) -> SampleStatus: ...


@dataclass(frozen=True)
class SampleRow:
    id: int
    accession: str
    kind: SampleKind
    status: SampleStatus


def match_result(payload: dict[str, Any], sample: SampleLike | None, *,
                 already: dict[tuple[int, str], list[tuple[int | str, str, datetime | None]]] | None = None
                 ) -> tuple[ReadingStatus, Reason | None]:
    """Decide where one result goes: attached, or unmatched with a reason a technician can act
    on. The checks run from what is wrong with the reading itself to what is wrong with the
    sample, so the reason given is the first thing to fix."""
    ref = payload.get("sample_id")
    problems = "; ".join(payload.get("problems") or [])
    code = payload.get("analyte")
    spec = find_analyte(code)
    if not ref:
        return ReadingStatus.UNMATCHED, Reason("no_sample_id")
    if payload.get("value") is None:
        return ReadingStatus.UNMATCHED, Reason("not_a_number", {"raw": payload.get("raw_value") or ""},
                                               detail=problems)
    if spec is None:
        if code:
            return ReadingStatus.UNMATCHED, Reason("unknown_analyte", {"analyte": code})
        return ReadingStatus.UNMATCHED, Reason("unmapped_test_code",
                                               {"test_code": payload.get("test_code") or ""})
    if not spec.accepts_unit(payload.get("unit") or ""):
        return ReadingStatus.UNMATCHED, Reason("wrong_unit", {
            "sent_unit": payload.get("unit"), "analyte": spec.code, "unit": spec.unit})
    value = float(payload["value"])
    if not spec.low <= value <= spec.high:
        return ReadingStatus.UNMATCHED, Reason("out_of_range", {
            "value": value, "unit": spec.unit, "analyte": spec.code, "low": spec.low,
            "high": spec.high})
    if sample is None:
        return ReadingStatus.UNMATCHED, Reason("no_sample", {"accession": normalise_query(ref)})
    if sample.kind != spec.kind:
        return ReadingStatus.UNMATCHED, Reason(f"{sample.kind.value}_sample", {
            "analyte": spec.code, "accession": sample.accession})
    if sample.status not in ACCEPTING_STATUSES:
        return ReadingStatus.UNMATCHED, Reason("sample_status", {
            "accession": sample.accession, "status": sample.status.value})
    measured = parse_instrument_time(payload.get("measured_at"))
    for reading_id, raw_value, at in (already or {}).get((sample.id, spec.code), []):
        if raw_value == payload.get("raw_value") and at == measured:
            return ReadingStatus.UNMATCHED, Reason("duplicate", {
                "reading": reading_id, "accession": sample.accession})
    if problems:
        return ReadingStatus.UNMATCHED, Reason("driver_problems", detail=problems)
    return ReadingStatus.ATTACHED, None


def _samples_named(session: Session, refs: Sequence[str]) -> dict[str, SampleRow]:
    if not refs:
        return {}
    rows = session.execute(
        sa.select(Sample.id, Sample.accession, Sample.kind, Sample.status)
        .where(among(session, Sample.accession, refs))
    ).all()
    return {r.accession: SampleRow(r.id, r.accession, r.kind, r.status) for r in rows}


def _attached_to(session: Session, sample_ids: Iterable[int]
                 ) -> dict[tuple[int, str], list[tuple[int | str, str, datetime | None]]]:
    ids = set(sample_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(InstrumentReading.id, InstrumentReading.sample_id, InstrumentReading.analyte,
                  InstrumentReading.raw_value, InstrumentReading.measured_at)
        .where(among(session, InstrumentReading.sample_id, ids),
               InstrumentReading.status == ReadingStatus.ATTACHED)
    ).all()
    out: dict[tuple[int, str], list[tuple[int | str, str, datetime | None]]] = {}
    for r in rows:
        out.setdefault((r.sample_id, r.analyte or ""), []).append((r.id, r.raw_value, r.measured_at))
    return out


def _row(instrument: Instrument, item: dict[str, Any], now: datetime, *, status: ReadingStatus,
         reason: Reason | None, sample_id: int | None) -> dict[str, Any]:
    payload = item["payload"]
    kind = ReadingType(item["type"])
    row: dict[str, Any] = {
        "instrument_id": instrument.id,
        "idempotency_key": item["idempotency_key"],
        "type": kind,
        "source": ReadingSource.DRIVER,
        "status": status,
        "reason": reason.dump() if reason else None,
        "sample_id": sample_id,
        "sample_ref": None,
        "analyte": None,
        "test_code": "",
        "raw_value": "",
        "value": None,
        "comparator": None,
        "unit": "",
        "measured_at": parse_instrument_time(payload.get("measured_at")),
        "spooled_at": parse_instrument_time(item["spooled_at"]),
        "received_at": now,
        # the raw bytes once, in their own column; the rest of the wire payload as sent
        "payload": {k: v for k, v in payload.items() if k != "raw"},
        "raw": payload.get("raw", ""),
    }
    if kind is ReadingType.RESULT:
        row.update(sample_ref=payload.get("sample_id"), analyte=payload.get("analyte"),
                   test_code=payload.get("test_code", ""), raw_value=payload.get("raw_value", ""),
                   value=payload.get("value"), comparator=payload.get("comparator"),
                   unit=payload.get("unit", ""))
    return row


def _reserve_ids(session: Session, count: int) -> list[int] | None:
    """On PostgreSQL, ids for ``count`` new readings from the table's sequence, so the rows go in
    by COPY with their ids and are not read back by key (that read was a fifth of a batch's
    time); None on SQLite, which numbers rows as they are inserted."""
    if not count or session.get_bind().dialect.name != "postgresql":
        return None
    return list(session.scalars(
        sa.text("SELECT nextval(pg_get_serial_sequence('instrument_readings', 'id'))"
                " FROM generate_series(1, :count)"), {"count": count}))


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert in key order: two batches carrying the same keys (a driver's retry crossing its
    first attempt, several requests in flight after an outage) then wait for each other's keys
    in the same order, so one waits and finds duplicates instead of both deadlocking."""
    bulk_insert(session, InstrumentReading.__table__,
                sorted(rows, key=lambda row: row["idempotency_key"]))


def _known_keys(session: Session, instrument: Instrument, keys: Sequence[str]) -> dict[str, int]:
    return dict(session.execute(
        sa.select(InstrumentReading.idempotency_key, InstrumentReading.id)
        .where(InstrumentReading.instrument_id == instrument.id,
               among(session, InstrumentReading.idempotency_key, keys))
    ).all())


def _file(session: Session, instrument: Instrument, items: list[dict[str, Any]], now: datetime
          ) -> list[Outcome]:
    known = _known_keys(session, instrument, [item["idempotency_key"] for item in items])
    results = [it for it in items if it["type"] == ReadingType.RESULT]
    samples = _samples_named(session, [normalise_query(it["payload"]["sample_id"])
                                       for it in results if it["payload"].get("sample_id")])
    already = _attached_to(session, (s.id for s in samples.values()))
    equipment = equipment_for_instrument(session, instrument.id)

    # None as the status: the key was filed before (or earlier in this batch): a duplicate.
    decided: list[tuple[str, ReadingStatus | None, Reason | None]] = []
    new_rows: list[dict[str, Any]] = []
    # Rows whose reason names a reading attached earlier in this batch: that reading has no id
    # until the first INSERT, so they are inserted after it, with the id filled in (the earlier
    # one is always attached, hence never itself waiting here).
    later_rows: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    for item in items:
        key = item["idempotency_key"]
        if key in known or key in seen:
            decided.append((key, None, None))
            continue
        seen.add(key)
        payload = item["payload"]
        sample: SampleRow | None = None
        held = _equipment_reason(equipment, payload, now) if item["type"] != ReadingType.QUARANTINE \
            else None
        if held is not None:
            status, reason = ReadingStatus.UNMATCHED, held
        elif item["type"] == ReadingType.RESULT:
            ref = payload.get("sample_id")
            sample = samples.get(normalise_query(ref)) if ref else None
            status, reason = match_result(payload, sample, already=already)
            if status is ReadingStatus.ATTACHED and sample is not None:
                already.setdefault((sample.id, payload["analyte"]), []).append(
                    (_InBatch(key), payload.get("raw_value", ""),
                     parse_instrument_time(payload.get("measured_at"))))
            elif reason is not None and isinstance(reason.params.get("reading"), _InBatch):
                earlier = reason.params["reading"]
                decided.append((key, status, reason))
                later_rows.append((_row(instrument, item, now, status=status, reason=None,
                                        sample_id=None), earlier))
                continue
        elif item["type"] == ReadingType.PLATE:
            status, reason = ReadingStatus.PENDING, Reason("plate_waiting")
        else:
            status, reason = ReadingStatus.UNMATCHED, Reason(
                "quarantined", {"error_code": payload.get("error_code") or ""}, detail=payload["reason"])
        decided.append((key, status, reason))
        new_rows.append(_row(instrument, item, now, status=status, reason=reason,
                             sample_id=sample.id if status is ReadingStatus.ATTACHED and sample else None))

    ids = _reserve_ids(session, len(new_rows) + len(later_rows))
    if ids is None:  # numbered as they are inserted: read back by key
        _insert(session, new_rows)
        known.update(_known_keys(session, instrument, [row["idempotency_key"] for row in new_rows]))
    else:
        for row, reading_id in zip([*new_rows, *(row for row, _ in later_rows)], ids):
            row["id"] = known[row["idempotency_key"]] = reading_id
    if later_rows:
        named: dict[str, Reason] = {}
        for row, earlier in later_rows:
            stored = Reason("duplicate", {**_reason_of(decided, row["idempotency_key"]).params,
                                          "reading": known[earlier]})
            row["reason"] = stored.dump()
            named[row["idempotency_key"]] = stored
        decided = [(key, status, named.get(key, reason)) for key, status, reason in decided]
    if ids is None:
        if later_rows:
            _insert(session, [row for row, _ in later_rows])
            known.update(_known_keys(session, instrument, [row["idempotency_key"]
                                                           for row, _ in later_rows]))
    else:
        _insert(session, [*new_rows, *(row for row, _ in later_rows)])
    instrument.last_seen_at = now
    return [
        Outcome(key, "duplicate", known[key], "already received; not stored again") if status is None
        else Outcome(key, status.value, known[key], reason.english() if reason else None)
        for key, status, reason in decided
    ]


def _equipment_reason(equipment: tuple[Equipment, list[Calibration]] | None,
                      payload: dict[str, Any], now: datetime) -> Reason | None:
    """Held, not attached, when the instrument's equipment record says it may not be used on
    the measurement day (the instrument's own date; the day it arrived if it sent none)."""
    if equipment is None:
        return None
    measured = parse_instrument_time(payload.get("measured_at"))
    problem = problem_of(equipment[0], equipment[1], (measured or now).date())
    return None if problem is None else problem_reason(problem)


class _InBatch(str):
    """The idempotency key of a reading attached earlier in the same batch, standing in for its
    id (not known before the INSERT) in a duplicate's reason until the id is."""


def _reason_of(decided: list[tuple[str, ReadingStatus | None, Reason | None]], key: str) -> Reason:
    return next(reason for k, _, reason in decided if k == key and reason is not None)


def ingest_batch(session: Session, *, instrument: Instrument, items: list[dict[str, Any]],
                 now: datetime) -> list[Outcome]:
    """File a validated batch (see `validate_batch`) and answer each item in order.

    Two drivers racing with the same key (a retry crossing its first attempt) meet the unique
    constraint; the batch is then filed again inside a fresh savepoint and the loser's items come
    back as duplicates — never stored twice, never an error for the driver.
    """
    try:
        with session.begin_nested():
            return _file(session, instrument, items, now)
    except IntegrityError:
        pass
    with session.begin_nested():
        return _file(session, instrument, items, now)
