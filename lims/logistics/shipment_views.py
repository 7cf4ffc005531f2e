"""The shipment pages: the list, announcing a shipment, its page (manifest, cold chain,
discrepancies, closing) and the desk's scan screen with its JSON scan endpoint. Thin: form →
service → commit; the rules, the locks and the audit trail are `lims.logistics.shipments`'."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext, to_user_timezone, to_utc
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError, ValidationError
from lims.core.errors_views import wants_json
from lims.core.forms import LimsForm
from lims.core.idempotency import idempotency_exempt
from lims.core.inputs import parse_id
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.extensions import db
from lims.logistics import shipment_panels as _dashboard_panel  # noqa: F401  (registers it)
from lims.logistics import shipments as service
from lims.logistics.shipment_forms import ArrivalForm, CloseForm, ManifestForm, ShipmentForm
from lims.logistics.shipment_models import Shipment
from lims.logistics.shipment_queries import SHIPMENT_LIST, discrepancies, manifest, tally
from lims.samples.accession import normalise_query
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample
from lims.samples.registration import find_cluster, open_rounds

bp = Blueprint("shipments", __name__, template_folder="templates",
               url_prefix="/logistics/shipments")

PageResult = str | Response | tuple[str, int]

def _load(shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFoundError(_("There is no shipment %(id)s.", id=f"SHP-{shipment_id:06d}"))
    return shipment


def _attach(form: LimsForm, error: LimsError) -> None:
    if not form.attach_error(error):
        flash(error.message, "error")


# --- the list and a new shipment -------------------------------------------------------------

@bp.get("/")
@permission_required(Permission.VIEW_SAMPLES)
def index() -> PageResult:
    page = list_page(db.session, SHIPMENT_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("shipments/list.html", page=page)


def _new_form_choices(form: ShipmentForm) -> None:
    rounds = open_rounds(db.session)
    form.round_id.choices = [SelectChoice(r.id, f"{r.code} · {r.name}") for r in rounds]
    if form.round_id.data is None and rounds:
        form.round_id.data = rounds[0].id
    locale = str(get_locale())
    regions = sorted({region for r in rounds for region in r.regions}, key=lambda r: r.iso_code)
    form.region_id.choices = [SelectChoice(r.id, f"{r.iso_code} · {r.name(locale)}")
                              for r in regions]


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.RECEIVE_SAMPLES)
def new() -> PageResult:
    form = ShipmentForm()
    if request.method == "GET":
        form.dispatched_at.data = to_user_timezone(now_utc()).replace(
            tzinfo=None, second=0, microsecond=0)
    _new_form_choices(form)
    if form.validate_on_submit():
        try:
            cluster_id = None
            if form.cluster_code.data:
                cluster_id = find_cluster(db.session, form.round_id.data,
                                          form.cluster_code.data.strip()).id
            shipment = service.create_shipment(
                db.session, actor=current_actor(), now=now_utc(), round_id=form.round_id.data,
                region_id=form.region_id.data, cluster_id=cluster_id,
                courier=form.courier.data or "",
                dispatched_at=to_utc(form.dispatched_at.data).replace(tzinfo=UTC),
                box_count=form.box_count.data, logger_id=form.logger_id.data)
        except LimsError as error:
            db.session.rollback()
            _attach(form, error)
            return render_template("shipments/new.html", form=form), error.http_status
        db.session.commit()
        flash(_("Shipment %(shipment)s announced. Load its manifest.",
                shipment=shipment.reference), "success")
        return redirect(url_for(".detail", shipment_id=shipment.id))
    status = 422 if form.is_submitted() else 200
    return render_template("shipments/new.html", form=form), status


# --- one shipment --------------------------------------------------------------------------

def _render(shipment: Shipment, status: int = 200, problems: ValidationError | None = None,
            **forms: Any) -> tuple[str, int]:
    forms.setdefault("manifest_form", ManifestForm(formdata=None))
    forms.setdefault("arrival_form", ArrivalForm(formdata=None, obj=shipment))
    forms.setdefault("close_form", CloseForm(formdata=None))
    return render_template(
        "shipments/detail.html", shipment=shipment, tally=tally(db.session, shipment.id),
        items=manifest(db.session, shipment.id),
        discrepancies=discrepancies(db.session, shipment.id), problems=problems,
        events=events_for(db.session, service.ENTITY, shipment.id), **forms), status


@bp.get("/<int:shipment_id>")
@permission_required(Permission.VIEW_SAMPLES)
def detail(shipment_id: int) -> PageResult:
    return _render(_load(shipment_id))


@bp.post("/<int:shipment_id>/manifest")
@permission_required(Permission.RECEIVE_SAMPLES)
def upload_manifest(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    form = ManifestForm()
    if not form.validate_on_submit():
        return _render(shipment, 422, manifest_form=form)
    upload = form.file.data
    data = upload.read()
    filename = upload.filename or "manifest"
    try:
        # read before any lock is taken: a large workbook takes seconds
        rows, errors = service.parse_manifest(
            data, filename, max_rows=min(service.MAX_MANIFEST_ROWS,
                                         current_app.config["INTAKE_MAX_ROWS"]))
        count = service.load_manifest(db.session, actor=current_actor(), now=now_utc(),
                                      shipment=shipment, rows=rows, errors=errors,
                                      source=filename[:255], data=data)
    except ValidationError as error:
        db.session.rollback()
        return _render(_load(shipment_id), 422, problems=error, manifest_form=form)
    except LimsError as error:
        db.session.rollback()
        _attach(form, error)
        return _render(_load(shipment_id), error.http_status, manifest_form=form)
    db.session.commit()
    flash(ngettext("%(num)d sample on the manifest.", "%(num)d samples on the manifest.", count),
          "success")
    return redirect(url_for(".detail", shipment_id=shipment_id))


@bp.post("/<int:shipment_id>/manifest/generate")
@permission_required(Permission.RECEIVE_SAMPLES)
def generate_manifest(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    form = LimsForm()
    if not form.validate_on_submit():
        return _render(shipment, 400)
    try:
        count = service.manifest_from_registrations(db.session, actor=current_actor(),
                                                    now=now_utc(), shipment=shipment)
    except LimsError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(_load(shipment_id), error.http_status)
    db.session.commit()
    flash(ngettext("%(num)d sample on the manifest.", "%(num)d samples on the manifest.", count),
          "success")
    return redirect(url_for(".detail", shipment_id=shipment_id))


@bp.post("/<int:shipment_id>/arrival")
@permission_required(Permission.RECEIVE_SAMPLES)
def arrival(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    form = ArrivalForm()
    if not form.validate_on_submit():
        return _render(shipment, 422, arrival_form=form)
    try:
        service.record_arrival(db.session, actor=current_actor(), now=now_utc(),
                               shipment=shipment, temperature_c=form.arrival_temperature_c.data,
                               logger_excursion=bool(form.logger_excursion.data),
                               excursion_details=form.excursion_details.data)
    except LimsError as error:
        db.session.rollback()
        _attach(form, error)
        return _render(_load(shipment_id), error.http_status, arrival_form=form)
    db.session.commit()
    flash(_("Arrival conditions recorded."), "success")
    return redirect(url_for(".detail", shipment_id=shipment_id))


@bp.post("/<int:shipment_id>/cold-chain")
@permission_required(Permission.RECEIVE_SAMPLES)
def cold_chain(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    if not LimsForm().validate_on_submit():
        return _render(shipment, 400)
    try:
        count = service.reject_for_cold_chain(db.session, actor=current_actor(), now=now_utc(),
                                              shipment=shipment)
    except LimsError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render(_load(shipment_id), error.http_status)
    db.session.commit()
    flash(ngettext("%(num)d urine sample rejected for the cold chain break.",
                   "%(num)d urine samples rejected for the cold chain break.", count), "warning")
    return redirect(url_for(".detail", shipment_id=shipment_id))


def _damaged_lines(text: str | None) -> dict[str, str]:
    """"U-2026-000123 tube cracked" per line → {accession: reason}."""
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        accession, _sep, reason = line.strip().partition(" ")
        if accession:
            found[accession] = reason.strip(" :-–")
    return found


@bp.post("/<int:shipment_id>/close")
@permission_required(Permission.RECEIVE_SAMPLES)
def close(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _render(shipment, 422, close_form=form)
    try:
        found = service.close_shipment(
            db.session, actor=current_actor(), now=now_utc(), shipment=shipment,
            missing_reason=form.missing_reason.data, extra_reason=form.extra_reason.data,
            damaged=_damaged_lines(form.damaged.data), note=form.note.data)
    except LimsError as error:
        db.session.rollback()
        _attach(form, error)
        return _render(_load(shipment_id), error.http_status, close_form=form)
    db.session.commit()
    flash(ngettext("Shipment closed with %(num)d discrepancy.",
                   "Shipment closed with %(num)d discrepancies.", len(found)), "success")
    return redirect(url_for(".detail", shipment_id=shipment_id))


# --- the scan screen -------------------------------------------------------------------------

@bp.get("/<int:shipment_id>/receive")
@permission_required(Permission.RECEIVE_SAMPLES)
def receive(shipment_id: int) -> PageResult:
    shipment = _load(shipment_id)
    pending = _registered_here(request.args.get("registered"))
    offer = (_("%(accession)s is registered. Receive it as an extra sample of this shipment? Press"
               " Enter in the empty scan field, or the button.", accession=pending)
             if pending else None)
    return render_template("shipments/receive.html", shipment=shipment,
                           tally=tally(db.session, shipment.id), form=LimsForm(formdata=None),
                           box=parse_id(request.args.get("box")), pending=pending, offer=offer)


def _registered_here(text: str | None) -> str | None:
    """The accession a registration form opened from this screen came back with
    (``?registered=``), if it names a sample still waiting to be received: the screen offers it
    as an extra sample at once, as if its tube had just been scanned. Receiving stays a POST."""
    if not text:
        return None
    accession = normalise_query(text[:200])[:40]
    sample = db.session.scalar(sa.select(Sample).where(Sample.accession == accession))
    return accession if sample is not None and sample.status is SampleStatus.REGISTERED else None


def _register_urls(shipment: Shipment, box: int | None) -> dict[str, str]:
    """The registration forms, prefilled with the shipment's round and cluster, coming back to
    this scan screen (and its current box) with the new accession."""
    args: dict[str, Any] = {"round_id": shipment.round_id,
                            "next": url_for(".receive", shipment_id=shipment.id, box=box)}
    if shipment.cluster is not None:
        args["cluster_code"] = shipment.cluster.code
    return {"urine": url_for("samples.register_urine", **args),
            "salt": url_for("samples.register_salt", **args)}


@bp.post("/<int:shipment_id>/scan")
@permission_required(Permission.RECEIVE_SAMPLES)
@idempotency_exempt  # one rendered screen sends every scan; a repeated scan is refused by itself
def scan(shipment_id: int) -> PageResult:
    """One scan. Answers JSON to the scan screen's script; without it (a plain form post) the
    message is flashed and the screen shown again."""
    shipment = _load(shipment_id)
    if not LimsForm().validate_on_submit():
        raise ValidationError(_("The form has expired; reload the page and scan again."))
    box = parse_id(request.form.get("box"))
    result = service.scan(
        db.session, actor=current_actor(), now=now_utc(), shipment=shipment,
        text=request.form.get("accession", "")[:200], box=box,
        receive_extra=request.form.get("extra") == "1",
        min_volume_ml=Decimal(str(current_app.config["URINE_MIN_VOLUME_ML"])))
    db.session.commit()
    if not wants_json():
        flash(result.message, "success" if result.changed else "warning")
        return redirect(url_for(".receive", shipment_id=shipment_id,
                                box=result.box or box or None))
    body: dict[str, Any] = {"outcome": result.outcome, "message": result.message,
                            "accession": result.accession, "changed": result.changed,
                            "box": result.box, "tally": tally(db.session, shipment_id).as_dict()}
    if result.outcome == "unknown":
        body["register"] = _register_urls(shipment, result.box or box)
    return jsonify(body)


@bp.get("/<int:shipment_id>/tally")
@permission_required(Permission.VIEW_SAMPLES)
def tally_json(shipment_id: int) -> Response:
    return jsonify(tally(db.session, _load(shipment_id).id).as_dict())
