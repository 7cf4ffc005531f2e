"""The equipment pages: the drivers' health, and the equipment records (ISO/IEC 17025 §6.4):
the register, one record with its certificates, checks and history, and the forms that change
it. Views are thin: the rules and the audit trail are the service's."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.capture.models import Instrument
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError
from lims.core.inputs import parse_id, text_problem
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.equipment import panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.equipment import service
from lims.equipment.forms import CalibrationForm, EquipmentForm, MaintenanceForm, StatusForm
from lims.equipment.models import (
    Calibration,
    CalibrationOutcome,
    Equipment,
    EquipmentStatus,
    MaintenanceEntry,
    MaintenanceKind,
)
from lims.equipment.queries import (
    calibration_words,
    driver_states,
    equipment_register,
    problem_of,
    watch_settings,
)
from lims.extensions import db
from lims.home.panels import local_today

bp = Blueprint("equipment", __name__, template_folder="templates")

PageResult = str | Response | tuple[str, int]
VIEW = (Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)

#: How each state reads on the page (``silent`` adds the minutes).
STATE_LABELS: dict[str, Any] = {
    "never": _l("never reported"),
    "port_down": _l("port down"),
    "backlog": _l("spool backing up"),
    "online": _l("online"),
}
#: The fields of the equipment audit events, as the timeline names them.
AUDIT_FIELDS: dict[str, Any] = {
    "code": _l("Code"), "name": _l("Name"), "instrument": _l("Instrument"),
    "status": _l("Status"), "calibrated_on": _l("Calibrated on"),
    "valid_until": _l("Valid until"), "outcome": _l("Outcome"),
    "performed_by": _l("Performed by"), "certificate_no": _l("Certificate number"),
    "file": _l("File"), "kind": _l("Kind"), "planned_on": _l("Planned on"),
    "done_on": _l("Done on"),
}


@bp.context_processor
def equipment_helpers() -> dict[str, Any]:
    return {"audit_fields": AUDIT_FIELDS, "label": label}


@bp.get("/equipment/instruments")
@permission_required(*VIEW)
def instruments() -> str:
    settings = watch_settings()
    return render_template("equipment/instruments.html",
                           drivers=driver_states(db.session, now_utc(), settings),
                           settings=settings, state_labels=STATE_LABELS)


@bp.get("/equipment/")
@permission_required(*VIEW)
def equipment_list() -> str:
    today = local_today(now_utc())
    return render_template("equipment/list.html", today=today,
                           rows=equipment_register(db.session, today, _))


def _instrument_choices(form: EquipmentForm) -> None:
    """Instruments that have no equipment record yet (an instrument has at most one)."""
    taken = sa.select(Equipment.instrument_id).where(Equipment.instrument_id.is_not(None))
    free = db.session.scalars(sa.select(Instrument).where(Instrument.id.not_in(taken))
                              .order_by(Instrument.code))
    form.instrument.choices = [SelectChoice("", _("none (no data connection)"))] + [
        SelectChoice(str(i.id), f"{i.code} · {i.name}") for i in free]


@bp.route("/equipment/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def equipment_new() -> PageResult:
    form = EquipmentForm()
    _instrument_choices(form)
    if form.validate_on_submit():
        instrument_id = parse_id(form.instrument.data)
        try:
            item = service.register_equipment(
                db.session, actor=current_actor(), now=now_utc(), code=form.code.data or "",
                name=form.name.data or "", location=form.location.data or "",
                serial_number=form.serial_number.data or "",
                instrument=db.session.get(Instrument, instrument_id) if instrument_id else None)
        except LimsError as error:
            db.session.rollback()
            if not form.attach_error(error):
                flash(error.message, "error")
            return render_template("equipment/new.html", form=form), error.http_status
        db.session.commit()
        flash(_("Equipment %(code)s registered.", code=item.code), "success")
        return redirect(url_for("equipment.equipment_detail", equipment_id=item.id))
    status = 422 if form.is_submitted() else 200
    return render_template("equipment/new.html", form=form), status


def _load(equipment_id: int) -> Equipment:
    item = db.session.get(Equipment, equipment_id)
    if item is None:
        raise NotFoundError(_("There is no equipment with id %(id)s.", id=equipment_id))
    return item


def _render(item: Equipment, status: int = 200, **forms: Any) -> tuple[str, int]:
    today = local_today(now_utc())
    calibrations = list(db.session.scalars(
        sa.select(Calibration).where(Calibration.equipment_id == item.id)
        .order_by(Calibration.valid_until.desc(), Calibration.id.desc())))
    entries = list(db.session.scalars(
        sa.select(MaintenanceEntry).where(MaintenanceEntry.equipment_id == item.id)
        .order_by(sa.func.coalesce(MaintenanceEntry.done_on, MaintenanceEntry.planned_on).desc(),
                  MaintenanceEntry.id.desc())))
    forms.setdefault("status_form", StatusForm(formdata=None))
    forms.setdefault("calibration_form", CalibrationForm(formdata=None))
    forms.setdefault("maintenance_form", MaintenanceForm(formdata=None))
    return render_template(
        "equipment/detail.html", equipment=item, today=today, calibrations=calibrations,
        entries=entries, problem=problem_of(item, calibrations, today),
        calibration=calibration_words(calibrations, today, _),
        in_service=item.status is EquipmentStatus.IN_SERVICE,
        events=events_for(db.session, service.EQUIPMENT_ENTITY, item.id), **forms), status


@bp.get("/equipment/<int:equipment_id>")
@permission_required(*VIEW)
def equipment_detail(equipment_id: int) -> PageResult:
    return _render(_load(equipment_id))


def _refused(equipment_id: int, form_name: str, form: Any, error: LimsError,
             aliases: dict[str, str] | None = None) -> tuple[str, int]:
    db.session.rollback()
    if not form.attach_error(error, aliases):
        form.form_errors.append(error.message)
    return _render(_load(equipment_id), error.http_status, **{form_name: form})


def _done(equipment_id: int, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("equipment.equipment_detail", equipment_id=equipment_id))


@bp.post("/equipment/<int:equipment_id>/status")
@permission_required(Permission.MANAGE_REFERENCE)
def equipment_status(equipment_id: int) -> PageResult:
    item = _load(equipment_id)
    form = StatusForm()
    if not form.validate():
        return _render(item, 422, status_form=form)
    try:
        service.set_equipment_status(
            db.session, actor=current_actor(), now=now_utc(), equipment=item,
            in_service=item.status is EquipmentStatus.OUT_OF_SERVICE,
            reason=form.reason.data or "")
    except LimsError as error:
        return _refused(equipment_id, "status_form", form, error)
    return _done(equipment_id, _("Status of %(code)s changed.", code=item.code))


def _file_name(name: str | None) -> str:
    """The uploaded file's own name, kept for the download; a path or a control character in
    it (a hostile client's) is not kept, the file is then called "certificate"."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-200:] if name and text_problem(name) is None else "certificate"


@bp.post("/equipment/<int:equipment_id>/calibrations")
@permission_required(Permission.MANAGE_REFERENCE)
def equipment_calibration(equipment_id: int) -> PageResult:
    item = _load(equipment_id)
    form = CalibrationForm()
    if not form.validate():
        return _render(item, 422, calibration_form=form)
    upload = form.file.data
    data = upload.read(service.MAX_CERTIFICATE_BYTES + 1) if upload else None
    try:
        service.record_calibration(
            db.session, actor=current_actor(), now=now_utc(), equipment=item,
            calibrated_on=form.calibrated_on.data, valid_until=form.valid_until.data,
            performed_by=form.performed_by.data or "",
            outcome=CalibrationOutcome(form.outcome.data),
            certificate_no=form.certificate_no.data or "",
            file_name=_file_name(upload.filename) if data else None,
            file_data=data or None)
    except LimsError as error:
        return _refused(equipment_id, "calibration_form", form, error)
    return _done(equipment_id, _("Calibration of %(code)s recorded.", code=item.code))


@bp.post("/equipment/<int:equipment_id>/maintenance")
@permission_required(Permission.MANAGE_REFERENCE)
def equipment_maintenance(equipment_id: int) -> PageResult:
    item = _load(equipment_id)
    form = MaintenanceForm()
    if not form.validate():
        return _render(item, 422, maintenance_form=form)
    try:
        service.record_maintenance(
            db.session, actor=current_actor(), now=now_utc(), equipment=item,
            kind=MaintenanceKind(form.kind.data), planned_on=form.planned_on.data,
            done_on=form.done_on.data, performed_by=form.done_by.data or "",
            notes=form.notes.data or "")
    except LimsError as error:
        return _refused(equipment_id, "maintenance_form", form, error,
                        {"performed_by": "done_by"})
    return _done(equipment_id, _("Entry for %(code)s recorded.", code=item.code))


@bp.get("/equipment/<int:equipment_id>/calibrations/<int:calibration_id>/certificate")
@permission_required(*VIEW)
def certificate(equipment_id: int, calibration_id: int) -> Response:
    row = db.session.get(Calibration, calibration_id)
    if row is None or row.equipment_id != equipment_id or row.file_data is None:
        raise NotFoundError(_("There is no certificate file here."))
    # as an attachment: a stored file is never rendered inside the LIMS's origin
    return send_file(BytesIO(row.file_data), mimetype=row.file_type or "application/octet-stream",
                     as_attachment=True, download_name=row.file_name or "certificate")
