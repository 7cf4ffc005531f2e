"""Demo support for analysis: QC lots and a titrant lot, simulated plates, results at scale.

Measurements come from ``lims.monitoring.demo.expected_raw_values`` (a pure function of the
seed and the accession), so a plate simulated here, the simulated plate reader fed with it and
the bulk results all agree on each sample's true value. The absorbance model is the demo's
S-K curve ln A = ln A0 − k·C (domain.md §2.4).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from instruments.codecs.plate_reader import format_plate
from instruments.records import WELLS
from lims.analysis import review, runs

from lims.analysis import catalogue
from lims.analysis.calibration import ResultStatus as Outcome
from lims.analysis.calibration import classify_reading
from lims.analysis.catalogue import current_version
from lims.analysis.models import AnalyticalRun, ReagentLot, Result, ResultStatus
from lims.analysis.plate_layout import WellRole
from lims.analysis.runs import layout_of, new_result
from lims.capture.models import (
    Instrument,
    InstrumentReading,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.audit.models import AuditEvent
from lims.audit.service import audit_row
from lims.auth.models import User
from lims.monitoring.demo import SK_A0, SK_SLOPE, expected_raw_values
from lims.monitoring.models import Participant, PopulationGroup, Region
from lims.qc import service as qc
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind

DEMO_THIOSULFATE_LOT = "TS-DEMO-01"
DEMO_MOLARITY = 0.00502
#: Control targets of the demo lots: mean = the level's nominal value, SD as a CV.
DEMO_CONTROL_CV = {"urine": 0.08, "salt": 0.04}


def seed_demo_qc(session: Session, *, actor: User | None, now: datetime) -> dict[str, int]:
    """Method versions, one control lot with a target per level, and a titrant lot."""
    added = {"methods": catalogue.seed_methods(session, now=now), "control_lots": 0,
             "reagent_lots": 0}
    for mv in catalogue.current_versions(session):
        method = mv.method
        lots = qc.active_lots(session, method)
        for control, material in zip(method.controls, qc.ensure_materials(session, method),
                                     strict=True):
            if control.level.value in lots or control.nominal is None:
                continue
            sd = control.nominal * DEMO_CONTROL_CV[method.matrix.value]
            qc.add_lot(session, actor=actor, now=now, material=material,
                       lot_number=f"{method.code}-{control.level.value.upper()}-D1",
                       mean=control.nominal, sd=round(sd, 3))
            added["control_lots"] += 1
    exists = session.scalar(sa.select(ReagentLot.id).where(
        ReagentLot.lot_number == DEMO_THIOSULFATE_LOT))
    if exists is None:
        catalogue.add_reagent_lot(session, actor=actor, now=now, lot_number=DEMO_THIOSULFATE_LOT,
                                  molarity=DEMO_MOLARITY, standardised_at=now)
        added["reagent_lots"] = 1
    session.flush()
    return added


def absorbance(concentration: float) -> float:
    return SK_A0 * math.exp(-SK_SLOPE * concentration)


def true_values(session: Session, seed: int, samples: list[Sample]) -> dict[str, float]:
    """Each sample's simulated true value (µg/L or mg/kg), with its region and group."""
    if not samples:
        return {}
    ids = [s.id for s in samples]
    rows = session.execute(
        sa.select(Sample.accession, Region.iso_code, PopulationGroup.code)
        .join(Region, Region.id == Sample.region_id)
        .outerjoin(Participant, Participant.id == Sample.participant_id)
        .outerjoin(PopulationGroup, PopulationGroup.id == Participant.population_group_id)
        .where(Sample.id.in_(ids)))
    return {acc: expected_raw_values(seed, acc, region_iso=iso, group_code=group).value
            for acc, iso, group in rows}


