"""The QA annex of a monitoring report, from the laboratory's own records: the methods behind
its results (LOD, LOQ, reportable range), the runs that analysed its samples (used or rejected,
and why), the control materials of the runs used (target, observed mean, SD, CV, Westgard rule
violations per level), replicate agreement, and the instruments.

This module only reads: it gathers frames and hands them to ``reports.qa_annex``, which computes
and returns the annex's sections. A room added later (equipment records, EQA) appends sections
of its own to the list ``qa_sections`` returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from babel.support import NullTranslations
from sqlalchemy.orm import Session

from lims.analysis.models import AnalyticalRun, MethodVersionRow, Result, ResultStatus, RunSample
from lims.capture.models import Instrument
from lims.core.dt import today_utc
from lims.eqa.external_queries import annex_rows
from lims.equipment.queries import equipment_annex
from lims.monitoring.models import SurveyRound
from lims.qc.models import ControlLot, ControlMaterial, ControlResult
from lims.reporting.data import LAB_TIMEZONE, ReportScope, scope_sample_ids
from reports import qa_annex
from reports.qa_annex import AnnexSection, rounded
from reports.texts import RUN_STATUS_LABELS, UNITS, label, t, translator


def _method_rows(session: Session, ids: Iterable[int], tr: Any) -> AnnexSection:
    rows = []
    for row in session.scalars(sa.select(MethodVersionRow)
                               .where(MethodVersionRow.id.in_(sorted(ids)))
                               .order_by(MethodVersionRow.code, MethodVersionRow.version)):
        definition = row.definition or {}
        unit = definition.get("unit") or ""
        unit = tr.gettext(UNITS[unit]) if unit in UNITS else unit
        reportable = definition.get("reportable_range")
        rows.append((f"{row.name} ({row.code} v{row.version})", unit,
                     rounded(definition.get("lod"), 2), rounded(definition.get("loq"), 2),
                     f"{reportable[0]:g}–{reportable[1]:g}" if reportable else None))
    return AnnexSection(t(tr, "annex_methods"),
                        (t(tr, "method"), t(tr, "annex_unit"), t(tr, "annex_lod_short"),
                         t(tr, "annex_loq_short"), t(tr, "annex_calibration")),
                        qa_annex.cells(rows), empty=t(tr, "annex_none"),
                        widths=(80, 18, 18, 18, 30))


def qa_sections(session: Session, scope: ReportScope, method_version_ids: Iterable[int], *,
                lang: str, catalogue: NullTranslations | None = None,
                timezone: str = LAB_TIMEZONE) -> list[AnnexSection]:
    """The annex's sections for the samples of ``scope`` (``method_version_ids``: the methods of
    its verified results), in ``lang``."""
    tr = translator(lang, catalogue)
    samples = scope_sample_ids(session, scope, timezone=timezone).subquery()
    methods = {m.id: m.code for m in session.scalars(sa.select(MethodVersionRow))}
    runs = pd.DataFrame(session.execute(
        sa.select(AnalyticalRun.id, AnalyticalRun.method_version_id, AnalyticalRun.status,
                  AnalyticalRun.decided_at, AnalyticalRun.decision_reason,
                  AnalyticalRun.instrument_id, AnalyticalRun.qc,
                  sa.func.count(sa.distinct(RunSample.sample_id)))
        .join(RunSample, RunSample.run_id == AnalyticalRun.id)
        .where(RunSample.sample_id.in_(sa.select(samples.c.id)))
        .group_by(AnalyticalRun.id).order_by(AnalyticalRun.id)).all(),
        columns=["id", "method_id", "status", "decided_at", "reason", "instrument_id", "qc",
                 "samples"])
    runs["method"] = [methods.get(m, str(m)) for m in runs["method_id"]]
    runs["status"] = [str(getattr(s, "value", s)) for s in runs["status"]]
    sections = [_method_rows(session, method_version_ids, tr)]

    summary = qa_annex.run_summary(runs)
    sections.append(AnnexSection(
        t(tr, "annex_runs"), (t(tr, "method"), t(tr, "status"), t(tr, "annex_runs_n")),
        qa_annex.cells([(r.method, label(RUN_STATUS_LABELS, r.status, tr), int(r.runs))
                        for r in summary.itertuples()]),
        empty=t(tr, "annex_none"), widths=(40, 40, 20)))
    rejected = runs[runs.status == "rejected"]
    sections.append(AnnexSection(
        t(tr, "annex_rejected_runs"),
        (t(tr, "annex_run"), t(tr, "method"), t(tr, "annex_date"), t(tr, "annex_samples"),
         t(tr, "annex_reason")),
        qa_annex.cells([(f"RUN-{r.id:06d}", r.method,
                         r.decided_at.date().isoformat() if r.decided_at else None,
                         int(r.samples), r.reason or "") for r in rejected.itertuples()]),
        empty=t(tr, "annex_no_rejected"), widths=(22, 22, 20, 14, 80)))

    used = runs[runs.status == "accepted"]
    controls = pd.DataFrame(session.execute(
        sa.select(ControlMaterial.name, ControlResult.level, ControlLot.lot_number,
                  ControlLot.target_mean, ControlLot.target_sd, ControlResult.value)
        .join(ControlLot, ControlLot.id == ControlResult.lot_id)
        .join(ControlMaterial, ControlMaterial.id == ControlLot.material_id)
        .where(ControlResult.run_id.in_([int(i) for i in used["id"]]))).all(),
        columns=list(qa_annex.CONTROL_COLUMNS))
    violations = pd.DataFrame(
        [(level, v["rule"]) for qc in used["qc"] for v in (qc or {}).get("violations", [])
         for level in v.get("levels", [])], columns=["level", "rule"])
    stats = qa_annex.control_statistics(controls, violations)
    sections.append(AnnexSection(
        t(tr, "annex_controls"),
        (t(tr, "annex_control"), t(tr, "annex_level"), t(tr, "annex_lot"), t(tr, "annex_target"),
         "SD", "n", t(tr, "annex_mean"), "SD", t(tr, "annex_cv"), t(tr, "annex_bias"),
         t(tr, "annex_violations")),
        qa_annex.cells([(r.material, r.level, r.lot, rounded(r.target_mean), rounded(r.target_sd),
                         int(r.n), rounded(r.mean), rounded(r.sd), rounded(r.cv),
                         rounded(r.bias_pct), r.violations or "—")
                        for r in stats.itertuples()]),
        note=t(tr, "annex_controls_note"), empty=t(tr, "annex_none"),
        widths=(34, 12, 16, 13, 11, 9, 13, 11, 11, 12, 30)))

    spreads = pd.DataFrame(session.execute(
        sa.select(Result.method_version_id, Result.details["spread"].as_float())
        .where(Result.sample_id.in_(sa.select(samples.c.id)), Result.is_current,
               Result.status == ResultStatus.VERIFIED,
               # only results with replicates: reading every verified result into Python to
               # drop those without was a third of a 1,000,000-sample report's time
               Result.details["spread"].as_float().is_not(None))).all(),
        columns=["method_id", "spread"])
    definitions = {m.id: m.definition or {} for m in session.scalars(sa.select(MethodVersionRow))}

    def tolerance(method_id: int) -> float:
        duplicate = definitions.get(method_id, {}).get("duplicate_tolerance")
        return float(duplicate["limit"]) if duplicate else math.nan

    tolerances = {m: tolerance(m) for m in spreads["method_id"].unique()}
    spreads["tolerance"] = [tolerances[m] for m in spreads["method_id"]]
    spreads["method"] = [methods.get(m, str(m)) for m in spreads["method_id"]]
    agreement = qa_annex.replicate_agreement(spreads)
    sections.append(AnnexSection(
        t(tr, "annex_replicates"),
        (t(tr, "method"), t(tr, "annex_with_replicates"), t(tr, "annex_spread_median"),
         t(tr, "annex_spread_p95"), t(tr, "annex_tolerance"), t(tr, "annex_within")),
        qa_annex.cells([(r.method, int(r.n), rounded(r.median, 2), rounded(r.p95, 2),
                         rounded(r.tolerance, 2), rounded(r.within_pct))
                        for r in agreement.itertuples()]),
        note=t(tr, "annex_replicates_note"), empty=t(tr, "annex_none"),
        widths=(30, 20, 20, 20, 20, 20)))

    instrument_ids = sorted({int(i) for i in runs["instrument_id"].dropna()})
    used_by = runs.dropna(subset=["instrument_id"]).groupby("instrument_id").size()
    instruments = session.scalars(sa.select(Instrument).where(Instrument.id.in_(instrument_ids))
                                  .order_by(Instrument.code)).all()
    sections.append(AnnexSection(
        t(tr, "annex_instruments"),
        (t(tr, "annex_instrument"), t(tr, "annex_model"), t(tr, "annex_serial"),
         t(tr, "annex_runs_n")),
        qa_annex.cells([(f"{i.code} · {i.name}", i.model or None, i.serial_number or None,
                         int(used_by.get(i.id, 0))) for i in instruments]),
        empty=t(tr, "annex_no_instruments"), widths=(60, 40, 30, 15)))
    # ISO/IEC 17025 §6.4: the equipment records of those instruments, fit for use or not, and
    # their calibration on the day the report is built
    gettext = (catalogue or NullTranslations()).gettext
    equipment = equipment_annex(session, instrument_ids, today_utc(), gettext)
    sections.append(AnnexSection(
        t(tr, "annex_equipment"),
        (t(tr, "annex_equipment_item"), t(tr, "annex_equipment_status"),
         t(tr, "annex_equipment_calibration")),
        qa_annex.cells([(e["equipment"], e["status"], e["calibration"]) for e in equipment]),
        empty=t(tr, "annex_none"), widths=(60, 45, 65)))
    sections.append(_eqa_section(session, scope, tr))
    return sections


def _period(session: Session, scope: ReportScope) -> tuple[date, date]:
    """The report's period as dates: the survey round's, or the calendar year."""
    if scope.round_id is not None:
        survey_round = session.get(SurveyRound, scope.round_id)
        if survey_round is not None:
            return survey_round.period_start, survey_round.period_end
        return date.min, date.min
    assert scope.year is not None
    return date(scope.year, 1, 1), date(scope.year, 12, 31)


def _eqa_section(session: Session, scope: ReportScope, tr: Any) -> AnnexSection:
    """External quality assessment (our participation in EQUIP and other schemes): the latest
    round of each scheme in the report's period; "not supplied" when there is none."""
    start, end = _period(session, scope)
    rows = annex_rows(session, start, end, yes=t(tr, "yes"), no=t(tr, "no"),
                      pending=t(tr, "annex_eqa_pending"))
    return AnnexSection(
        t(tr, "annex_eqa"),
        (t(tr, "annex_eqa_scheme"), t(tr, "annex_eqa_round"), t(tr, "annex_eqa_material"),
         t(tr, "annex_eqa_mean"), t(tr, "annex_target"), t(tr, "annex_eqa_within"),
         t(tr, "annex_eqa_verdict")),
        qa_annex.cells([(scheme, code, material, rounded(mean), rounded(target), within,
                         verdict or "—")
                        for scheme, code, material, mean, target, within, verdict in rows]),
        note=t(tr, "annex_eqa_note") if rows else "", empty=t(tr, "annex_none"),
        widths=(22, 20, 20, 18, 18, 20, 40))
