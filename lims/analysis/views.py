"""Pages of analysis: worklist, runs (layout, plate, curve, QC, decision), review, methods, QC.

Views are thin: parse, call the service, commit once, redirect; a refusal is shown on the page
it came from with the service's own sentence. Lists are keyset-paged by id (newest first) or, for
the worklist, by (priority, receipt time, id) over their indexes.
"""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from instruments.codecs.plate_file import parse_plate_file
from instruments.errors import ProtocolError
from lims.analysis import catalogue, plate_layout, queries, review, runs
from lims.analysis import review_queue as review_queue_q
from lims.analysis.forms import (
    AmendForm,
    AttachPlateForm,
    CalculateForm,
    DirectEntryForm,
    LotForm,
    MethodVersionForm,
    NewRunForm,
    ReagentLotForm,
    ReasonForm,
    TargetForm,
    UploadPlateForm,
)
from lims.analysis.labels import analysis_label, short_number
from lims.analysis.review_forms import ReviewFilterForm
from lims.analysis.models import AnalyticalRun, ReagentLot, Result, RunStatus
from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.capture import service as capture
from lims.capture.models import Instrument, InstrumentReading, Protocol, ReadingStatus
from lims.core.dt import now_utc
from lims.core.errors import ConfirmationRequired, LimsError, NotFoundError
from lims.core.errors_views import wants_json
from lims.core.inputs import ID_MAX, BadParameter, finite_problem, loads_strict, parse_id, query_id
from lims.core.labels import label
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.core.templating import safe_next, url_with
from lims.equipment.queries import (
    calibration_words,
    equipment_annex,
    equipment_for_instrument,
    problem_of,
    status_words,
)
from lims.extensions import db
from lims.qc import service as qc
from lims.qc.models import ControlLot, ControlMaterial
from lims.samples.accession import normalise_query
from lims.samples.models import SampleKind
from lims.samples.transitions import get_sample_by_accession
from reports.qc_charts import (
    calibration_chart,
    drawing_to_svg,
    levey_jennings_chart,
    levey_jennings_points,
)
from reports.run_report import plate_map_pdf, run_report_pdf

bp = Blueprint("analysis", __name__, template_folder="templates", url_prefix="/analysis")
bp.add_app_template_filter(analysis_label, "analysis_label")
bp.add_app_template_filter(short_number, "short_number")
bp.add_app_template_filter(plate_layout.well_text, "well_text")

PageResult = str | Response | tuple[str, int]
A, R = Permission.ANALYSE_SAMPLES, Permission.REVIEW_RESULTS


def _refused(error: LimsError, target: str) -> Response:
    db.session.rollback()
    flash(error.message, "error")
    for item in (getattr(error, "errors", None) or [])[5:]:
        flash(str(item.get("message", item)), "error")
    return redirect(target)


def _pager(rows: list[Any], size: int, key: Any) -> dict[str, Any]:
    has_more = len(rows) > size
    return {"has_prev": bool(request.args.get("before")), "prev_url": url_with(before=None),
            "has_next": has_more and bool(rows),
            "next_url": url_with(before=key(rows[size - 1])) if has_more else "",
            "summary": ""}


# -- runs ----------------------------------------------------------------------------------------

