"""The storage and disposal pages: the location tree, a box with its grid and its scan field,
the tube desk (split, check out, return, move), pick lists from the worklist and the retest
list, labels, the disposal list and desk, and retention rules. Views are thin: the rules, locks
and audit trail are the services' (`lims.logistics.storage`, `lims.logistics.disposal`)."""

from __future__ import annotations

import io
from datetime import timedelta
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
    send_file,
    url_for,
)
from flask_babel import format_date, get_translations
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from lims.analysis import catalogue
from lims.analysis import queries as analysis_queries
from lims.audit.models import AuditEvent
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError, ValidationError
from lims.core.inputs import parse_id
from lims.core.labels import label
from lims.core.locking import conflict_from_integrity
from lims.core.permissions import Permission
from lims.extensions import db
from lims.logistics import disposal, storage
from lims.logistics import storage_panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.logistics.storage_forms import (
    CheckoutForm,
    DisposeForm,
    MoveForm,
    PlaceForm,
    RetentionForm,
    ReturnForm,
    SplitForm,
    UnitForm,
)
from lims.logistics.storage_models import (
    Aliquot,
    AliquotState,
    RetentionRule,
    SampleDisposal,
    StorageUnit,
    UnitLevel,
)
from lims.logistics.storage_queries import (
    MAX_PICK,
    box_grid,
    box_path,
    location_tree,
    pick_list,
)
from lims.monitoring.models import Cluster, SurveyRound
from lims.samples.accession import normalise_query
from lims.samples.models import Sample, SampleKind
from reports.labels import SHEETS, LabelData, LabelError, render_labels
from reports.storage_docs import table_pdf

bp = Blueprint("storage", __name__, template_folder="templates")

PageResult = str | Response | tuple[str, int]
VIEW = Permission.VIEW_SAMPLES
#: Placing, moving, checking out and returning tubes: the receipt desk's technicians.
HANDLE = Permission.RECEIVE_SAMPLES
#: Freezers, racks, boxes and retention periods: reference data.
MANAGE = Permission.MANAGE_REFERENCE
#: Disposal is the end of a sample's life in the lab, like cancelling it.
DISPOSE = Permission.CANCEL_SAMPLES


def _commit(message: str, target: str) -> Response:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        flash(conflict_from_integrity(error).message, "error")
        return redirect(target)
    flash(message, "success")
    return redirect(target)


def _box(box_id: int) -> StorageUnit:
    box = db.session.get(StorageUnit, box_id)
    if box is None or box.level is not UnitLevel.BOX:
        raise NotFoundError(_("There is no box with id %(id)s.", id=box_id))
    return box


# -- locations -----------------------------------------------------------------------------------

def _unit_form(form: UnitForm | None = None) -> UnitForm:
    form = form or UnitForm(formdata=None)
    parents = db.session.scalars(sa.select(StorageUnit).where(
        StorageUnit.level.in_((UnitLevel.FREEZER, UnitLevel.RACK))).order_by(StorageUnit.code))
    form.parent.choices = [SelectChoice("", _("none (a freezer)"))] + [
        SelectChoice(str(u.id), f"{u.code} · {label(u.level)}") for u in parents]
    return form


def _index(form: UnitForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("storage/index.html", tree=location_tree(db.session),
                           form=_unit_form(form)), status


@bp.get("/logistics/storage/")
@permission_required(VIEW)
def index() -> PageResult:
    box_code = request.args.get("box", "")
    if box_code:
        try:
            box = storage.find_box(db.session, box_code[:64])
        except LimsError as error:
            flash(error.message, "error")
            return _index(status=error.http_status)
        return redirect(url_for("storage.box", box_id=box.id))
    return _index()


@bp.post("/logistics/storage/units")
@permission_required(MANAGE)
def unit_new() -> PageResult:
    form = _unit_form(UnitForm())
    if not form.validate():
        return _index(form, 422)
    parent_id = parse_id(form.parent.data)
    try:
        unit = storage.create_unit(
            db.session, actor=current_actor(), now=now_utc(), level=UnitLevel(form.level.data),
            code=form.code.data or "", name=form.name.data or "",
            parent=db.session.get(StorageUnit, parent_id) if parent_id else None,
            n_rows=form.n_rows.data, n_cols=form.n_cols.data,
            sample_kind=SampleKind(form.sample_kind.data) if form.sample_kind.data else None)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error, {"parent": "parent"}):
            form.form_errors.append(error.message)
        return _index(form, error.http_status)
    return _commit(_("Location %(code)s created.", code=unit.code), url_for("storage.index"))


def _render_box(box: StorageUnit, form: PlaceForm | None = None, status: int = 200
                ) -> tuple[str, int]:
    grid = box_grid(db.session, box)
    occupied = sum(1 for line in grid for cell in line if cell.tube is not None)
    return render_template("storage/box.html", box=box, path=box_path(box), grid=grid,
                           occupied=occupied, form=form or PlaceForm(formdata=None),
                           sheets=SHEETS), status