def simulated_plate(session: Session, run: AnalyticalRun, *, seed: int,
                    truth: Mapping[str, float] | None = None) -> dict[str, float | None]:
    """The 96 absorbances a reader would give for the run's layout (empty wells read a blank);
    the samples' concentrations are the demo's true values unless ``truth`` gives them."""
    layout = layout_of(run)
    if layout is None:
        raise ValueError(f"{run.label} is not a plate run")
    rng = random.Random(f"{seed}:plate:{run.id}")
    if truth is None:
        truth = true_values(session, seed, [item.sample for item in run.items])
    method = run.method_version.method
    nominal = {c.level.value: c.nominal or 0.0 for c in method.controls}
    wells: dict[str, float | None] = {}
    for well in WELLS:
        a = layout[well]
        if a is None or a.role is WellRole.BLANK:
            conc = 0.0
        elif a.role is WellRole.CALIBRATOR:
            conc = a.concentration or 0.0
        elif a.role is WellRole.CONTROL:
            conc = nominal.get(a.level or "", 0.0) * rng.gauss(1.0, 0.025)
        else:
            conc = truth.get(a.accession or "", 0.0) / a.dilution_factor
        wells[well] = round(absorbance(conc) * rng.gauss(1.0, 0.005), 3)
    return wells


# -- results at scale ----------------------------------------------------------------------------

@dataclass
class DemoResultsSummary:
    results: int = 0
    verified: int = 0
    preliminary: int = 0
    #: pending samples above the top standard: stored "> top", returned to the worklist
    retests: int = 0


def demo_results(session: Session, *, seed: int, technician: User, reviewer: User, now: datetime,
                 chunk: int = 2000, progress: Callable[[int], None] | None = None
                 ) -> DemoResultsSummary:
    """Results for demo samples already past analysis (pending review, verified, reported)
    that have none: preliminary for pending review, verified otherwise. Rows are built by the
    same constructor as the runs' (``new_result``) and inserted in chunks with their audit
    events; urine by the S-K microplate method, salt by titration (mg/kg from the simulated
    titrant volume and the demo lot's molarity)."""
    summary = DemoResultsSummary()
    methods = {SampleKind.URINE: current_version(session, "UIC-SK-PLATE"),
               SampleKind.SALT: current_version(session, "SALT-TITR")}
    defs = {k: mv.method for k, mv in methods.items()}
    # a verified sample above the top standard was diluted and repeated before the demo starts:
    # its value is the retest's, read without the upper bound and kept with its dilution
    unbounded = {k: replace(m, reportable_range=None) for k, m in defs.items()}
    statuses = (SampleStatus.PENDING_REVIEW, SampleStatus.VERIFIED, SampleStatus.REPORTED)
    has_result = sa.select(Result.id).where(Result.sample_id == Sample.id).exists()
    retests: list[tuple[int, str]] = []
    last_id = 0
    while True:
        samples = list(session.scalars(
            sa.select(Sample).where(Sample.status.in_(statuses), Sample.id > last_id, ~has_result)
            .order_by(Sample.id).limit(chunk)))
        if not samples:
            break
        last_id = samples[-1].id
        truth = true_values(session, seed, samples)
        rows: list[dict[str, Any]] = []
        for sample in samples:
            method = defs[sample.kind]
            value = truth[sample.accession]
            when = (sample.received_at or sample.registered_at) + timedelta(days=2)
            replicates = [value] if sample.kind is SampleKind.URINE else [value, value]
            outcome = classify_reading(replicates, method)
            verified = sample.status is not SampleStatus.PENDING_REVIEW
            status = ResultStatus.VERIFIED if verified else ResultStatus.PRELIMINARY
            details: dict[str, Any] = {"demo_seed": seed}
            flags = list(outcome.reasons)
            if outcome.status is Outcome.DILUTE and verified:
                details["dilution_factor"] = outcome.suggested_dilution
                outcome = classify_reading(replicates, unbounded[sample.kind])
                flags = list(outcome.reasons)
            elif outcome.status is Outcome.DILUTE:  # stored as "> 300", back on the worklist
                status = ResultStatus.REPEAT
                details.update(outcome="dilute_and_repeat",
                               suggested_dilution=outcome.suggested_dilution)
                flags.append(runs.above_range_flag())
                retests.append((sample.id, sample.accession))
            result = new_result(
                sample, methods[sample.kind], method, actor=technician, now=when, status=status,
                value=outcome.value, comparator=outcome.comparator,
                limit=outcome.limit if outcome.comparator else None,
                flags=flags, details=details)
            row = {c.key: getattr(result, c.key) for c in Result.__table__.columns
                   if c.key != "id"}
            if verified:
                row.update(verified_at=when + timedelta(hours=3), verified_by_id=reviewer.id)
            rows.append(row)
        ids = session.scalars(sa.insert(Result).returning(Result.id, sort_by_parameter_order=True),
                              rows).all()
        session.execute(sa.insert(AuditEvent), [
            audit_row(actor=technician, now=row["created_at"], action="result_recorded",
                      entity_type="result", entity_id=rid,
                      changes={"value": {"before": None, "after": _display(row)},
                               "status": row["status"], "demo": True})
            for rid, row in zip(ids, rows, strict=True)])
        summary.results += len(rows)
        summary.verified += sum(1 for r in rows if r["status"] is ResultStatus.VERIFIED)
        summary.preliminary += sum(1 for r in rows if r["status"] is ResultStatus.PRELIMINARY)
        summary.retests += _back_to_analysis(session, retests, actor=technician, now=now)
        retests.clear()
        if progress is not None:
            progress(len(rows))
    session.flush()
    return summary