@bp.get("/")
@permission_required(A, R)
def index() -> PageResult:
    page = list_page(db.session, queries.RUN_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("analysis/runs.html", page=page)


@bp.get("/results")
@permission_required(A, R)
def results() -> PageResult:
    """Every result, newest entry first, filtered by status, analyte, method, run or dates."""
    page = list_page(db.session, queries.RESULT_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("analysis/results.html", page=page)


@bp.get("/worklist")
@permission_required(A)
def worklist() -> PageResult:
    methods = catalogue.current_versions(db.session)
    chosen = next((m for m in methods if m.code == request.args.get("method")), None)
    chosen = chosen or next((m for m in methods if m.code == "UIC-SK-PLATE"), None)
    if chosen is None:
        raise NotFoundError(_("No methods are defined; run 'lims seed'."))
    method = chosen.method
    kind = SampleKind(method.matrix.value)
    size = current_app.config["PAGE_SIZE"]
    after = queries.WorklistCursor.decode(request.args.get("after"))
    rows = queries.received_samples(db.session, kind, limit=size + 1, after=after)
    retests = [] if after else queries.retests(db.session, catalogue.result_analyte(method),
                                               limit=50)
    last = rows[size - 1] if len(rows) > size else None
    pager = {"has_prev": after is not None, "prev_url": url_with(after=None),
             "has_next": last is not None,
             "next_url": url_with(after=queries.WorklistCursor(
                 last.priority, last.received_at, last.id).encode()) if last else "",
             "summary": ""}
    return render_template("analysis/worklist.html", methods=methods, chosen=chosen,
                           rows=rows[:size], retests=retests, pager=pager)


def _new_run_form() -> NewRunForm:
    form = NewRunForm()
    methods = [m for m in catalogue.current_versions(db.session)
               if m.definition.get("calibration") or m.definition.get("titration")]
    form.method.choices = [SelectChoice(str(m.id), f"{analysis_label(m.name)} ({m.key})")
                           for m in methods]
    form.instrument.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(i.id), f"{i.code} · {i.name}") for i in db.session.scalars(
            sa.select(Instrument).where(Instrument.is_active).order_by(Instrument.code))]
    form.reagent_lot.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(lot.id), _("%(lot)s (%(molarity)s mol/L)", lot=lot.lot_number,
                                    molarity=short_number(lot.molarity, 5))
                     if lot.molarity else _("%(lot)s (molarity missing)", lot=lot.lot_number))
        for lot in db.session.scalars(sa.select(ReagentLot).where(ReagentLot.is_active)
                                      .order_by(ReagentLot.id.desc()))]
    if not form.is_submitted() and request.args.get("method"):
        code = request.args["method"]
        form.method.data = next((str(m.id) for m in methods if m.code == code), None)
    return form


@bp.route("/runs/new", methods=["GET", "POST"])
@permission_required(A)
def run_new() -> PageResult:
    form = _new_run_form()
    method_id = parse_id(form.method.data)
    if form.validate_on_submit() and method_id is not None:
        mv = catalogue.get_method_version(db.session, method_id)
        instrument_id, lot_id = parse_id(form.instrument.data), parse_id(form.reagent_lot.data)
        instrument = db.session.get(Instrument, instrument_id) if instrument_id else None
        lot = db.session.get(ReagentLot, lot_id) if lot_id else None
        try:
            run = runs.create_run(db.session, actor=current_actor(), now=now_utc(),
                                  method_version=mv, instrument=instrument,
                                  calibration_model=form.calibration_model.data or None,
                                  reagent_lot=lot, max_samples=form.max_samples.data)
        except LimsError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("analysis/run_new.html", form=_new_run_form()), \
                error.http_status
        db.session.commit()
        flash(ngettext("%(run)s created with %(num)d sample.",
                       "%(run)s created with %(num)d samples.", len(run.items), run=run.label),
              "success")
        return redirect(url_for("analysis.run", run_id=run.id))
    status = 422 if form.is_submitted() else 200
    return render_template("analysis/run_new.html", form=form), status


def _load_run(run_id: int) -> AnalyticalRun:
    return runs.get_run(db.session, run_id)


def _svg(drawing: Any) -> str:
    text = drawing_to_svg(drawing)
    return text[text.find("<svg"):]


def _curve_chart(run: AnalyticalRun) -> Any | None:
    curve = runs.curve_of(run)
    if curve is None:
        return None
    unit = run.method_version.definition.get("unit", "")
    return calibration_chart([(p.concentration, p.response) for p in curve.standards],
                             curve.sample(), title=_("%(run)s calibration (%(model)s)",
                                                     run=run.label, model=analysis_label(curve.model)),
                             x_label=_("Concentration (%(unit)s)", unit=_(unit) if unit else ""),
                             catalogue=get_translations())


def _salt_defaults(run: AnalyticalRun) -> dict[str, dict[str, list[float]]]:
    """Titrant volumes and masses the titrator and balance sent for the run's samples."""
    ids = [item.sample_id for item in run.items]
    out: dict[str, dict[str, list[float]]] = {}
    if not ids:
        return out
    rows = db.session.execute(
        sa.select(InstrumentReading.sample_id, InstrumentReading.analyte, InstrumentReading.value)
        .where(InstrumentReading.sample_id.in_(ids),
               InstrumentReading.status == ReadingStatus.ATTACHED,
               InstrumentReading.analyte.in_(("titrant_volume", "salt_mass")))
        .order_by(InstrumentReading.id))
    by_id = {item.sample_id: item.sample.accession for item in run.items}
    for sample_id, analyte, value in rows:
        out.setdefault(by_id[sample_id], {}).setdefault(analyte, []).append(value)
    return out


def _run_day(item: AnalyticalRun) -> date:
    """The day the run's equipment was used (measured, else created), as the rules judge it."""
    return (item.measured_at or item.created_at).date()


