"""Pages of instrument capture: the register, the inbox and plate-file import.

The inbox is the place where nothing is lost: every reading an instrument sent that could not be
attached waits here with its reason and raw bytes until a technician attaches it to the right
sample or discards it with a reason. Lists are keyset-paged by id (newest first) over the
(status, id) index, so the queue stays quick however long it grows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from instruments.codecs.plate_file import parse_plate_file
from instruments.errors import ProtocolError
from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.capture import service
from lims.capture.forms import (
    AttachForm,
    DiscardForm,
    InstrumentForm,
    PlateFileForm,
)
from lims.capture.labels import reading_label
from lims.capture.models import Instrument, InstrumentReading, Protocol, ReadingStatus
from lims.capture.queries import INBOX_LIST
from lims.capture.reasons import describe
from lims.core.dt import now_utc
from lims.core.errors import ConfirmationRequired, LimsError
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.core.templating import showing_secret
from lims.extensions import db

bp = Blueprint("capture", __name__, template_folder="templates")

PageResult = str | Response | tuple[str, int]
#: Plate readers whose plates may come as export files.
PLATE_PROTOCOLS = (Protocol.FILE, Protocol.BIORAD)


#: The fields of the instrument and reading audit events, as their timelines name them.
AUDIT_FIELDS: dict[str, Any] = {
    "code": _l("Code"), "name": _l("Name"), "protocol": _l("Data connection"), "model": _l("Model"),
    "serial_number": _l("Serial number"), "location": _l("Location"),
    "serial_settings": _l("Port settings"), "notes": _l("Notes"), "is_active": _l("In service"),
    "token_prefix": _l("Token"), "status": _l("Status"), "sample": _l("Sample"),
    "reading": _l("Reading"), "file": _l("File"), "sha256": "SHA-256",
    "instrument": _l("Instrument"),
}


@bp.context_processor
def capture_helpers() -> dict[str, Any]:
    """Enum labels, stored inbox reasons and audit field names in the reader's language."""
    return {"reading_label": reading_label, "describe_reason": describe,
            "audit_fields": AUDIT_FIELDS}


def _counts_by_instrument() -> dict[int, dict[str, int]]:
    rows = db.session.execute(
        sa.select(InstrumentReading.instrument_id, InstrumentReading.status, sa.func.count())
        .group_by(InstrumentReading.instrument_id, InstrumentReading.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for instrument_id, status, n in rows:
        counts.setdefault(instrument_id, {})[status.value] = n
    return counts


@bp.get("/instruments/")
@permission_required(Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)
def instruments() -> PageResult:
    rows = db.session.scalars(
        sa.select(Instrument).options(selectinload(Instrument.api_token)).order_by(Instrument.code)
    ).all()
    return render_template("capture/instruments.html", instruments=rows,
                           counts=_counts_by_instrument())


def _fields(form: InstrumentForm) -> service.InstrumentFields:
    return service.InstrumentFields(
        code=form.code.data or "", name=form.name.data or "", protocol=Protocol(form.protocol.data),
        model=form.model.data or "", serial_number=form.serial_number.data or "",
        location=form.location.data or "", serial_settings=form.settings(),
        notes=form.notes.data or None)


@bp.route("/instruments/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def instrument_new() -> PageResult:
    form = InstrumentForm()
    if form.validate_on_submit():
        try:
            instrument = service.create_instrument(db.session, actor=current_actor(), now=now_utc(),
                                                   fields=_fields(form))
        except LimsError as error:
            db.session.rollback()
            if not form.attach_error(error):
                flash(error.message, "error")
            return render_template("capture/instrument_form.html", form=form, instrument=None), 422
        db.session.commit()
        flash(_("Instrument %(code)s registered.", code=instrument.code), "success")
        return redirect(url_for("capture.instrument", instrument_id=instrument.id))
    status = 422 if form.is_submitted() else 200
    return render_template("capture/instrument_form.html", form=form, instrument=None), status


def _recent_errors(instrument: Instrument, limit: int = 10) -> list[InstrumentReading]:
    return list(db.session.scalars(
        sa.select(InstrumentReading)
        .where(InstrumentReading.instrument_id == instrument.id,
               InstrumentReading.status == ReadingStatus.UNMATCHED)
        .order_by(InstrumentReading.id.desc()).limit(limit)))


def _render_instrument(item: Instrument, form: InstrumentForm | None = None,
                       status: int = 200, secret: str | None = None) -> tuple[str, int]:
    form = form or InstrumentForm(obj=item, serial_settings=_json(item.serial_settings))
    return render_template(
        "capture/instrument.html", instrument=item, form=form, secret=secret,
        counts=_counts_by_instrument().get(item.id, {}), errors=_recent_errors(item),
        events=events_for(db.session, service.INSTRUMENT_ENTITY, item.id)), status


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) if value else ""


@bp.get("/instruments/<int:instrument_id>")
@permission_required(Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)
def instrument(instrument_id: int) -> PageResult:
    return _render_instrument(service.get_instrument(db.session, instrument_id))


@bp.post("/instruments/<int:instrument_id>/edit")
@permission_required(Permission.MANAGE_REFERENCE)
def instrument_edit(instrument_id: int) -> PageResult:
    item = service.get_instrument(db.session, instrument_id)
    form = InstrumentForm()
    if form.validate():
        try:
            service.update_instrument(db.session, actor=current_actor(), now=now_utc(),
                                      instrument=item, fields=_fields(form),
                                      is_active=bool(form.is_active.data))
        except LimsError as error:
            db.session.rollback()
            item = service.get_instrument(db.session, instrument_id)
            if not form.attach_error(error):
                flash(error.message, "error")
            return _render_instrument(item, form, error.http_status)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("capture.instrument", instrument_id=item.id))
    return _render_instrument(item, form, 422)


@bp.post("/instruments/<int:instrument_id>/token")
@permission_required(Permission.MANAGE_REFERENCE)
def instrument_token(instrument_id: int) -> PageResult:
    item = service.get_instrument(db.session, instrument_id)
    try:
        secret = service.issue_instrument_token(db.session, actor=current_actor(), now=now_utc(),
                                                instrument=item)
    except LimsError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("capture.instrument", instrument_id=item.id))
    db.session.commit()
    return showing_secret(*_render_instrument(item, secret=secret))