@bp.get("/logistics/storage/boxes/<int:box_id>")
@permission_required(VIEW)
def box(box_id: int) -> PageResult:
    return _render_box(_box(box_id))


@bp.post("/logistics/storage/boxes/<int:box_id>/place")
@permission_required(HANDLE)
def box_place(box_id: int) -> PageResult:
    item = _box(box_id)
    form = PlaceForm()
    if not form.validate():
        return _render_box(item, form, 422)
    try:
        tube = storage.place(db.session, actor=current_actor(), now=now_utc(), box=item,
                             scanned=form.item.data or "", position=form.position.data or None)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _render_box(_box(box_id), form, error.http_status)
    return _commit(_("%(label)s placed at %(position)s.", label=tube.label,
                     position=tube.position), url_for("storage.box", box_id=box_id))


# -- the tube desk: split, check out, return, move ------------------------------------------------

def _desk(status: int = 200, **forms: Any) -> tuple[str, int]:
    # one page, four forms: each prefixed, so no two fields share an id (or a label)
    forms.setdefault("split_form", SplitForm(formdata=None, prefix="split"))
    forms.setdefault("checkout_form", CheckoutForm(formdata=None, prefix="checkout"))
    forms.setdefault("return_form", ReturnForm(formdata=None, prefix="return"))
    forms.setdefault("move_form", MoveForm(formdata=None, prefix="move"))
    out = list(db.session.scalars(sa.select(Aliquot).where(
        Aliquot.state == AliquotState.CHECKED_OUT).order_by(Aliquot.checked_out_at, Aliquot.id)
        .limit(200)))
    return render_template("storage/desk.html", out=out, **forms), status


@bp.get("/logistics/storage/desk")
@permission_required(VIEW)
def desk() -> PageResult:
    wanted = request.args.get("sample", "")
    if wanted:
        return redirect(url_for("storage.sample", accession=normalise_query(wanted)[:32]
                                or "-"))
    return _desk()


def _desk_action(name: str, form: Any, act: Any) -> PageResult:
    if not form.validate():
        return _desk(422, **{name: form})
    try:
        message = act(form)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _desk(error.http_status, **{name: form})
    return _commit(message, url_for("storage.desk"))


@bp.post("/logistics/storage/split")
@permission_required(HANDLE)
def split() -> PageResult:
    def act(form: SplitForm) -> str:
        sample, _tube = storage.find_tube(db.session, form.item.data or "")
        made = storage.split_aliquots(db.session, actor=current_actor(), now=now_utc(),
                                      sample=sample, count=form.count.data or 0)
        return _("Aliquots %(labels)s made.", labels=", ".join(t.label for t in made))
    return _desk_action("split_form", SplitForm(prefix="split"), act)


@bp.post("/logistics/storage/checkout")
@permission_required(HANDLE)
def checkout() -> PageResult:
    def act(form: CheckoutForm) -> str:
        tube = storage.check_out(db.session, actor=current_actor(), now=now_utc(),
                                 tube=storage.scanned_tube(db.session, form.item.data or ""),
                                 purpose=form.purpose.data or "")
        return _("%(label)s checked out.", label=tube.label)
    return _desk_action("checkout_form", CheckoutForm(prefix="checkout"), act)


@bp.post("/logistics/storage/return")
@permission_required(HANDLE)
def return_tube() -> PageResult:
    def act(form: ReturnForm) -> str:
        tube = storage.return_aliquot(db.session, actor=current_actor(), now=now_utc(),
                                      tube=storage.scanned_tube(db.session, form.item.data or ""))
        return _("%(label)s returned to %(box)s %(position)s.", label=tube.label,
                 box=tube.box.code if tube.box else "", position=tube.position)
    return _desk_action("return_form", ReturnForm(prefix="return"), act)


@bp.post("/logistics/storage/move")
@permission_required(HANDLE)
def move() -> PageResult:
    def act(form: MoveForm) -> str:
        tube = storage.move(db.session, actor=current_actor(), now=now_utc(),
                            tube=storage.scanned_tube(db.session, form.item.data or ""),
                            box=storage.find_box(db.session, form.box.data or ""),
                            position=form.position.data or None, reason=form.reason.data or "")
        return _("%(label)s moved to %(box)s %(position)s.", label=tube.label,
                 box=tube.box.code if tube.box else "", position=tube.position)
    return _desk_action("move_form", MoveForm(prefix="move"), act)


