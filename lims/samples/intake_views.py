"""Intake pages: register urine and salt samples one by one (keyboard first), a spreadsheet at
once, and print barcode labels. Thin: form → registration service → commit → flash."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import (
    format_date,
    get_locale,
    get_timezone,
    get_translations,
    ngettext,
    to_user_timezone,
    to_utc,
)
from flask_babel import gettext as _
from markupsafe import Markup, escape
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, ValidationError
from lims.core.forms import LimsForm
from lims.core.inputs import parse_id, query_id
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.core.templating import fmt_number, safe_next
from lims.extensions import db
from lims.monitoring.models import Cluster, PopulationGroup, SampleKindRef
from lims.samples.accession import normalise_query
from lims.samples.batch_import import column_guide, parse_file
from lims.samples.blueprint import bp
from lims.samples.intake_forms import BatchIntakeForm, ClusterMixin, SaltIntakeForm, UrineIntakeForm
from lims.samples.models import IntakeBatch, Sample, SampleKind
from lims.samples.registration import (
    find_cluster,
    intake_flags,
    open_rounds,
    register_intake_file,
    register_salt_sample,
    register_urine_sample,
)
from reports.labels import DEFAULT_SHEET, SHEETS, LabelData, LabelError, SheetLayout, render_labels

# Above this many clusters in a round the datalist is left out: the code is typed or scanned
# and checked on the server, so the page stays small at any survey size.
DATALIST_MAX = 500
# Service field -> form field, where they differ.
FORM_FIELDS = {"cluster_id": "cluster_code", "population_group_code": "population_group"}
MAX_SELECTED_LABELS = 5000


# --- helpers -----------------------------------------------------------------------------------

def _setup_round_choices(form: ClusterMixin | BatchIntakeForm) -> None:
    rounds = open_rounds(db.session)
    form.round_id.choices = [SelectChoice(r.id, f"{r.code} · {r.name}") for r in rounds]
    if form.round_id.data is None and rounds:
        form.round_id.data = rounds[0].id


def _cluster_codes(round_id: int | None) -> list[str]:
    if round_id is None:
        return []
    codes = list(db.session.scalars(
        sa.select(Cluster.code).where(Cluster.round_id == round_id).order_by(Cluster.code).limit(DATALIST_MAX + 1)
    ))
    return codes if len(codes) <= DATALIST_MAX else []


def _lab_now() -> datetime:
    """Now as the lab's wall clock, what a datetime-local input shows."""
    return to_user_timezone(now_utc()).replace(tzinfo=None, second=0, microsecond=0)


def _utc(local: datetime) -> datetime:
    return to_utc(local).replace(tzinfo=UTC)


def _sticky(form_class: type[LimsForm], names: tuple[str, ...]) -> LimsForm:
    """A fresh form, keeping from the last sample what the next one most likely shares."""
    data: dict[str, Any] = {name: request.args[name] for name in names if request.args.get(name)}
    if "round_id" in data:
        data["round_id"] = parse_id(data["round_id"])
    if "collected_at" in data:
        try:
            data["collected_at"] = datetime.strptime(data["collected_at"], "%Y-%m-%dT%H:%M")
        except ValueError:
            del data["collected_at"]
    data.setdefault("collected_at", _lab_now())
    return form_class(data=data)


def _attach_error(form: LimsForm, error: LimsError) -> None:
    if not form.attach_error(error, FORM_FIELDS):
        flash(error.message, "error")


def _register(form: ClusterMixin, endpoint: str, sticky: tuple[str, ...],
              register: Callable[[Cluster], Sample]) -> Response | None:
    """Find the typed cluster, register, commit and go back to an empty form for the next
    sample; on a refusal, roll back and put the message on its field (None: re-render)."""
    try:
        sample = register(find_cluster(db.session, form.round_id.data, form.cluster_code.data))
    except LimsError as error:
        db.session.rollback()
        _attach_error(form, error)
        return None
    db.session.commit()
    _flash_registered(sample)
    back = _next_target()
    if back:
        return redirect(_with_registered(back, sample.accession))
    return redirect(url_for(endpoint, last=sample.accession, **_sticky_args(form, sticky)))


def _next_target() -> str:
    """Where the form was opened from and should return to (``next``, a path on this site
    only; "" when none): the shipment scan screen registers an unexpected tube on the spot and
    wants the desk back at its scanner, not at an empty registration form."""
    return safe_next(request.values.get("next"), "")


