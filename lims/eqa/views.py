"""The provider's EQA pages under ``/eqa/``: rounds and programmes, a round with its materials
(verdicts, assigned values), enrolments and results by lab code with scores, a material's
homogeneity/stability and assigned value, the laboratories and each one's history. Views are
thin: the rules and the audit trail are the service's (`lims.eqa.service`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError
from lims.core.forms import LimsForm
from lims.core.labels import label
from lims.core.listing import Page, list_page
from lims.core.permissions import Permission
from lims.eqa import documents, queries, service
from lims.eqa import panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.eqa.forms import (
    DocumentForm,
    EnrolForm,
    HomogeneityForm,
    LaboratoryForm,
    MaterialForm,
    ProgrammeForm,
    RoundForm,
    ShipmentForm,
    StabilityForm,
    StatusForm,
    ValueForm,
)
from lims.eqa.models import (
    DocumentKind,
    EqaDocument,
    EqaEnrolment,
    EqaLaboratory,
    EqaMaterial,
    EqaMeasurand,
    EqaMethod,
    EqaProgramme,
    EqaRound,
    EqaSampleCode,
    RoundStatus,
    SigmaKind,
    ValueSource,
)
from lims.extensions import db

bp = Blueprint("eqa", __name__, url_prefix="/eqa", template_folder="templates")

PageResult = str | Response | tuple[str, int]
MANAGE = Permission.MANAGE_EQA


@bp.context_processor
def eqa_helpers() -> dict[str, Any]:
    return {"label": label}


def _get(model: type[Any], object_id: int) -> Any:
    item = db.session.get(model, object_id)
    if item is None:
        raise NotFoundError(_("Not found."))
    return item


def _refused(form: LimsForm, error: LimsError, aliases: dict[str, str] | None = None) -> None:
    db.session.rollback()
    if not form.attach_error(error, aliases):
        form.form_errors.append(error.message)


# -- rounds and programmes -------------------------------------------------------------------------

@bp.get("/")
@permission_required(MANAGE)
def index() -> PageResult:
    """The rounds (``ROUND_LIST``: filtered, paged, exported) and the programmes."""
    page = list_page(db.session, queries.ROUND_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    programmes = db.session.scalars(sa.select(EqaProgramme).order_by(EqaProgramme.code)).all()
    return render_template("eqa/index.html", page=page, programmes=programmes)


@bp.route("/programmes/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def programme_new() -> PageResult:
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            programme = service.create_programme(
                db.session, actor=current_actor(), now=now_utc(), code=form.code.data or "",
                name=form.name.data or "", measurand=EqaMeasurand(form.measurand.data),
                sigma_kind=SigmaKind(form.sigma_kind.data),
                sigma_percent=form.sigma_percent.data, sigma_a=form.sigma_a.data,
                sigma_b=form.sigma_b.data, min_p=form.min_p.data or 0,
                value_ceiling=form.value_ceiling.data)  # type: ignore[arg-type]
        except LimsError as error:
            _refused(form, error)
            return render_template("eqa/form.html", form=form,
                                   title=_("New EQA programme")), error.http_status
        db.session.commit()
        flash(_("Programme %(code)s created.", code=programme.code), "success")
        return redirect(url_for("eqa.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("eqa/form.html", form=form, title=_("New EQA programme")), status


@bp.route("/rounds/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def round_new() -> PageResult:
    form = RoundForm()
    form.programme.choices = [SelectChoice(str(p.id), f"{p.code} · {p.name}") for p in
                              db.session.scalars(sa.select(EqaProgramme)
                                                 .order_by(EqaProgramme.code))]
    if form.validate_on_submit():
        try:
            round_ = service.create_round(
                db.session, actor=current_actor(), now=now_utc(),
                programme=_get(EqaProgramme, int(form.programme.data or 0)),
                code=form.code.data or "", dispatch_date=form.dispatch_date.data,
                deadline=form.deadline.data,  # type: ignore[arg-type]
                value_source=ValueSource(form.value_source.data))
        except LimsError as error:
            _refused(form, error)
            return render_template("eqa/form.html", form=form,
                                   title=_("New EQA round")), error.http_status
        db.session.commit()
        flash(_("Round %(code)s created.", code=round_.code), "success")
        return redirect(url_for("eqa.round_detail", round_id=round_.id))
    status = 422 if form.is_submitted() else 200
    return render_template("eqa/form.html", form=form, title=_("New EQA round")), status


def _enrol_choices(form: EnrolForm, round_: EqaRound) -> None:
    enrolled = {e.laboratory_id for e in round_.enrolments}
    form.laboratory.choices = [
        SelectChoice(str(lab.id), f"{lab.name} ({lab.country})") for lab in
        db.session.scalars(sa.select(EqaLaboratory).order_by(EqaLaboratory.name))
        if lab.id not in enrolled]


def _enrolment_choices(form: DocumentForm, round_: EqaRound) -> None:
    form.enrolment.choices = [SelectChoice("", _("all laboratories (summary)"))] + [
        SelectChoice(str(e.id), f"{e.lab_code} · {e.laboratory.name}") for e in round_.enrolments]


def _round_page(round_: EqaRound, status: int = 200, **forms: Any) -> tuple[str, int]:
    # the enrolments with their laboratories and tube codes in three queries, not 2 per lab
    enrolments = db.session.scalars(
        sa.select(EqaEnrolment).where(EqaEnrolment.round_id == round_.id)
        .order_by(EqaEnrolment.lab_code)
        .options(selectinload(EqaEnrolment.laboratory),
                 selectinload(EqaEnrolment.sample_codes).joinedload(EqaSampleCode.material))
    ).all()
    forms.setdefault("status_form", StatusForm(formdata=None))
    forms.setdefault("material_form", MaterialForm(formdata=None))
    enrol_form = forms.setdefault("enrol_form", EnrolForm(formdata=None))
    _enrol_choices(enrol_form, round_)
    forms.setdefault("score_form", LimsForm(formdata=None))
    _enrolment_choices(forms.setdefault("document_form", DocumentForm(formdata=None)), round_)
    shipment_forms = {e.id: ShipmentForm(formdata=None, prefix=f"e{e.id}-", obj=e)
                      for e in enrolments}
    shipment_forms.update(forms.pop("shipment_forms", {}))
    groups = {m.id: queries.method_groups(db.session, m) for m in round_.materials}
    return render_template(
        "eqa/round.html", round=round_, results=queries.round_results(db.session, round_),
        groups=groups, next_statuses=service.ROUND_TRANSITIONS[round_.status],
        shipment_forms=shipment_forms, enrolments=enrolments,
        documents=db.session.scalars(sa.select(EqaDocument).where(
            EqaDocument.round_id == round_.id).order_by(EqaDocument.id.desc())).all(),
        events=events_for(db.session, service.ROUND_ENTITY, round_.id), **forms), status


@bp.get("/rounds/<int:round_id>")
@permission_required(MANAGE)
def round_detail(round_id: int) -> PageResult:
    return _round_page(_get(EqaRound, round_id))


def _to_round(round_id: int, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("eqa.round_detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/status")
@permission_required(MANAGE)
def round_status(round_id: int) -> PageResult:
    round_ = _get(EqaRound, round_id)
    form = StatusForm()
    if not form.validate():
        return _round_page(round_, 422, status_form=form)
    try:
        service.change_round_status(db.session, actor=current_actor(), now=now_utc(),
                                    round_=round_, to=RoundStatus(form.to.data),
                                    override_reason=form.override_reason.data or "")
    except LimsError as error:
        _refused(form, error, {"status": "to"})
        return _round_page(_get(EqaRound, round_id), error.http_status, status_form=form)
    return _to_round(round_id, _("Round %(code)s is now %(status)s.", code=round_.code,
                                 status=label(round_.status).lower()))


@bp.post("/rounds/<int:round_id>/materials")
@permission_required(MANAGE)
def material_add(round_id: int) -> PageResult:
    round_ = _get(EqaRound, round_id)
    form = MaterialForm()
    if not form.validate():
        return _round_page(round_, 422, material_form=form)
    try:
        service.add_material(db.session, actor=current_actor(), now=now_utc(), round_=round_,
                             code=form.code.data or "", pool_id=form.pool_id.data or "",
                             level=form.level.data or "", volume_ml=form.volume_ml.data,
                             notes=form.notes.data or "")
    except LimsError as error:
        _refused(form, error)
        return _round_page(_get(EqaRound, round_id), error.http_status, material_form=form)
    return _to_round(round_id, _("Material added."))


@bp.post("/rounds/<int:round_id>/enrolments")
@permission_required(MANAGE)
def enrol(round_id: int) -> PageResult:
    round_ = _get(EqaRound, round_id)
    form = EnrolForm()
    _enrol_choices(form, round_)
    if not form.validate():
        return _round_page(round_, 422, enrol_form=form)
    try:
        enrolment = service.enrol_laboratory(
            db.session, actor=current_actor(), now=now_utc(), round_=round_,
            laboratory=_get(EqaLaboratory, int(form.laboratory.data or 0)))
    except LimsError as error:
        _refused(form, error)
        return _round_page(_get(EqaRound, round_id), error.http_status, enrol_form=form)
    return _to_round(round_id, _("Laboratory enrolled as %(code)s.", code=enrolment.lab_code))


@bp.post("/rounds/<int:round_id>/score")
@permission_required(MANAGE)
def score(round_id: int) -> PageResult:
    round_ = _get(EqaRound, round_id)
    form = LimsForm()
    if not form.validate():
        return _round_page(round_, 422, score_form=form)
    try:
        made = service.score_round(db.session, actor=current_actor(), now=now_utc(),
                                   round_=round_)
    except LimsError as error:
        _refused(form, error)
        return _round_page(_get(EqaRound, round_id), error.http_status, score_form=form)
    return _to_round(round_id, _("Scores computed: %(num)d.", num=made))


@bp.post("/enrolments/<int:enrolment_id>/shipment")
@permission_required(MANAGE)
def shipment(enrolment_id: int) -> PageResult:
    enrolment: EqaEnrolment = _get(EqaEnrolment, enrolment_id)
    form = ShipmentForm(prefix=f"e{enrolment.id}-")
    if not form.validate():
        return _round_page(enrolment.round, 422, shipment_forms={enrolment.id: form})
    try:
        service.record_shipment(db.session, actor=current_actor(), now=now_utc(),
                                enrolment=enrolment, shipped_on=form.shipped_on.data,
                                arrived_on=form.arrived_on.data)
    except LimsError as error:
        _refused(form, error)
        return _round_page(_get(EqaEnrolment, enrolment_id).round, error.http_status,
                           shipment_forms={enrolment_id: form})
    return _to_round(enrolment.round_id, _("Shipment of %(code)s recorded.",
                                           code=enrolment.lab_code))


@bp.post("/rounds/<int:round_id>/documents")
@permission_required(MANAGE)
def issue(round_id: int) -> PageResult:
    """Issue (render and freeze) the next version of a document of the round."""
    round_ = _get(EqaRound, round_id)
    form = DocumentForm()
    _enrolment_choices(form, round_)
    if not form.validate():
        return _round_page(round_, 422, document_form=form)
    enrolment = (_get(EqaEnrolment, int(form.enrolment.data)) if form.enrolment.data else None)
    try:
        document = documents.issue_document(
            db.session, actor=current_actor(), now=now_utc(), kind=DocumentKind(form.kind.data),
            round_=round_, lang=form.language.data or "", enrolment=enrolment,
            comments=[form.comments.data or ""], signatory=form.signatory.data or "")
    except LimsError as error:
        _refused(form, error, {"language": "language"})
        return _round_page(_get(EqaRound, round_id), error.http_status, document_form=form)
    return _to_round(round_id, _("%(document)s issued, version %(version)d.",
                                 document=label(document.kind), version=document.version))


@bp.get("/documents/<int:document_id>.pdf")
@permission_required(MANAGE)
def document_pdf(document_id: int) -> Response:
    """An issued document exactly as it was issued."""
    document: EqaDocument = _get(EqaDocument, document_id)
    who = document.enrolment.lab_code if document.enrolment else "summary"
    name = (f"EQA-{document.round.code}-{document.kind.value}-{who}-{document.language}"
            f"-v{document.version}.pdf").replace("/", "-")
    return Response(document.data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-SHA256": document.sha256})


# -- a material: homogeneity, stability, assigned value --------------------------------------------

def _material_page(material: EqaMaterial, status: int = 200, **forms: Any) -> tuple[str, int]:
    forms.setdefault("homogeneity_form", HomogeneityForm(formdata=None))
    forms.setdefault("stability_form", StabilityForm(formdata=None))
    forms.setdefault("value_form", ValueForm(formdata=None))
    return render_template(
        "eqa/material.html", material=material, round=material.round,
        groups=queries.method_groups(db.session, material),
        events=events_for(db.session, service.MATERIAL_ENTITY, material.id), **forms), status


@bp.get("/materials/<int:material_id>")
@permission_required(MANAGE)
def material_detail(material_id: int) -> PageResult:
    return _material_page(_get(EqaMaterial, material_id))


def _to_material(material_id: int, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("eqa.material_detail", material_id=material_id))


@bp.post("/materials/<int:material_id>/homogeneity")
@permission_required(MANAGE)
def homogeneity(material_id: int) -> PageResult:
    material = _get(EqaMaterial, material_id)
    form = HomogeneityForm()
    if not form.validate():
        return _material_page(material, 422, homogeneity_form=form)
    try:
        verdict = service.record_homogeneity(db.session, actor=current_actor(), now=now_utc(),
                                             material=material, pairs=form.pairs(),
                                             sigma_pt=form.sigma_pt.data)
    except LimsError as error:
        _refused(form, error, {"pairs": "first"})
        return _material_page(_get(EqaMaterial, material_id), error.http_status,
                              homogeneity_form=form)
    return _to_material(material_id, _("Homogeneity recorded: %(verdict)s.",
                                       verdict=_("passed") if verdict.passed else _("not passed")))


@bp.post("/materials/<int:material_id>/stability")
@permission_required(MANAGE)
def stability(material_id: int) -> PageResult:
    material = _get(EqaMaterial, material_id)
    form = StabilityForm()
    if not form.validate():
        return _material_page(material, 422, stability_form=form)
    try:
        verdict = service.record_stability(db.session, actor=current_actor(), now=now_utc(),
                                           material=material,
                                           values=form.numbers())
    except LimsError as error:
        _refused(form, error)
        return _material_page(_get(EqaMaterial, material_id), error.http_status,
                              stability_form=form)
    return _to_material(material_id, _("Stability recorded: %(verdict)s.",
                                       verdict=_("passed") if verdict.passed else _("not passed")))


@bp.post("/materials/<int:material_id>/value")
@permission_required(MANAGE)
def assign_value(material_id: int) -> PageResult:
    material = _get(EqaMaterial, material_id)
    form = ValueForm()
    if not form.validate():
        return _material_page(material, 422, value_form=form)
    try:
        service.assign_value(db.session, actor=current_actor(), now=now_utc(), material=material,
                             source=ValueSource(form.source.data), x_pt=form.x_pt.data,
                             u_x_pt=form.u_x_pt.data)
    except LimsError as error:
        _refused(form, error)
        return _material_page(_get(EqaMaterial, material_id), error.http_status,
                              value_form=form)
    return _to_material(material_id, _("Assigned value set."))


# -- laboratories -----------------------------------------------------------------------------------

@bp.get("/laboratories")
@permission_required(MANAGE)
def laboratories() -> PageResult:
    page = list_page(db.session, queries.LABORATORY_LIST, actor=current_actor(), now=now_utc())
    if not isinstance(page, Page):
        return page
    return render_template("eqa/laboratories.html", page=page)


@bp.route("/laboratories/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def laboratory_new() -> PageResult:
    form = LaboratoryForm()
    title = _("Register a laboratory")
    if form.validate_on_submit():
        try:
            lab = service.register_laboratory(
                db.session, actor=current_actor(), now=now_utc(), name=form.name.data or "",
                country=form.country.data or "", contact=form.contact.data or "",
                methods=[EqaMethod(m) for m in form.methods.data or []])
        except LimsError as error:
            _refused(form, error)
            return render_template("eqa/form.html", form=form, title=title), error.http_status
        db.session.commit()
        flash(_("Laboratory %(name)s registered.", name=lab.name), "success")
        return redirect(url_for("eqa.laboratory_detail", laboratory_id=lab.id))
    status = 422 if form.is_submitted() else 200
    return render_template("eqa/form.html", form=form, title=title), status


@bp.get("/laboratories/<int:laboratory_id>")
@permission_required(MANAGE)
def laboratory_detail(laboratory_id: int) -> PageResult:
    lab = _get(EqaLaboratory, laboratory_id)
    enrolments = db.session.scalars(
        sa.select(EqaEnrolment).join(EqaRound).where(EqaEnrolment.laboratory_id == lab.id)
        .order_by(EqaRound.dispatch_date, EqaRound.id)).all()
    return render_template("eqa/laboratory.html", lab=lab, enrolments=enrolments,
                           history=queries.laboratory_history(db.session, lab),
                           events=events_for(db.session, service.LABORATORY_ENTITY, lab.id))