@bp.get("/logistics/storage/samples/<accession>")
@permission_required(VIEW)
def sample(accession: str) -> PageResult:
    """Where a sample's tubes are and what happened to them (disposed ones included)."""
    found, _tube = storage.find_tube(db.session, accession[:32])
    tubes = list(db.session.scalars(sa.select(Aliquot).where(Aliquot.sample_id == found.id)
                                    .order_by(Aliquot.number)))
    record = db.session.scalar(sa.select(SampleDisposal)
                               .where(SampleDisposal.sample_id == found.id))
    events = list(db.session.scalars(sa.select(AuditEvent).where(sa.or_(
        sa.and_(AuditEvent.entity_type == storage.ALIQUOT_ENTITY,
                AuditEvent.entity_id.in_([t.id for t in tubes])),
        sa.and_(AuditEvent.entity_type == disposal.SAMPLE_ENTITY,
                AuditEvent.entity_id == found.id, AuditEvent.action == "sample_disposed")))
        .order_by(AuditEvent.id)))
    return render_template("storage/sample.html", sample=found, tubes=tubes, record=record,
                           events=events)


# -- pick lists ----------------------------------------------------------------------------------

def _pick_samples() -> tuple[str, list[Sample]]:
    """The samples of the worklist (received, in its order) or of the retest list of a method."""
    source = request.args.get("source", "worklist")
    if source not in ("worklist", "retests"):
        raise ValidationError(_("Pick lists are made from the worklist or the retest list."),
                              field="source")
    size = request.args.get("limit", "96")
    if not size.isdigit() or not 1 <= int(size) <= MAX_PICK:
        raise ValidationError(_("A pick list has 1 to %(max)d samples.", max=MAX_PICK),
                              field="limit")
    methods = catalogue.current_versions(db.session)
    chosen = next((m for m in methods if m.code == request.args.get("method")), None)
    chosen = chosen or next(iter(methods), None)
    if chosen is None:
        raise NotFoundError(_("No methods are defined; run 'lims seed'."))
    method = chosen.method
    if source == "retests":
        samples = [s for s, _r in analysis_queries.retests(
            db.session, catalogue.result_analyte(method), limit=int(size))]
        return _("Pick list: retests, %(method)s", method=chosen.code), samples
    samples = analysis_queries.received_samples(db.session, SampleKind(method.matrix.value),
                                                limit=int(size))
    return _("Pick list: worklist, %(method)s", method=chosen.code), samples


@bp.get("/logistics/storage/pick-list")
@permission_required(Permission.ANALYSE_SAMPLES)
def pick() -> PageResult:
    title, samples = _pick_samples()
    return render_template("storage/pick_list.html", title=title, lines=pick_list(db.session,
                                                                                  samples))


@bp.get("/logistics/storage/pick-list.pdf")
@permission_required(Permission.ANALYSE_SAMPLES)
def pick_pdf() -> Response:
    title, samples = _pick_samples()
    lines = pick_list(db.session, samples)
    pdf = table_pdf(title, [(_("Printed"), format_date(now_utc())),
                            (_("Samples"), str(len(lines)))],
                    [_("Freezer"), _("Rack"), _("Box"), _("Position"), _("Tube"),
                     _("Sample"), _("Not in storage")],
                    [[p.freezer, p.rack, p.box, p.position, p.label, p.accession, p.problem]
                     for p in lines])
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", download_name="pick-list.pdf")


# -- labels --------------------------------------------------------------------------------------

def _sheet() -> str:
    sheet = request.args.get("sheet", "L7651")
    if sheet not in SHEETS:
        raise ValidationError(_("unknown label sheet %(sheet)s", sheet=sheet[:20]), field="sheet")
    return sheet


def _labels(labels: list[LabelData], name: str) -> Response:
    out = io.BytesIO()
    try:
        render_labels(labels, _sheet(), out, catalogue=get_translations())
    except LabelError as error:
        raise ValidationError(str(error), field="sheet") from error
    out.seek(0)
    return send_file(out, mimetype="application/pdf", download_name=name)


@bp.get("/logistics/storage/boxes/<int:box_id>/label.pdf")
@permission_required(VIEW)
def box_label(box_id: int) -> Response:
    item = _box(box_id)
    path = " / ".join(u.code for u in box_path(item)[:-1])
    return _labels([LabelData(accession=item.code, kind=label(item.sample_kind).upper(),
                              cluster_code=path, collected=f"{item.n_rows}×{item.n_cols}")],
                   f"box-{item.code}.pdf")


@bp.get("/logistics/storage/boxes/<int:box_id>/contents.pdf")
@permission_required(VIEW)
def box_contents(box_id: int) -> Response:
    item = _box(box_id)
    rows = [[cell.name, cell.tube.label, label(cell.tube.state)]
            for line in box_grid(db.session, item) for cell in line if cell.tube is not None]
    path = " / ".join(u.code for u in box_path(item))
    pdf = table_pdf(_("Box %(code)s", code=item.code),
                    [(_("Location"), path), (_("Sample kind"), label(item.sample_kind)),
                     (_("Occupied"), f"{len(rows)} / {item.capacity}")],
                    [_("Position"), _("Tube"), _("State")], rows or [["", "", ""]],
                    barcode=item.code)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf",
                     download_name=f"box-{item.code}-contents.pdf")