def _run_equipment(item: AnalyticalRun) -> dict[str, Any] | None:
    """The equipment record of the run's instrument with its status and its calibration on the
    run's day (None: no instrument, or no record kept for it)."""
    found = equipment_for_instrument(db.session, item.instrument_id) if item.instrument_id else None
    if found is None:
        return None
    equipment, calibrations = found
    day = _run_day(item)
    return {"record": equipment, "day": day, "problem": problem_of(equipment, calibrations, day),
            "status": status_words(equipment, _),
            "calibration": calibration_words(calibrations, day, _)}


@bp.get("/runs/<int:run_id>")
@permission_required(A, R)
def run(run_id: int) -> PageResult:
    item = _load_run(run_id)
    chart = _curve_chart(item)
    results = queries.results_for_run(db.session, item.id)
    plates = runs.pending_plates(db.session) if item.status is RunStatus.OPEN else []
    actor = current_actor()
    return render_template(
        "analysis/run.html", run=item, method=item.method_version.method,
        layout=runs.layout_of(item), chart=_svg(chart) if chart is not None else None,
        curve=runs.curve_of(item), results=results, plates=plates,
        problems=runs.acceptance_problems(item) if item.status is RunStatus.CALCULATED else [],
        four_eyes={r.id: review.four_eyes_problem(actor, r) for r in results},
        salt_defaults=_salt_defaults(item) if item.layout.get("samples") else {},
        reason_form=ReasonForm(formdata=None), calc_form=CalculateForm(
            formdata=None, calibration_model=item.calibration_model or ""),
        attach_form=AttachPlateForm(formdata=None), upload_form=UploadPlateForm(formdata=None),
        equipment=_run_equipment(item), events=events_for(db.session, runs.RUN_ENTITY, item.id))


@bp.get("/runs/<int:run_id>/plate-map.pdf")
@permission_required(A, R)
def plate_map(run_id: int) -> Response:
    item = _load_run(run_id)
    layout = runs.layout_of(item)
    if layout is None:
        raise NotFoundError(f"{item.label} is not a plate run")
    wells = {a.well: (a.role.value, a.label if a.role.value != "sample"
                      else f"{a.accession} r{a.replicate}"
                      + (f" ×{a.dilution_factor:g}" if a.dilution_factor != 1 else ""))
             for a in layout.assignments}
    pdf = plate_map_pdf(_("Plate map of run %(run)s", run=item.label), wells, facts=[
        (_("Method"), item.method_version.key),
        (_("Created"), _("%(time)s UTC by %(user)s", time=f"{item.created_at:%Y-%m-%d %H:%M}",
                         user=item.created_by.username)),
        (_("Samples"), str(len(item.items)))])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{item.label}-plate-map.pdf"'})


@bp.get("/runs/<int:run_id>/report.pdf")
@permission_required(A, R)
def run_report(run_id: int) -> Response:
    item = _load_run(run_id)
    results = queries.results_for_run(db.session, item.id)
    curve = runs.curve_of(item)
    facts = [(_("Method"), item.method_version.key), (_("Status"), label(item.status)),
             (_("Created by"), item.created_by.username),
             (_("Measured by"), item.measured_by.username if item.measured_by else "—")]
    if item.instrument_id is not None:
        facts += [(_("Equipment"), f"{row['equipment']}: {row['status']}; {row['calibration']}")
                  for row in equipment_annex(db.session, [item.instrument_id], _run_day(item),
                                             get_translations().gettext)]
    if curve is not None:
        facts.append((_("Curve"), f"{curve.model.value}, r² = {curve.r2:.4f}"))
    qc_lines = list((item.qc or {}).get("messages", []))
    if item.qc is not None:
        qc_lines.insert(0, _("QC accepted") if item.qc_accepted else _("QC rejected"))
    rows = [[r.sample.accession, r.display, _(r.unit) if r.unit else "", label(r.status),
             "; ".join(r.flags), r.verified_by.username if r.verified_by else ""]
            for r in results]
    pdf = run_report_pdf(_("Run report %(run)s", run=item.label), facts,
                         chart=_curve_chart(item), problems=list(item.problems),
                         qc_lines=qc_lines, rows=rows, catalogue=get_translations(),
                         header=[_("Sample"), _("Result"), _("Unit"), _("Status"), _("Flags"),
                                 _("Verified by")])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{item.label}-report.pdf"'})


def _back(run_id: int) -> str:
    return url_for("analysis.run", run_id=run_id)