@bp.get("/inbox/")
@permission_required(Permission.ANALYSE_SAMPLES)
def inbox() -> PageResult:
    page = list_page(db.session, INBOX_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("capture/inbox.html", page=page)


def lab_time(value: datetime | None) -> datetime | None:
    """An instrument's clock (naive, local lab time as sent) made aware in the lab's zone, so the
    `datetime` filter shows it as it was sent instead of taking it for UTC."""
    return value.replace(tzinfo=get_timezone()) if value is not None else None


def _render_reading(reading: InstrumentReading, *, attach: AttachForm | None = None,
                    discard: DiscardForm | None = None, status: int = 200,
                    questions: ConfirmationRequired | None = None) -> tuple[str, int]:
    return render_template(
        "capture/reading.html", reading=reading, raw_lines=control_visible(reading.raw),
        measured_at=lab_time(reading.measured_at), questions=questions,
        attach=attach or AttachForm(formdata=None, data={"accession": reading.sample_ref or ""}),
        discard=discard or DiscardForm(formdata=None),
        events=events_for(db.session, service.READING_ENTITY, reading.id)), status


#: How control characters of instrument protocols are shown to people.
_CONTROL_NAMES = {0x02: "<STX>", 0x03: "<ETX>", 0x04: "<EOT>", 0x05: "<ENQ>", 0x06: "<ACK>",
                  0x15: "<NAK>", 0x17: "<ETB>", 0x0D: "<CR>", 0x0A: "<LF>", 0x09: "<TAB>"}


def control_visible(raw: str) -> list[str]:
    """The raw text with control characters named, one line per CR/LF, so a person sees exactly
    which bytes arrived (a lone byte is shown as <0xNN>)."""
    out: list[str] = []
    current: list[str] = []
    for ch in raw:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            current.append(_CONTROL_NAMES.get(code, f"<0x{code:02X}>"))
            if code in (0x0A, 0x0D):
                out.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


@bp.get("/inbox/<int:reading_id>")
@permission_required(Permission.ANALYSE_SAMPLES)
def reading(reading_id: int) -> PageResult:
    return _render_reading(service.get_reading(db.session, reading_id))


@bp.post("/inbox/<int:reading_id>/attach")
@permission_required(Permission.ANALYSE_SAMPLES)
def attach(reading_id: int) -> PageResult:
    item = service.get_reading(db.session, reading_id)
    form = AttachForm()
    if not form.validate():
        return _render_reading(item, attach=form, status=422)
    try:
        service.attach_reading(db.session, actor=current_actor(), now=now_utc(), reading=item,
                               accession=form.accession.data or "", reason=form.reason.data or "",
                               confirmed=form.confirmed(), lab_zone=get_timezone())
    except ConfirmationRequired as question:
        db.session.rollback()
        item = service.get_reading(db.session, reading_id)
        form.confirm.data = ",".join(question.questions)
        return _render_reading(item, attach=form, status=question.http_status,
                               questions=question)
    except LimsError as error:
        db.session.rollback()
        item = service.get_reading(db.session, reading_id)
        if not form.attach_error(error):
            flash(error.message, "error")
        return _render_reading(item, attach=form, status=error.http_status)
    db.session.commit()
    flash(_("Reading #%(id)s attached to %(accession)s.", id=item.id,
            accession=item.sample.accession if item.sample else ""), "success")
    return redirect(url_for("capture.inbox"))


@bp.post("/inbox/<int:reading_id>/discard")
@permission_required(Permission.ANALYSE_SAMPLES)
def discard(reading_id: int) -> PageResult:
    item = service.get_reading(db.session, reading_id)
    form = DiscardForm()
    if not form.validate():
        return _render_reading(item, discard=form, status=422)
    try:
        service.discard_reading(db.session, actor=current_actor(), now=now_utc(), reading=item,
                                reason=form.reason.data or "")
    except LimsError as error:
        db.session.rollback()
        item = service.get_reading(db.session, reading_id)
        flash(error.message, "error")
        return _render_reading(item, discard=form, status=error.http_status)
    db.session.commit()
    flash(_("Reading #%(id)s discarded.", id=item.id), "success")
    return redirect(url_for("capture.inbox"))


def _instrument_choices(form_field: Any, protocols: tuple[Protocol, ...]) -> list[Instrument]:
    found = list(db.session.scalars(
        sa.select(Instrument).where(Instrument.protocol.in_(protocols), Instrument.is_active)
        .order_by(Instrument.code)))
    form_field.choices = [SelectChoice(str(i.id), f"{i.code} · {i.name}") for i in found]
    return found


def _chosen(form_field: Any, found: list[Instrument]) -> Instrument | None:
    return next((i for i in found if str(i.id) == form_field.data), None)


@bp.get("/entry/manual")
@permission_required(Permission.ANALYSE_SAMPLES)
def manual_entry() -> Response:
    """The old salt entry screen: values typed from devices without a data port are entered on
    the one fast-entry screen of analysis now (bookmarks keep working)."""
    return redirect(url_for("analysis.direct_entry"), code=301)


@bp.route("/entry/plate-file", methods=["GET", "POST"])
@permission_required(Permission.ANALYSE_SAMPLES)
def plate_file() -> PageResult:
    form = PlateFileForm()
    found = _instrument_choices(form.instrument, PLATE_PROTOCOLS)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        chosen = _chosen(form.instrument, found)
        if form.validate() and chosen is not None:
            upload = form.file.data
            data = upload.read()
            try:
                plate = parse_plate_file(data, upload.filename or "plate", instrument_id=chosen.code,
                                         sheet=form.sheet.data or None)
                item = service.import_plate(db.session, actor=current_actor(), now=now_utc(),
                                            instrument=chosen, plate=plate,
                                            filename=upload.filename or "plate", data=data)
            except ProtocolError as error:
                problems = str(error).splitlines()
                status = 422
            except LimsError as error:
                db.session.rollback()
                problems = [error.message]
                status = error.http_status
            else:
                db.session.commit()
                flash(ngettext("Plate #%(id)s imported (%(num)d well over range); it waits for a run.",
                               "Plate #%(id)s imported (%(num)d wells over range); it waits for a run.",
                               len(plate.over_range), id=item.id), "success")
                return redirect(url_for("capture.reading", reading_id=item.id))
        else:
            status = 422
            if chosen is None:
                form.instrument.errors = [_("Choose a plate reader.")]
    return render_template("capture/plate_file.html", form=form, problems=problems,
                           instruments=found), status