@bp.get("/logistics/storage/aliquot-labels.pdf")
@permission_required(VIEW)
def aliquot_labels() -> Response:
    sample, _tube = storage.find_tube(db.session, request.args.get("sample", "")[:32])
    tubes = list(db.session.scalars(sa.select(Aliquot).where(
        Aliquot.sample_id == sample.id, Aliquot.number > 0,
        Aliquot.state != AliquotState.DISPOSED).order_by(Aliquot.number)))
    if not tubes:
        raise NotFoundError(_("Sample %(accession)s has no aliquots.",
                              accession=sample.accession))
    cluster = db.session.get(Cluster, sample.cluster_id)
    return _labels([LabelData(accession=t.label, kind=label(sample.kind).upper(),
                              cluster_code=cluster.code if cluster else "",
                              collected=format_date(sample.collected_at, "yyyy-MM-dd"))
                    for t in tubes], f"aliquots-{sample.accession}.pdf")


# -- disposal and retention -----------------------------------------------------------------------

def _disposal_page(form: DisposeForm | None = None, status: int = 200) -> tuple[str, int]:
    after = disposal.DisposalCursor.decode(request.args.get("after"))
    size = current_app.config["PAGE_SIZE"]
    rows = disposal.disposal_candidates(db.session, now_utc(), limit=size + 1, after=after)
    last = rows[size - 1] if len(rows) > size else None
    pager = {"has_prev": after is not None, "prev_url": url_for("storage.disposal_list"),
             "has_next": last is not None,
             "next_url": url_for("storage.disposal_list", after=disposal.DisposalCursor(
                 last.collected_at, last.id).encode()) if last else "", "summary": ""}
    return render_template("storage/disposal.html", rows=rows[:size], pager=pager,
                           until=disposal.kept_until(db.session, rows[:size]),
                           form=form or DisposeForm(formdata=None)), status


@bp.get("/logistics/disposal/")
@permission_required(VIEW)
def disposal_list() -> PageResult:
    return _disposal_page()


@bp.post("/logistics/disposal/dispose")
@permission_required(DISPOSE)
def dispose() -> PageResult:
    form = DisposeForm()
    if not form.validate():
        return _disposal_page(form, 422)
    now = now_utc()
    try:
        witness = disposal.confirm_witness(
            db.session, username=form.witness_username.data or "",
            password=form.witness_password.data or "", now=now,
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lockout=timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]))
    except LimsError as error:
        db.session.commit()  # the failed password counts towards the witness's lockout
        form.attach_error(error)
        return _disposal_page(form, error.http_status)
    try:
        record = disposal.dispose(db.session, actor=current_actor(), now=now,
                                  scanned=form.item.data or "", reason=form.reason.data or "",
                                  witness=witness)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _disposal_page(form, error.http_status)
    accession = record.sample.accession
    return _commit(_("Sample %(accession)s disposed of.", accession=accession),
                   url_for("storage.disposal_list"))


def _retention_form(form: RetentionForm | None = None) -> RetentionForm:
    form = form or RetentionForm(formdata=None)
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.code))
    form.survey_round.choices = [SelectChoice("", _("every round"))] + [
        SelectChoice(str(r.id), f"{r.code} · {r.name}") for r in rounds]
    return form


def _retention_page(form: RetentionForm | None = None, status: int = 200) -> tuple[str, int]:
    rules = db.session.execute(sa.select(RetentionRule, SurveyRound.code).outerjoin(
        SurveyRound, SurveyRound.id == RetentionRule.round_id)
        .order_by(RetentionRule.kind, SurveyRound.code)).all()
    return render_template("storage/retention.html", rules=rules,
                           form=_retention_form(form)), status


@bp.get("/logistics/disposal/retention")
@permission_required(VIEW)
def retention() -> PageResult:
    return _retention_page()


@bp.post("/logistics/disposal/retention")
@permission_required(MANAGE)
def retention_set() -> PageResult:
    form = _retention_form(RetentionForm())
    if not form.validate():
        return _retention_page(form, 422)
    round_id = parse_id(form.survey_round.data)
    try:
        disposal.set_retention(db.session, actor=current_actor(), now=now_utc(),
                               kind=SampleKind(form.kind.data),
                               survey_round=db.session.get(SurveyRound, round_id)
                               if round_id else None, days=form.days.data or 0)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _retention_page(form, error.http_status)
    return _commit(_("Retention saved."), url_for("storage.retention"))