@bp.post("/runs/<int:run_id>/attach")
@permission_required(A)
def run_attach(run_id: int) -> Response:
    item = _load_run(run_id)
    form = AttachPlateForm()
    if not form.validate():
        flash(_("Choose a plate."), "error")
        return redirect(_back(run_id))
    try:
        reading = capture.get_reading(db.session, int(form.reading.data))
        runs.attach_plate(db.session, actor=current_actor(), now=now_utc(), run=item,
                          reading=reading)
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("Plate #%(id)s attached.", id=form.reading.data), "success")
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/upload")
@permission_required(A)
def run_upload(run_id: int) -> Response:
    item = _load_run(run_id)
    form = UploadPlateForm()
    if not form.validate():
        flash(_("Choose a plate export file."), "error")
        return redirect(_back(run_id))
    upload = form.file.data
    data = upload.read()
    name = upload.filename or "plate"
    instrument = item.instrument
    if instrument is None:
        flash(_("Choose the run's instrument first: a plate file belongs to a reader."), "error")
        return redirect(_back(run_id))
    try:
        plate = parse_plate_file(data, name, instrument_id=instrument.code)
        actor, now = current_actor(), now_utc()
        reading = capture.import_plate(db.session, actor=actor, now=now, instrument=instrument,
                                       plate=plate, filename=name, data=data)
        runs.attach_plate(db.session, actor=actor, now=now, run=item, reading=reading)
    except ProtocolError as error:
        db.session.rollback()
        for line in str(error).splitlines()[:5]:
            flash(line, "error")
        return redirect(_back(run_id))
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("Plate file %(name)s imported and attached.", name=name), "success")
    return redirect(_back(run_id))


def _number(raw: str | None) -> float | None:
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        return math.nan
    return math.nan if finite_problem(value) else float(value)  # Infinity, 1e999: not a number


@bp.post("/runs/<int:run_id>/entry")
@permission_required(A)
def run_entry(run_id: int) -> Response:
    item = _load_run(run_id)
    form = request.form
    entries = {}
    for rs in item.items:
        acc = rs.sample.accession
        entries[acc] = runs.SaltEntry(
            (_number(form.get(f"v1_{acc}")), _number(form.get(f"v2_{acc}"))),
            (_number(form.get(f"m1_{acc}")), _number(form.get(f"m2_{acc}"))))
    bad = [acc for acc, e in entries.items()
           if any(v is not None and (math.isnan(v) or v < 0) for v in e.volumes_ml + e.masses_g)]
    if bad:
        flash(_("Not a number or negative: %(samples)s", samples=", ".join(bad)), "error")
        return redirect(_back(run_id))
    controls = {c.level.value: [_number(form.get(f"ctl_{c.level.value}"))]
                for c in item.method_version.method.controls
                if form.get(f"ctl_{c.level.value}", "").strip()}
    bad = [level for level, values in controls.items() if any(math.isnan(v or 0) for v in values)]
    if bad:
        flash(_("Not a number or negative: %(samples)s", samples=", ".join(bad)), "error")
        return redirect(_back(run_id))
    try:
        runs.enter_batch_values(db.session, actor=current_actor(), now=now_utc(), run=item,
                                samples=entries, controls=controls)
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("Values saved."), "success")
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/calculate")
@permission_required(A)
def run_calculate(run_id: int) -> Response:
    item = _load_run(run_id)
    form = CalculateForm()
    try:
        runs.calculate_run(db.session, actor=current_actor(), now=now_utc(), run=item,
                           calibration_model=form.calibration_model.data or None)
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/accept")
@permission_required(A)
def run_accept(run_id: int) -> Response:
    item = _load_run(run_id)
    try:
        runs.accept_run(db.session, actor=current_actor(), now=now_utc(), run=item)
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("%(run)s accepted; its results wait for review.", run=item.label), "success")
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/reject")
@permission_required(A)
def run_reject(run_id: int) -> Response:
    item = _load_run(run_id)
    form = ReasonForm()
    try:
        runs.reject_run(db.session, actor=current_actor(), now=now_utc(), run=item,
                        reason=form.reason.data or "")
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("%(run)s rejected; its samples are back on the worklist.", run=item.label),
          "success")
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/override")
@permission_required(R)
def run_override(run_id: int) -> Response:
    item = _load_run(run_id)
    form = ReasonForm()
    try:
        runs.override_qc(db.session, actor=current_actor(), now=now_utc(), run=item,
                         reason=form.reason.data or "")
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(_("QC overridden; the run can now be accepted."), "success")
    return redirect(_back(run_id))


