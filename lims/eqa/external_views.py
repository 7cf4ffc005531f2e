"""The pages of our participation in external schemes (CDC EQUIP): the schemes and their rounds,
one round with its blind materials (their samples, the six values, mean, SD, CV, the target and
verdict), and the forms that change them. Views are thin: rules and audit are the service's."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError, NotFoundError
from lims.core.inputs import parse_id
from lims.core.permissions import Permission
from lims.eqa import external
from lims.eqa import external_panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.eqa.external_forms import (
    MEASURAND_LABELS,
    EvaluationForm,
    MaterialForm,
    RoundForm,
    SchemeForm,
    SubmitForm,
)
from lims.eqa.external_models import (
    ExternalMaterial,
    ExternalMeasurand,
    ExternalRound,
    ExternalRoundStatus,
    ExternalScheme,
)
from lims.eqa.external_queries import material_values
from lims.extensions import db
from lims.monitoring.models import PopulationGroup
from lims.samples.registration import find_cluster, open_rounds

bp = Blueprint("eqa_external", __name__, template_folder="templates")

PageResult = str | Response | tuple[str, int]
#: Rounds listed on the index page: a scheme has three a year, so this is years of history.
ROUND_LIST_LIMIT = 200
STATUS_LABELS: dict[str, Any] = {
    ExternalRoundStatus.OPEN: _l("Open: results not sent"),
    ExternalRoundStatus.SUBMITTED: _l("Results sent"),
    ExternalRoundStatus.EVALUATED: _l("Evaluated"),
}


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "measurand_labels": MEASURAND_LABELS}


def _scheme_form_choices(form: SchemeForm) -> None:
    form.survey_round.choices = [SelectChoice(str(r.id), f"{r.code} · {r.name}")
                                 for r in open_rounds(db.session)]
    form.population_group.choices = [SelectChoice("", _("none (salt)"))] + [
        SelectChoice(str(g.id), g.code) for g in db.session.scalars(
            sa.select(PopulationGroup).order_by(PopulationGroup.sort_order, PopulationGroup.code))]


def _round_form_choices(form: RoundForm) -> None:
    form.scheme.choices = [SelectChoice(str(s.id), f"{s.code} · {s.name}")
                           for s in db.session.scalars(
                               sa.select(ExternalScheme).order_by(ExternalScheme.code))]


def _index(status: int = 200, **forms: Any) -> tuple[str, int]:
    scheme_form = forms.get("scheme_form") or SchemeForm(formdata=None)
    round_form = forms.get("round_form") or RoundForm(formdata=None)
    _scheme_form_choices(scheme_form)
    _round_form_choices(round_form)
    schemes = list(db.session.scalars(sa.select(ExternalScheme).order_by(ExternalScheme.code)))
    rounds = list(db.session.scalars(
        sa.select(ExternalRound).order_by(ExternalRound.received_on.desc(), ExternalRound.id.desc())
        .limit(ROUND_LIST_LIMIT)))
    return render_template("eqa_external/index.html", schemes=schemes, rounds=rounds,
                           scheme_form=scheme_form, round_form=round_form), status


@bp.get("/eqa/external/")
@permission_required(Permission.VIEW_SAMPLES)
def index() -> PageResult:
    return _index()


@bp.post("/eqa/external/schemes")
@permission_required(Permission.MANAGE_REFERENCE)
def scheme_new() -> PageResult:
    form = SchemeForm()
    _scheme_form_choices(form)
    if not form.validate():
        return _index(422, scheme_form=form)
    try:
        survey_round_id = parse_id(form.survey_round.data)
        if survey_round_id is None:
            raise NotFoundError(_("Choose a survey round."), field="survey_round")
        cluster = find_cluster(db.session, survey_round_id, (form.cluster_code.data or "").strip())
        group_id = parse_id(form.population_group.data)
        scheme = external.create_scheme(
            db.session, actor=current_actor(), now=now_utc(), code=form.code.data or "",
            name=form.name.data or "", provider=form.provider.data or "",
            measurand=ExternalMeasurand(form.measurand.data),
            limit_percent=form.limit_percent.data, limit_absolute=form.limit_absolute.data,
            absolute_below=form.absolute_below.data, limit_note=form.limit_note.data or "",
            days=form.days.data or 0, cluster=cluster,
            population_group=db.session.get(PopulationGroup, group_id) if group_id else None)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error, {"cluster_code": "cluster_code"}):
            form.form_errors.append(error.message)
        return _index(error.http_status, scheme_form=form)
    db.session.commit()
    flash(_("Scheme %(code)s saved.", code=scheme.code), "success")
    return redirect(url_for("eqa_external.index"))


@bp.post("/eqa/external/rounds")
@permission_required(Permission.REGISTER_SAMPLES)
def round_new() -> PageResult:
    form = RoundForm()
    _round_form_choices(form)
    if not form.validate():
        return _index(422, round_form=form)
    scheme = db.session.get(ExternalScheme, parse_id(form.scheme.data) or 0)
    if scheme is None:
        form.scheme.errors = [_("Choose a scheme.")]
        return _index(422, round_form=form)
    try:
        item = external.open_round(db.session, actor=current_actor(), now=now_utc(),
                                   scheme=scheme, code=form.code.data or "",
                                   received_on=form.received_on.data, deadline=form.deadline.data)
    except LimsError as error:
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _index(error.http_status, round_form=form)
    db.session.commit()
    flash(_("Round %(code)s opened.", code=item.code), "success")
    return redirect(url_for("eqa_external.round_detail", external_round_id=item.id))


def _load(external_round_id: int) -> ExternalRound:
    item = db.session.get(ExternalRound, external_round_id)
    if item is None:
        raise NotFoundError(_("There is no such round."))
    return item


def _render(item: ExternalRound, status: int = 200, **forms: Any) -> tuple[str, int]:
    forms.setdefault("material_form", MaterialForm(formdata=None))
    forms.setdefault("submit_form", SubmitForm(formdata=None))
    evaluation_forms = forms.pop("evaluation_forms", {})
    materials = material_values(db.session, item.materials)
    return render_template(
        "eqa_external/round.html", round=item, scheme=item.scheme, materials=materials,
        evaluation_forms={m.material.id: evaluation_forms.get(m.material.id)
                          or EvaluationForm(formdata=None, prefix=f"m{m.material.id}")
                          for m in materials},
        events=events_for(db.session, external.ROUND_ENTITY, item.id), **forms), status


@bp.get("/eqa/external/rounds/<int:external_round_id>")
@permission_required(Permission.VIEW_SAMPLES)
def round_detail(external_round_id: int) -> PageResult:
    return _render(_load(external_round_id))


def _refused(item: ExternalRound, name: str, form: Any, error: LimsError) -> tuple[str, int]:
    round_id = item.id
    db.session.rollback()
    if not form.attach_error(error):
        form.form_errors.append(error.message)
    return _render(_load(round_id), error.http_status, **{name: form})


def _done(item: ExternalRound, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("eqa_external.round_detail", external_round_id=item.id))


@bp.post("/eqa/external/rounds/<int:external_round_id>/materials")
@permission_required(Permission.REGISTER_SAMPLES)
def material_new(external_round_id: int) -> PageResult:
    item = _load(external_round_id)
    form = MaterialForm()
    if not form.validate():
        return _render(item, 422, material_form=form)
    try:
        material = external.register_material(db.session, actor=current_actor(), now=now_utc(),
                                              external_round=item, code=form.code.data or "",
                                              notes=form.notes.data or "")
    except LimsError as error:
        return _refused(item, "material_form", form, error)
    return _done(item, _("Material %(code)s registered: receive its samples at the desk.",
                         code=material.code))


@bp.post("/eqa/external/rounds/<int:external_round_id>/submit")
@permission_required(Permission.REVIEW_RESULTS)
def round_submit(external_round_id: int) -> PageResult:
    item = _load(external_round_id)
    form = SubmitForm()
    if not form.validate():
        return _render(item, 422, submit_form=form)
    try:
        external.submit_round(db.session, actor=current_actor(), now=now_utc(),
                              external_round=item)
    except LimsError as error:
        return _refused(item, "submit_form", form, error)
    return _done(item, _("Results of round %(code)s recorded as sent.", code=item.code))


@bp.post("/eqa/external/materials/<int:eqa_material_id>/evaluation")
@permission_required(Permission.REVIEW_RESULTS)
def evaluation_new(eqa_material_id: int) -> PageResult:
    material = db.session.get(ExternalMaterial, eqa_material_id)
    if material is None:
        raise NotFoundError(_("There is no such material."))
    item = material.round
    form = EvaluationForm(prefix=f"m{material.id}")
    if not form.validate():
        return _render(item, 422, evaluation_forms={material.id: form})
    try:
        external.record_evaluation(db.session, actor=current_actor(), now=now_utc(),
                                   material=material, target=form.target.data,
                                   scheme_verdict=form.scheme_verdict.data or "",
                                   reason=form.reason.data or "")
    except LimsError as error:
        round_id, material_id = item.id, material.id
        db.session.rollback()
        if not form.attach_error(error):
            form.form_errors.append(error.message)
        return _render(_load(round_id), error.http_status, evaluation_forms={material_id: form})
    return _done(item, _("Target for %(code)s recorded.", code=material.code))