def _with_registered(target: str, accession: str) -> str:
    """``target`` with the new accession added as ``registered``, for the page returned to."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "registered"]
    query.append(("registered", accession))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _flash_registered(sample: Sample) -> None:
    label_url = url_for(".sample_label", accession=sample.accession)
    flash(Markup(_('Registered %(accession)s. <a href="%(url)s" target="_blank">Print its label</a>',
                   accession=escape(sample.accession), url=escape(label_url))), "success")
    if "low_volume" in intake_flags(sample.volume_ml, db.session.get(SampleKindRef, sample.kind.value)):
        flash(_("%(accession)s: volume %(volume)s mL is below the minimum; receipt will reject it unless "
                "more is sent.", accession=sample.accession, volume=fmt_number(sample.volume_ml, 2)), "warning")


def _sticky_args(form: LimsForm, names: tuple[str, ...]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name in names:
        value = getattr(form, name).data
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M")
        if value not in (None, ""):
            args[name] = value
    return args


def _register_page(form: LimsForm, template: str) -> tuple[str, int]:
    status = 422 if request.method == "POST" else 200
    round_id = form.round_id.data
    return render_template(template, form=form, cluster_codes=_cluster_codes(round_id),
                           sheets=_sheet_options(), default_sheet=_default_sheet(),
                           last=request.args.get("last"), next=_next_target()), status


# --- registering one sample --------------------------------------------------------------------

URINE_STICKY = ("round_id", "cluster_code", "collected_at", "container", "population_group")
SALT_STICKY = ("round_id", "cluster_code", "collected_at", "salt_source")


@bp.route("/register/urine", methods=["GET", "POST"])
@permission_required(Permission.REGISTER_SAMPLES)
def register_urine() -> Response | tuple[str, int]:
    form = UrineIntakeForm() if request.method == "POST" else _sticky(UrineIntakeForm, URINE_STICKY)
    _setup_round_choices(form)
    form.population_group.choices = [
        SelectChoice(g.code, f"{g.code} · {g.name(str(get_locale()))}") for g in db.session.scalars(
            sa.select(PopulationGroup).order_by(PopulationGroup.sort_order, PopulationGroup.code))
    ]
    if form.validate_on_submit():
        done = _register(form, ".register_urine", URINE_STICKY, lambda cluster: register_urine_sample(
            db.session, actor=current_actor(), now=now_utc(), cluster_id=cluster.id,
            participant_code=form.participant_code.data, age_months=form.age_months.data,
            sex=form.sex.data, physiological_status=form.physiological_status.data,
            population_group_code=form.population_group.data, household_code=form.household_code.data,
            volume_ml=form.volume_ml.data, container=form.container.data,
            collected_at=_utc(form.collected_at.data), notes=form.notes.data,
        ))
        if done is not None:
            return done
    return _register_page(form, "samples/register_urine.html")


@bp.route("/register/salt", methods=["GET", "POST"])
@permission_required(Permission.REGISTER_SAMPLES)
def register_salt() -> Response | tuple[str, int]:
    form = SaltIntakeForm() if request.method == "POST" else _sticky(SaltIntakeForm, SALT_STICKY)
    _setup_round_choices(form)
    if form.validate_on_submit():
        done = _register(form, ".register_salt", SALT_STICKY, lambda cluster: register_salt_sample(
            db.session, actor=current_actor(), now=now_utc(), cluster_id=cluster.id,
            household_code=form.household_code.data, salt_source=form.salt_source.data,
            brand=form.brand.data, packaging=form.packaging.data, iodized_per_label=form.iodized(),
            collected_at=_utc(form.collected_at.data), notes=form.notes.data,
        ))
        if done is not None:
            return done
    return _register_page(form, "samples/register_salt.html")


# --- a spreadsheet ---------------------------------------------------------------------------------

TEMPLATES = {SampleKind.URINE: "intake-template-urine.csv", SampleKind.SALT: "intake-template-salt.csv"}


@bp.route("/batch", methods=["GET", "POST"])
@permission_required(Permission.REGISTER_SAMPLES)
def batch_intake() -> Response | tuple[str, int]:
    form = BatchIntakeForm()
    _setup_round_choices(form)
    problems: ValidationError | None = None
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        filename = upload.filename or "upload"
        try:
            # Read and check the file before the database is touched for writing: a large
            # workbook takes seconds, and on SQLite the write lock would stop every other writer.
            parsed = parse_file(data, filename,
                                kind=SampleKind(form.kind.data) if form.kind.data else None,
                                timezone=get_timezone(), max_rows=current_app.config["INTAKE_MAX_ROWS"])
            batch = register_intake_file(
                db.session, actor=current_actor(), now=now_utc(), round_id=form.round_id.data,
                filename=filename, data=data, parsed=parsed,
            )
        except ValidationError as error:
            db.session.rollback()
            problems = error
        except LimsError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(ngettext("Registered %(num)d sample from %(file)s.", "Registered %(num)d samples from %(file)s.",
                           batch.row_count, file=batch.filename), "success")
            return redirect(url_for(".batch_intake", batch=batch.id))
    shown_id = query_id(request.args, "batch")
    shown = db.session.get(IntakeBatch, shown_id) if shown_id is not None else None
    recent = list(db.session.scalars(sa.select(IntakeBatch).order_by(IntakeBatch.id.desc()).limit(10)))
    status = 422 if request.method == "POST" else 200
    return render_template("samples/batch_intake.html", form=form, problems=problems, shown=shown,
                           recent=recent, sheets=_sheet_options(), default_sheet=_default_sheet(),
                           kinds=list(SampleKind), guides={kind: column_guide(kind) for kind in SampleKind},
                           max_rows=current_app.config["INTAKE_MAX_ROWS"]), status


@bp.get("/batch/template-<kind>.csv")
@permission_required(Permission.REGISTER_SAMPLES)
def intake_template(kind: str) -> Response:
    try:
        name = TEMPLATES[SampleKind(kind)]
    except ValueError:
        raise NotFound() from None
    data = resources.files("lims.data").joinpath(name).read_bytes()
    return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True, download_name=name)


# --- labels --------------------------------------------------------------------------------------

def _default_sheet() -> str:
    sheet = current_app.config.get("LABEL_SHEET", DEFAULT_SHEET)
    return sheet if sheet in SHEETS else DEFAULT_SHEET


def _sheet_description(layout: SheetLayout) -> str:
    """What the sheet choice shows, in the reader's language (``reports`` keeps its English
    description for the PDF side)."""
    size = _("%(width)s × %(height)s mm", width=fmt_number(layout.label_width, 1),
             height=fmt_number(layout.label_height, 1))
    if layout.per_page == 1:
        return _("%(code)s · one label per page · %(size)s", code=layout.code, size=size)
    return ngettext("%(code)s · %(num)d label per sheet · %(size)s",
                    "%(code)s · %(num)d labels per sheet · %(size)s", layout.per_page,
                    code=layout.code, size=size)


def _sheet_options() -> dict[str, str]:
    return {code: _sheet_description(layout) for code, layout in SHEETS.items()}


def _label_options(args: Mapping[str, str]) -> tuple[str, int]:
    sheet = args.get("sheet") or _default_sheet()
    start = args.get("start") or "1"
    if sheet not in SHEETS:
        raise ValidationError(_("unknown label sheet %(sheet)s", sheet=sheet), field="sheet")
    if not re.fullmatch(r"[0-9]{1,4}", start):
        raise ValidationError(_("the start position must be a whole number"), field="start")
    # Checked here as well as in ``render_labels`` so the message is in the reader's language.
    per_page = SHEETS[sheet].per_page
    if not 1 <= int(start) <= per_page:
        raise ValidationError(_("the start position must be between 1 and %(max)d on sheet %(sheet)s",
                                max=per_page, sheet=sheet), field="start")
    return sheet, int(start)


def _labels_pdf(condition: sa.ColumnElement[bool], sheet: str, start: int, filename: str) -> Response:
    rows = db.session.execute(
        sa.select(Sample.accession, Sample.kind, Sample.collected_at, Cluster.code)
        .join(Cluster, Cluster.id == Sample.cluster_id)
        .where(condition)
        .order_by(Sample.id)
    ).all()
    if not rows:
        raise NotFound(_("No such samples."))
    labels = [
        LabelData(accession=r.accession, kind=label(r.kind).upper(), cluster_code=r.code,
                  collected=format_date(r.collected_at, "yyyy-MM-dd"))
        for r in rows
    ]
    out = io.BytesIO()
    try:
        render_labels(labels, sheet, out, start_position=start, catalogue=get_translations())
    except LabelError as error:
        raise ValidationError(str(error), field="start") from error
    out.seek(0)
    return send_file(out, mimetype="application/pdf", download_name=filename)


@bp.get("/<accession>/label.pdf")
@permission_required(Permission.VIEW_SAMPLES)
def sample_label(accession: str) -> Response:
    sheet, start = _label_options(request.args)
    accession = normalise_query(accession)
    return _labels_pdf(Sample.accession == accession, sheet, start, f"label-{accession}.pdf")


@bp.post("/labels.pdf")
@permission_required(Permission.VIEW_SAMPLES)
def labels() -> Response:
    """Labels for selected samples: ``accession`` fields (checkboxes) or an ``accessions`` text
    (one per line, as a scanner types them), or every sample of an ``intake_batch``."""
    sheet, start = _label_options(request.form)
    wanted = [normalise_query(a) for a in request.form.getlist("accession")]
    wanted += [normalise_query(a) for a in request.form.get("accessions", "").split()]
    wanted = [a for a in wanted if a]
    batch_id = query_id(request.form, "intake_batch")
    if batch_id is not None:
        return _labels_pdf(Sample.intake_batch_id == batch_id, sheet, start, f"labels-batch-{batch_id}.pdf")
    if not wanted:
        raise ValidationError(_("choose at least one sample"), field="accession")
    if len(wanted) > MAX_SELECTED_LABELS:
        raise ValidationError(ngettext("at most %(num)d label at once; print a batch's labels from its page",
                                       "at most %(num)d labels at once; print a batch's labels from its page",
                                       MAX_SELECTED_LABELS), field="accession")
    return _labels_pdf(Sample.accession.in_(wanted), sheet, start, "labels.pdf")


@bp.get("/batch/<int:batch_id>/labels.pdf")
@permission_required(Permission.VIEW_SAMPLES)
def batch_labels(batch_id: int) -> Response:
    sheet, start = _label_options(request.args)
    return _labels_pdf(Sample.intake_batch_id == batch_id, sheet, start, f"labels-batch-{batch_id}.pdf")