@bp.post("/runs/<int:run_id>/verify")
@permission_required(R)
def run_verify(run_id: int) -> Response:
    item = _load_run(run_id)
    try:
        n = review.verify_run(db.session, actor=current_actor(), now=now_utc(), run=item)
    except LimsError as error:
        return _refused(error, _back(run_id))
    db.session.commit()
    flash(ngettext("%(num)d result verified.", "%(num)d results verified.", n), "success")
    return redirect(_back(run_id))


# -- review and results --------------------------------------------------------------------------

@bp.get("/review")
@permission_required(R)
def review_queue() -> PageResult:
    """Preliminary results under the filters of the URL, flagged first; a malformed filter or
    cursor is a 400 naming it."""
    form = ReviewFilterForm(formdata=request.args)
    actor = current_actor()
    if not form.validate():
        return render_template("analysis/review.html", form=form, rows=[], total=0,
                               pager=None, problems=form.problems(), fingerprints={},
                               blocked={}, cap=review_queue_q.COUNT_CAP), 400
    try:
        after = review_queue_q.ReviewCursor.decode(request.args.get("after"))
    except ValueError as error:
        raise BadParameter(_("The parameter %(name)s is not a position in this list.",
                             name="after"), field="after") from error
    flt = form.to_filter(actor.id)
    size = current_app.config["PAGE_SIZE"]
    rows = review_queue_q.review_page(db.session, flt, limit=size + 1, after=after)
    last = rows[size - 1] if len(rows) > size else None
    pager = {"has_prev": after is not None, "prev_url": url_with(after=None),
             "has_next": last is not None,
             "next_url": url_with(after=review_queue_q.ReviewCursor(
                 bool(last.flags), last.id).encode()) if last else "", "summary": ""}
    rows = rows[:size]
    return render_template(
        "analysis/review.html", form=form, rows=rows, pager=pager, problems=[],
        total=review_queue_q.review_count(db.session, flt), cap=review_queue_q.COUNT_CAP,
        fingerprints={r.id: review.result_fingerprint(r) for r in rows},
        blocked={r.id: problem for r in rows
                 if (problem := review.four_eyes_problem(actor, r)) is not None})


def _seen(ids: list[str]) -> dict[int, str]:
    """The posted rows: result id → the fingerprint the page showed (``seen_<id>``)."""
    seen: dict[int, str] = {}
    for raw in ids[:review.BULK_MAX + 1]:
        result_id = parse_id(raw)
        if result_id is None:
            raise BadParameter(_("The parameter %(name)s must be a whole number between 1 and "
                                 "%(max)s.", name="result", max=ID_MAX), field="result")
        seen[result_id] = request.form.get(f"seen_{result_id}", "")[:32]
    return seen


def _back_to_queue() -> str:
    return safe_next(request.form.get("next"), url_for("analysis.review_queue"))


@bp.post("/review/verify")
@permission_required(R)
def review_verify() -> Response | dict[str, Any]:
    """"Verify selected" (the checked rows) or "Verify all shown that have no flag" (every row
    of the page, flagged ones left out): one transaction; refused rows are listed with their
    reason. The keyboard's ``v`` posts one row and asks for JSON."""
    unflagged = request.form.get("action") == "unflagged"
    seen = _seen(request.form.getlist("shown" if unflagged else "result"))
    try:
        outcome = review.verify_results(db.session, actor=current_actor(), now=now_utc(),
                                        seen=seen, only_unflagged=unflagged)
    except LimsError as error:
        if wants_json():
            raise
        return _refused(error, _back_to_queue())
    db.session.commit()
    if wants_json():
        return {"verified": [r.id for r in outcome.verified],
                "refused": [{"id": r.result_id, "label": r.label, "reason": r.reason}
                            for r in outcome.refused]}
    if outcome.verified:
        flash(ngettext("%(num)d result verified.", "%(num)d results verified.",
                       len(outcome.verified)), "success")
    for refusal in outcome.refused:
        flash(_("%(sample)s not verified: %(reason)s", sample=refusal.label,
                reason=refusal.reason), "error")
    if not outcome.verified and not outcome.refused:
        flash(_("Nothing to verify: every row shown has a flag; open them one by one."),
              "warning")
    return redirect(_back_to_queue())


@bp.post("/review/send-back")
@permission_required(R)
def review_send_back() -> Response | dict[str, Any]:
    """The keyboard's ``r``: send one row back for a retest with a reason, if it is still what
    the page showed."""
    seen = _seen(request.form.getlist("result")[:1])
    if not seen:
        raise BadParameter(_("Select the results to verify."), field="result")
    (result_id, fingerprint), = seen.items()
    item = review.get_result(db.session, result_id)
    try:
        review.send_back_result(db.session, actor=current_actor(), now=now_utc(), result=item,
                                reason=request.form.get("reason", "")[:500], seen=fingerprint)
    except LimsError as error:
        if wants_json():
            raise
        return _refused(error, _back_to_queue())
    db.session.commit()
    if wants_json():
        return {"sent_back": [result_id]}
    flash(_("%(sample)s sent back for a retest.", sample=item.sample.accession), "success")
    return redirect(_back_to_queue())