def _back_to_analysis(session: Session, samples: list[tuple[int, str]], *, actor: User,
                      now: datetime) -> int:
    """Samples whose result asks for a dilution retest leave review for the worklist (what
    ``runs.accept_run`` does to a run's sample with a ``repeat`` result)."""
    if not samples:
        return 0
    session.execute(sa.update(Sample).where(Sample.id.in_([i for i, _ in samples]))
                    .values(status=SampleStatus.IN_ANALYSIS))
    session.execute(sa.insert(AuditEvent), [
        audit_row(actor=actor, now=now, action="demo_past_analysis", entity_type="sample",
                  entity_id=sample_id, entity_label=accession,
                  changes={"status": {"before": SampleStatus.PENDING_REVIEW,
                                      "after": SampleStatus.IN_ANALYSIS}},
                  reason="demo data: above the calibrated range, dilution retest due")
        for sample_id, accession in samples])
    return len(samples)


def _display(row: dict[str, Any]) -> str:
    if row["comparator"]:
        return f"{row['comparator']} {row['limit']:g}"
    return f"{row['value']:.1f}"




# -- real runs for the demo ----------------------------------------------------------------------

@dataclass
class DemoRunsSummary:
    runs: list[str]
    verified: int = 0


def demo_runs(session: Session, *, seed: int, technician: User, second_technician: User,
              reviewer: User, now: datetime, plates: int = 1, titrations: int = 1,
              reader: Instrument | None = None) -> DemoRunsSummary:
    """The whole flow through the real services: a technician builds a plate from received
    urine, a second technician attaches the simulated reader's plate and calculates, the run is
    accepted, a reviewer verifies it; the same for salt by titration."""
    summary = DemoRunsSummary(runs=[])
    plate_mv = current_version(session, "UIC-SK-PLATE")
    titr_mv = current_version(session, "SALT-TITR")
    lot = session.scalar(sa.select(ReagentLot).where(ReagentLot.lot_number == DEMO_THIOSULFATE_LOT))
    for i in range(plates + titrations):
        is_plate = i < plates
        mv = plate_mv if is_plate else titr_mv
        if not runs.worklist(session, mv, limit=1):
            continue
        run = runs.create_run(session, actor=technician, now=now, method_version=mv,
                              instrument=reader if is_plate else None,
                              reagent_lot=None if is_plate else lot, max_samples=None if is_plate
                              else 20)
        if is_plate:
            wells = simulated_plate(session, run, seed=seed)
            reading = InstrumentReading(
                instrument_id=(reader.id if reader else _any_instrument(session).id),
                idempotency_key=f"demo-plate-{run.id}", type=ReadingType.PLATE,
                source=ReadingSource.DRIVER, status=ReadingStatus.PENDING, received_at=now,
                reason="plate waiting for an analytical run", raw=format_plate(wells).decode(),
                payload={"wells": wells, "over_range": [w for w, v in wells.items() if v is None]})
            session.add(reading)
            session.flush()
            runs.attach_plate(session, actor=second_technician, now=now, run=run, reading=reading)
        else:
            runs.enter_batch_values(session, actor=second_technician, now=now, run=run,
                                    samples=_titration_values(session, seed, run),
                                    controls=_salt_controls(run, seed))
        runs.calculate_run(session, actor=second_technician, now=now, run=run)
        summary.runs.append(run.label)
        if runs.acceptance_problems(run):
            continue  # left calculated: the page says why
        runs.accept_run(session, actor=technician, now=now, run=run)
        summary.verified += review.verify_run(session, actor=reviewer, now=now, run=run)
    return summary