def _render_result(result: Result, *, amend: AmendForm | None = None,
                   status: int = 200) -> tuple[str, int]:
    actor = current_actor()
    return render_template(
        "analysis/result.html", result=result,
        history=queries.results_for_sample(db.session, result.sample_id),
        four_eyes=review.four_eyes_problem(actor, result),
        amend=amend or AmendForm(formdata=None), reason_form=ReasonForm(formdata=None),
        events=events_for(db.session, runs.RESULT_ENTITY, result.id)), status


@bp.get("/results/<int:result_id>")
@permission_required(A, R)
def result(result_id: int) -> PageResult:
    return _render_result(review.get_result(db.session, result_id))


@bp.post("/results/<int:result_id>/verify")
@permission_required(R)
def result_verify(result_id: int) -> Response:
    item = review.get_result(db.session, result_id)
    try:
        review.verify_result(db.session, actor=current_actor(), now=now_utc(), result=item)
    except LimsError as error:
        return _refused(error, url_for("analysis.result", result_id=result_id))
    db.session.commit()
    flash(_("Result verified."), "success")
    return redirect(url_for("analysis.result", result_id=result_id))


@bp.post("/results/<int:result_id>/amend")
@permission_required(R)
def result_amend(result_id: int) -> PageResult:
    item = review.get_result(db.session, result_id)
    form = AmendForm()
    if not form.validate():
        return _render_result(item, amend=form, status=422)
    try:
        amended = review.amend_result(
            db.session, actor=current_actor(), now=now_utc(), result=item,
            reason=form.reason.data or "",
            value=float(form.value.data) if form.value.data is not None else None,
            comparator=form.comparator.data or None,
            limit=float(form.limit.data) if form.limit.data is not None else None,
            category=form.category.data or None)
    except LimsError as error:
        db.session.rollback()
        item = review.get_result(db.session, result_id)
        if not form.attach_error(error):
            flash(error.message, "error")
        return _render_result(item, amend=form, status=error.http_status)
    db.session.commit()
    flash(_("Amended: version %(v)s waits for verification by a second person.",
            v=amended.version), "success")
    return redirect(url_for("analysis.result", result_id=amended.id))


@bp.post("/results/<int:result_id>/send-back")
@permission_required(R)
def result_send_back(result_id: int) -> Response:
    item = review.get_result(db.session, result_id)
    form = ReasonForm()
    try:
        review.send_back_result(db.session, actor=current_actor(), now=now_utc(), result=item,
                                reason=form.reason.data or "")
    except LimsError as error:
        return _refused(error, url_for("analysis.result", result_id=result_id))
    db.session.commit()
    flash(_("Sent back for a retest."), "success")
    return redirect(url_for("analysis.result", result_id=result_id))


#: The results entered on the fast-entry screen in this browser session (newest first).
ENTRY_RECENT_KEY = "fast_entry_recent"


@bp.route("/entry", methods=["GET", "POST"])
@permission_required(A)
def direct_entry() -> PageResult:
    """One fast-entry screen for WYD readings, rapid-test categories and values typed from any
    device without a data port: scan, type, Enter; the page answers "saved: S-… 24.6 mg/kg" in
    a polite live region and is ready for the next scan. A sample that already has a value is
    asked about (replicate / replace with a reason / cancel), never given a second one silently.
    """
    form = DirectEntryForm()
    methods = [m for m in catalogue.current_versions(db.session)
               if m.matrix == "salt" and not m.definition.get("titration")]
    form.method.choices = [SelectChoice(str(m.id), analysis_label(m.name)) for m in methods]
    rtk = next((m for m in methods if m.definition.get("categories")), None)
    form.category.choices = [SelectChoice("", "—")] + [
        SelectChoice(c, c) for c in (rtk.definition["categories"] if rtk else [])]
    devices = list(db.session.scalars(sa.select(Instrument).where(
        Instrument.protocol == Protocol.MANUAL, Instrument.is_active).order_by(Instrument.code)))
    form.instrument.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(i.id), f"{i.code} · {i.name}") for i in devices]
    status, question = 200, None
    if form.validate_on_submit():
        mv = next((m for m in methods if str(m.id) == form.method.data), None)
        device = next((i for i in devices if str(i.id) == form.instrument.data), None)
        sample = get_sample_by_accession(db.session, normalise_query(form.accession.data or ""))
        if mv is None or sample is None:
            form.accession.errors = [_("No such sample.")] if sample is None else []
            status = 422
        else:
            values = [float(v) for v in (form.value.data, form.value2.data) if v is not None]
            try:
                entered = review.enter_direct_result(
                    db.session, actor=current_actor(), now=now_utc(), sample=sample,
                    method_version=mv, values=values, category=form.category.data or None,
                    existing=form.existing.data or None, reason=form.reason.data,
                    instrument=device.code if device else None)
            except ConfirmationRequired as asked:
                db.session.rollback()
                question, status = asked, asked.http_status
            except LimsError as error:
                db.session.rollback()
                if not form.attach_error(error):
                    flash(error.message, "error")
                status = error.http_status
            else:
                db.session.commit()
                session[ENTRY_RECENT_KEY] = [entered.id, *session.get(ENTRY_RECENT_KEY, [])][:20]
                session["entry_method"], session["entry_device"] = (form.method.data,
                                                                    form.instrument.data)
                return redirect(url_for("analysis.direct_entry", saved=entered.id))
    elif form.is_submitted():
        status = 422
    else:
        form.method.data = session.get("entry_method", form.method.data)
        form.instrument.data = session.get("entry_device", form.instrument.data)
    recent_ids = session.get(ENTRY_RECENT_KEY, [])
    recent = sorted(db.session.scalars(
        sa.select(Result).options(selectinload(Result.sample))
        .where(Result.id.in_(recent_ids))), key=lambda r: -r.id) if recent_ids else []
    saved_id = query_id(request.args, "saved")
    saved = next((r for r in recent if r.id == saved_id), None)
    ordinal = [str(m.id) for m in methods if m.definition.get("categories")]
    # a refused answer to the prompt (a replacement without its reason) keeps the prompt open
    prompting = question is not None or (status != 200 and bool(form.existing.data))
    return render_template("analysis/entry.html", form=form, question=question, saved=saved,
                           recent=recent, ordinal=ordinal, prompting=prompting), status


# -- methods, QC, reagents -----------------------------------------------------------------------

@bp.get("/methods")
@permission_required(Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)
def methods() -> PageResult:
    from lims.analysis.models import MethodVersionRow

    rows = db.session.scalars(sa.select(MethodVersionRow).order_by(
        MethodVersionRow.code, MethodVersionRow.version.desc())).all()
    return render_template("analysis/methods.html", rows=rows)


def _render_method(mv: Any, form: MethodVersionForm | None = None,
                   status: int = 200) -> tuple[str, int]:
    form = form or MethodVersionForm(formdata=None, definition=json.dumps(
        mv.definition, indent=2, ensure_ascii=False))
    return render_template("analysis/method.html", mv=mv, method=mv.method, form=form,
                           events=events_for(db.session, catalogue.METHOD_ENTITY, mv.id)), status


@bp.get("/methods/<int:method_version_id>")
@permission_required(Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)
def method(method_version_id: int) -> PageResult:
    return _render_method(catalogue.get_method_version(db.session, method_version_id))


@bp.post("/methods/<int:method_version_id>/new-version")
@permission_required(Permission.MANAGE_REFERENCE)
def method_new_version(method_version_id: int) -> PageResult:
    mv = catalogue.get_method_version(db.session, method_version_id)
    form = MethodVersionForm()
    if not form.validate():
        return _render_method(mv, form, 422)
    try:
        row = catalogue.add_method_version(db.session, actor=current_actor(), now=now_utc(),
                                           base=mv, definition=loads_strict(form.definition.data),
                                           note=form.note.data or "")
    except LimsError as error:
        db.session.rollback()
        mv = catalogue.get_method_version(db.session, method_version_id)
        if not form.attach_error(error):
            flash(error.message, "error")
        return _render_method(mv, form, error.http_status)
    db.session.commit()
    flash(_("%(key)s added.", key=row.key), "success")
    return redirect(url_for("analysis.method", method_version_id=row.id))


@bp.get("/qc")
@permission_required(A, R)
def qc_lots() -> PageResult:
    materials = db.session.scalars(sa.select(ControlMaterial).options(
        selectinload(ControlMaterial.lots)).order_by(ControlMaterial.method_code,
                                                     ControlMaterial.id)).all()
    return render_template("analysis/qc.html", materials=materials, lot_form=LotForm(formdata=None))