def _any_instrument(session: Session) -> Instrument:
    instrument = session.scalar(sa.select(Instrument).order_by(Instrument.id).limit(1))
    if instrument is None:
        raise ValueError("register an instrument first ('lims instruments demo')")
    return instrument


def _titration_values(session: Session, seed: int, run: AnalyticalRun) -> dict[str, runs.SaltEntry]:
    truth = true_values(session, seed, [item.sample for item in run.items])
    out = {}
    for item in run.items:
        rng = random.Random(f"{seed}:titration:{item.sample.accession}")
        masses = (round(rng.uniform(9.95, 10.05), 3), round(rng.uniform(9.95, 10.05), 3))
        factor = DEMO_MOLARITY * 126.90 / 6 * 1000
        volumes = tuple(round(max(0.0, truth[item.sample.accession] * m / factor
                                  * rng.gauss(1.0, 0.01)), 2) for m in masses)
        out[item.sample.accession] = runs.SaltEntry(volumes, masses)
    return out


def _salt_controls(run: AnalyticalRun, seed: int) -> dict[str, list[float | None]]:
    rng = random.Random(f"{seed}:salt-controls:{run.id}")
    return {c.level.value: [round((c.nominal or 0.0) * rng.gauss(1.0, 0.015), 1)]
            for c in run.method_version.method.controls}


def plate_text(session: Session, run: AnalyticalRun, *, seed: int,
               measured_at: datetime | None = None) -> bytes:
    """The Bio-Rad reader output for the run's plate, for the simulated reader or a replay."""
    return format_plate(simulated_plate(session, run, seed=seed), measured_at=measured_at)


def past_analysis(session: Session, *, seed: int, share: float, actor: User, now: datetime) -> int:
    """Move a seeded ``share`` of the received samples past analysis (nine in ten verified, the
    rest pending review), each with its audit event, so `demo_results` gives them results. The
    demo survey generator stops at receipt; a lab months into a survey has analysed most."""
    from lims.audit.models import AuditEvent
    from lims.audit.service import audit_row
    from lims.core.bulk import bulk_insert

    rng = random.Random(seed)
    received = session.execute(sa.select(Sample.id, Sample.accession)
                               .where(Sample.status == SampleStatus.RECEIVED)
                               .order_by(Sample.id)).all()
    chosen = [row for row in received if rng.random() < share]
    moves: dict[SampleStatus, list[int]] = {SampleStatus.VERIFIED: [], SampleStatus.PENDING_REVIEW: []}
    events = []
    for sample_id, accession in chosen:
        target = SampleStatus.PENDING_REVIEW if rng.random() < 0.1 else SampleStatus.VERIFIED
        moves[target].append(sample_id)
        events.append(audit_row(actor=actor, now=now, action="demo_past_analysis", entity_type="sample",
                                entity_id=sample_id, entity_label=accession,
                                changes={"status": {"before": SampleStatus.RECEIVED, "after": target}},
                                reason="demo data: analysed before the demo starts"))
    for target, ids in moves.items():
        for start in range(0, len(ids), 5000):
            session.execute(sa.update(Sample).where(Sample.id.in_(ids[start:start + 5000]))
                            .values(status=target))
    bulk_insert(session, AuditEvent.__table__, events)
    session.flush()
    return len(chosen)