def _render_lot(lot: ControlLot, target: TargetForm | None = None,
                status: int = 200) -> tuple[str, int]:
    data = qc.levey_jennings_data(db.session, lot)
    chart, points = None, []
    if lot.has_target and any(v is not None for v in data.values):
        points = levey_jennings_points(data.values, lot.target_mean or 0.0,
                                       lot.target_sd or 1.0, data.flagged)
        chart = _svg(levey_jennings_chart(
            data.values, lot.target_mean or 0.0, lot.target_sd or 1.0, violations=data.flagged,
            title=_("%(material)s · lot %(lot)s", material=analysis_label(lot.material.name),
                    lot=lot.lot_number),
            y_label=f"{analysis_label(lot.material.level)} ({analysis_label(lot.material.unit)})",
            catalogue=get_translations()))
    return render_template(
        "analysis/lot.html", lot=lot, chart=chart, data=data, points=points,
        runs_counted=len(qc.run_means(db.session, lot)),
        target=target or TargetForm(formdata=None), events=events_for(
            db.session, qc.LOT_ENTITY, lot.id)), status


@bp.get("/qc/lots/<int:lot_id>")
@permission_required(A, R)
def qc_lot(lot_id: int) -> PageResult:
    return _render_lot(qc.get_lot(db.session, lot_id))


@bp.post("/qc/lots/<int:lot_id>/target")
@permission_required(R, Permission.MANAGE_REFERENCE)
def qc_lot_target(lot_id: int) -> PageResult:
    lot = qc.get_lot(db.session, lot_id)
    form = TargetForm()
    if not form.validate():
        return _render_lot(lot, form, 422)
    try:
        qc.set_target(db.session, actor=current_actor(), now=now_utc(), lot=lot,
                      mean=float(form.mean.data), sd=float(form.sd.data),
                      reason=form.reason.data or "")
    except LimsError as error:
        db.session.rollback()
        lot = qc.get_lot(db.session, lot_id)
        if not form.attach_error(error):
            flash(error.message, "error")
        return _render_lot(lot, form, error.http_status)
    db.session.commit()
    flash(_("Target saved."), "success")
    return redirect(url_for("analysis.qc_lot", lot_id=lot_id))


@bp.post("/qc/lots/<int:lot_id>/establish")
@permission_required(R, Permission.MANAGE_REFERENCE)
def qc_lot_establish(lot_id: int) -> Response:
    lot = qc.get_lot(db.session, lot_id)
    try:
        qc.establish_target(db.session, actor=current_actor(), now=now_utc(), lot=lot)
    except LimsError as error:
        return _refused(error, url_for("analysis.qc_lot", lot_id=lot_id))
    db.session.commit()
    flash(_("Target established from the lot's runs."), "success")
    return redirect(url_for("analysis.qc_lot", lot_id=lot_id))


@bp.post("/qc/materials/<int:material_id>/lots")
@permission_required(Permission.MANAGE_REFERENCE)
def qc_new_lot(material_id: int) -> Response:
    material = db.session.get(ControlMaterial, material_id)
    if material is None:
        raise NotFoundError(_("No control material with id %(id)s.", id=material_id))
    form = LotForm()
    if not form.validate():
        flash(_("Give the lot number."), "error")
        return redirect(url_for("analysis.qc_lots"))
    try:
        lot = qc.add_lot(db.session, actor=current_actor(), now=now_utc(), material=material,
                         lot_number=form.lot_number.data or "")
    except LimsError as error:
        return _refused(error, url_for("analysis.qc_lots"))
    db.session.commit()
    return redirect(url_for("analysis.qc_lot", lot_id=lot.id))


@bp.route("/reagents", methods=["GET", "POST"])
@permission_required(A)
def reagents() -> PageResult:
    form = ReagentLotForm()
    status = 200
    if form.validate_on_submit():
        try:
            catalogue.add_reagent_lot(
                db.session, actor=current_actor(), now=now_utc(),
                lot_number=form.lot_number.data or "",
                molarity=float(form.molarity.data) if form.molarity.data is not None else None,
                standardised_at=now_utc() if form.molarity.data is not None else None)
        except LimsError as error:
            db.session.rollback()
            if not form.attach_error(error):
                flash(error.message, "error")
            status = error.http_status
        else:
            db.session.commit()
            return redirect(url_for("analysis.reagents"))
    elif form.is_submitted():
        status = 422
    lots = db.session.scalars(sa.select(ReagentLot).order_by(ReagentLot.id.desc()).limit(50))
    return render_template("analysis/reagents.html", form=form, lots=list(lots)), status
