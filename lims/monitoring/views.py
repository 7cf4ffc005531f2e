"""Pages for reference data (admins), the survey structure (survey managers) and coverage
(lab staff and the ministry). Thin: form → service → commit → flash + redirect."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lims.audit.service import events_for
from lims.auth.security import current_actor, permission_required
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.inputs import query_id
from lims.core.labels import label
from lims.core.listing import EXPORT, cell, export_table
from lims.core.permissions import Permission
from lims.extensions import db
from lims.monitoring import coverage as coverage_queries
from lims.monitoring import services
from lims.monitoring.forms import (
    ClusterForm,
    DistrictForm,
    PopulationGroupEditForm,
    ProgrammeForm,
    RegionEditForm,
    RoundForm,
    SampleKindEditForm,
)
from lims.monitoring.models import (
    Cluster,
    District,
    Household,
    Participant,
    PopulationGroup,
    Programme,
    Region,
    RegionLineage,
    RoundStatus,
    SampleKindRef,
    SurveyRound,
)
from lims.samples.models import Sample

bp = Blueprint("monitoring", __name__, template_folder="templates")

PARTICIPANTS_PER_PAGE = 100
NAME_FIELDS = ("name_en", "name_kk", "name_ru")
#: The fields of reference-data and survey audit events, as their timelines name them.
AUDIT_FIELDS: dict[str, Any] = {
    **services.FIELD_LABELS,
    "admin_centre": _l("Administrative centre"), "valid_from": _l("Valid from"),
    "valid_to": _l("Valid to"), "min_age_months": _l("Minimum age (months)"),
    "max_age_months": _l("Maximum age (months)"), "min_volume_ml": _l("Minimum volume (mL)"),
    "max_age_days": _l("Maximum age at receipt (days)"), "description": _l("Description"),
    "programme": _l("Programme"), "period_start": _l("Period start"),
    "period_end": _l("Period end"), "status": _l("Status"), "regions": _l("Regions"),
    "groups": _l("Target groups"), "site_type": _l("Site type"), "district": _l("District"),
    "region": _l("Region"), "target_count": _l("Target count"), "latitude": _l("Latitude"),
    "longitude": _l("Longitude"), "stratum": _l("Stratum"), "design_weight": _l("Design weight"),
    "population": _l("Population"), "source": _l("Source"), "year": _l("Reference year"),
}


@bp.context_processor
def monitoring_helpers() -> dict[str, Any]:
    return {"audit_fields": AUDIT_FIELDS}


def locale() -> str:
    return str(get_locale())


def get_or_404(model: type[Any], key: object) -> Any:
    obj = db.session.get(model, key)
    if obj is None:
        abort(404)
    return obj


def submit(form: FlaskForm, action: Callable[[], object]) -> bool:
    """Run ``action`` (a service call) for a valid POST and commit; on a rule violation roll
    back and show the message on the field it names (or as a flash when it names none)."""
    if not form.validate_on_submit():
        return False
    try:
        action()
    except LimsError as error:
        db.session.rollback()
        field = getattr(form, error.field, None) if error.field else None
        if field is not None:
            field.errors = [*field.errors, error.message]
        else:
            flash(error.message, "error")
        return False
    db.session.commit()
    return True


def fields(form: FlaskForm, *names: str) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in names}


def render_form(form: FlaskForm, *, title: str, back: str, history: list[Any] | None = None,
                intro: str | None = None) -> str:
    return render_template("monitoring/form.html", form=form, title=title, back=back,
                           history=history or [], intro=intro)


# ---------------------------------------------------------------------------------------------
# Reference data


@bp.get("/reference")
@permission_required(Permission.MANAGE_REFERENCE)
def reference() -> str:
    regions = db.session.scalars(sa.select(Region).order_by(Region.iso_code)).all()
    lineage: dict[int, list[RegionLineage]] = defaultdict(list)
    for row in db.session.scalars(sa.select(RegionLineage).order_by(RegionLineage.id)):
        lineage[row.region_id].append(row)
    district_counts = dict(db.session.execute(
        sa.select(District.region_id, sa.func.count()).group_by(District.region_id)).all())
    return render_template("monitoring/regions.html", regions=regions, lineage=lineage,
                           district_counts=district_counts, locale=locale())


@bp.route("/reference/regions/<int:region_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def region_edit(region_id: int) -> str | Response:
    region = get_or_404(Region, region_id)
    form = RegionEditForm(obj=region)
    if submit(form, lambda: services.update_region(
            db.session, actor=current_actor(), now=now_utc(), region=region,
            **fields(form, *NAME_FIELDS, "admin_centre", "valid_from", "valid_to"))):
        flash(_("Region %(code)s saved.", code=region.iso_code), "success")
        return redirect(url_for(".reference"))
    return render_form(form, title=_("Edit region %(code)s", code=region.iso_code),
                       back=url_for(".reference"),
                       history=events_for(db.session, "region", region.id))


@bp.route("/reference/regions/<int:region_id>/districts", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def districts(region_id: int) -> str | Response:
    region = get_or_404(Region, region_id)
    form = DistrictForm()
    if submit(form, lambda: services.create_district(
            db.session, actor=current_actor(), now=now_utc(), region=region,
            **fields(form, "code", *NAME_FIELDS, "valid_from", "valid_to"))):
        flash(_("District %(code)s added.", code=form.code.data), "success")
        return redirect(url_for(".districts", region_id=region.id))
    rows = db.session.scalars(sa.select(District).where(District.region_id == region.id)
                              .order_by(District.code)).all()
    return render_template("monitoring/districts.html", region=region, districts=rows, form=form,
                           locale=locale())


@bp.route("/reference/districts/<int:district_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def district_edit(district_id: int) -> str | Response:
    district = get_or_404(District, district_id)
    form = DistrictForm(obj=district)
    if submit(form, lambda: services.update_district(
            db.session, actor=current_actor(), now=now_utc(), district=district,
            **fields(form, "code", *NAME_FIELDS, "valid_from", "valid_to"))):
        flash(_("District %(code)s saved.", code=district.code), "success")
        return redirect(url_for(".districts", region_id=district.region_id))
    return render_form(form, title=_("Edit district %(code)s", code=district.code),
                       back=url_for(".districts", region_id=district.region_id),
                       history=events_for(db.session, "district", district.id))


@bp.get("/reference/groups")
@permission_required(Permission.MANAGE_REFERENCE)
def groups() -> str:
    rows = db.session.scalars(sa.select(PopulationGroup).order_by(PopulationGroup.sort_order,
                                                                  PopulationGroup.id)).all()
    return render_template("monitoring/groups.html", groups=rows, locale=locale())


@bp.route("/reference/groups/<int:group_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def group_edit(group_id: int) -> str | Response:
    group = get_or_404(PopulationGroup, group_id)
    form = PopulationGroupEditForm(obj=group)
    if submit(form, lambda: services.update_population_group(
            db.session, actor=current_actor(), now=now_utc(), group=group,
            **fields(form, *NAME_FIELDS, "min_age_months", "max_age_months"))):
        flash(_("Population group %(code)s saved.", code=group.code), "success")
        return redirect(url_for(".groups"))
    return render_form(form, title=_("Edit population group %(code)s", code=group.code),
                       back=url_for(".groups"),
                       history=events_for(db.session, "population_group", group.id))


@bp.get("/reference/sample-kinds")
@permission_required(Permission.MANAGE_REFERENCE)
def sample_kinds() -> str:
    rows = db.session.scalars(sa.select(SampleKindRef).order_by(SampleKindRef.code)).all()
    return render_template("monitoring/sample_kinds.html", kinds=rows, locale=locale())


@bp.route("/reference/sample-kinds/<code>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_REFERENCE)
def sample_kind_edit(code: str) -> str | Response:
    kind = get_or_404(SampleKindRef, code)
    form = SampleKindEditForm(obj=kind)
    if submit(form, lambda: services.update_sample_kind(
            db.session, actor=current_actor(), now=now_utc(), kind=kind,
            **fields(form, *NAME_FIELDS, "min_volume_ml", "max_age_days"))):
        flash(_("Sample kind %(code)s saved.", code=kind.code), "success")
        return redirect(url_for(".sample_kinds"))
    history = events_for(db.session, "sample_kind", services.sample_kind_entity_id(kind.code))
    return render_form(form, title=_("Edit sample kind %(code)s", code=kind.code),
                       back=url_for(".sample_kinds"), history=history)


# ---------------------------------------------------------------------------------------------
# Survey structure


@bp.get("/surveys")
@permission_required(Permission.MANAGE_SURVEYS)
def surveys() -> str:
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.code)).all()
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.period_start.desc(),
                                                                SurveyRound.id.desc())).all()
    cluster_counts = dict(db.session.execute(
        sa.select(Cluster.round_id, sa.func.count()).group_by(Cluster.round_id)).all())
    return render_template("monitoring/surveys.html", programmes=programmes, rounds=rounds,
                           cluster_counts=cluster_counts)


@bp.route("/surveys/programmes/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_SURVEYS)
def programme_new() -> str | Response:
    form = ProgrammeForm()
    if submit(form, lambda: services.create_programme(
            db.session, actor=current_actor(), now=now_utc(),
            **fields(form, "code", "name", "description"))):
        flash(_("Programme %(code)s created.", code=form.code.data), "success")
        return redirect(url_for(".surveys"))
    return render_form(form, title=_("New programme"), back=url_for(".surveys"))


@bp.route("/surveys/rounds/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_SURVEYS)
def round_new() -> str | Response:
    form = RoundForm()
    form.programme_id.choices = [(p.id, f"{p.code} · {p.name}") for p in
                                 db.session.scalars(sa.select(Programme).order_by(Programme.code))]
    lang = locale()
    form.regions.choices = [(r.id, f"{r.iso_code} · {r.name(lang)}") for r in db.session.scalars(
        sa.select(Region).where(Region.valid_to.is_(None)).order_by(Region.iso_code))]
    form.groups.choices = [(g.id, f"{g.code} · {g.name(lang)}") for g in db.session.scalars(
        sa.select(PopulationGroup).order_by(PopulationGroup.sort_order))]
    if request.method == "GET" and "programme" in request.args:
        form.programme_id.data = query_id(request.args, "programme")
    created: list[SurveyRound] = []

    def create() -> None:
        created.append(services.create_round(
            db.session, actor=current_actor(), now=now_utc(),
            region_ids=form.regions.data, group_ids=form.groups.data,
            **fields(form, "programme_id", "code", "name", "period_start", "period_end")))

    if submit(form, create):
        flash(_("Survey round %(code)s created.", code=created[0].code), "success")
        return redirect(url_for(".round_detail", round_id=created[0].id))
    return render_form(form, title=_("New survey round"), back=url_for(".surveys"))


@bp.get("/surveys/rounds/<int:round_id>")
@permission_required(Permission.MANAGE_SURVEYS)
def round_detail(round_id: int) -> str:
    survey_round = get_or_404(SurveyRound, round_id)
    clusters = db.session.execute(
        sa.select(Cluster, District.code.label("district"))
        .join(District, District.id == Cluster.district_id)
        .where(Cluster.round_id == round_id).order_by(Cluster.code)).all()
    return render_template("monitoring/round.html", survey_round=survey_round, clusters=clusters,
                           next_statuses=services.next_round_statuses(survey_round.status),
                           history=events_for(db.session, "survey_round", round_id),
                           locale=locale())


@bp.post("/surveys/rounds/<int:round_id>/status")
@permission_required(Permission.MANAGE_SURVEYS)
def round_status(round_id: int) -> Response:
    survey_round = get_or_404(SurveyRound, round_id)
    try:
        services.change_round_status(db.session, actor=current_actor(), now=now_utc(),
                                     survey_round=survey_round,
                                     status=RoundStatus(request.form.get("status", "")))
    except ValueError:
        flash(_("Unknown status."), "error")
    except LimsError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Survey round %(code)s is now “%(status)s”.", code=survey_round.code,
                status=label(survey_round.status)), "success")
    return redirect(url_for(".round_detail", round_id=round_id))


@bp.route("/surveys/rounds/<int:round_id>/clusters/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_SURVEYS)
def cluster_new(round_id: int) -> str | Response:
    survey_round = get_or_404(SurveyRound, round_id)
    form = ClusterForm()
    lang = locale()
    region_ids = [r.id for r in survey_round.regions]
    form.district_id.choices = [
        (d.id, f"{r.iso_code} · {d.code} · {d.name(lang)}")
        for d, r in db.session.execute(
            sa.select(District, Region).join(Region, Region.id == District.region_id)
            .where(District.region_id.in_(region_ids)).order_by(Region.iso_code, District.code))
    ]
    created: list[Cluster] = []

    def create() -> None:
        created.append(services.create_cluster(
            db.session, actor=current_actor(), now=now_utc(), survey_round=survey_round,
            **fields(form, "code", "name", "site_type", "district_id", "target_count",
                     "latitude", "longitude")))

    if submit(form, create):
        flash(_("Cluster %(code)s created.", code=created[0].code), "success")
        return redirect(url_for(".cluster_detail", cluster_id=created[0].id))
    return render_form(form, title=_("New cluster in %(code)s", code=survey_round.code),
                       back=url_for(".round_detail", round_id=round_id),
                       intro=None if form.district_id.choices else
                       _("The round's regions have no districts yet: add them under Reference data."))


@bp.get("/surveys/clusters/<int:cluster_id>")
@permission_required(Permission.MANAGE_SURVEYS)
def cluster_detail(cluster_id: int) -> str:
    """The cluster's participants by code (never names), a page at a time by id."""
    cluster = get_or_404(Cluster, cluster_id)
    after = query_id(request.args, "after") or 0
    participants = db.session.execute(
        sa.select(Participant, Household.code.label("household"), PopulationGroup.code.label("group"))
        .outerjoin(Household, Household.id == Participant.household_id)
        .join(PopulationGroup, PopulationGroup.id == Participant.population_group_id)
        .where(Participant.cluster_id == cluster_id, Participant.id > after)
        .order_by(Participant.id).limit(PARTICIPANTS_PER_PAGE + 1)).all()
    has_next = len(participants) > PARTICIPANTS_PER_PAGE
    participants = participants[:PARTICIPANTS_PER_PAGE]
    counts = {
        "households": db.session.scalar(sa.select(sa.func.count()).select_from(Household)
                                        .where(Household.cluster_id == cluster_id)),
        "participants": db.session.scalar(sa.select(sa.func.count()).select_from(Participant)
                                          .where(Participant.cluster_id == cluster_id)),
    }
    samples_by_kind = dict(db.session.execute(
        sa.select(Sample.kind, sa.func.count()).where(Sample.cluster_id == cluster_id)
        .group_by(Sample.kind)).all())
    next_url = (url_for(".cluster_detail", cluster_id=cluster_id, after=participants[-1][0].id)
                if has_next else None)
    return render_template("monitoring/cluster.html", cluster=cluster, participants=participants,
                           counts=counts, samples_by_kind=samples_by_kind, next_url=next_url,
                           first_page=after == 0, locale=locale())


# ---------------------------------------------------------------------------------------------
# Coverage


@bp.get("/coverage")
@permission_required(Permission.VIEW_SAMPLES, Permission.VIEW_REPORTS)
def coverage() -> str | Response:
    """Collected and received against target, per region and cluster, for one round; with
    ``export=csv|xlsx`` the same table as a file (audited)."""
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.period_start.desc(),
                                                                SurveyRound.id.desc())).all()
    round_id = query_id(request.args, "round")
    survey_round = (next((r for r in rounds if r.id == round_id), None) if round_id
                    else coverage_queries.default_round(db.session))
    if round_id and survey_round is None:
        abort(404)
    data = (coverage_queries.round_coverage(db.session, survey_round, locale())
            if survey_round is not None else None)
    fmt = request.args.get(EXPORT)
    if fmt is not None:
        if data is None:
            abort(404)
        columns = coverage_queries.COVERAGE_COLUMNS
        rows = [[cell(c, v) for c, v in zip(columns, raw, strict=True)]
                for raw in coverage_queries.coverage_rows(data, locale())]
        return export_table(db.session, name="coverage", title=str(_("Survey coverage")),
                            columns=columns, rows=rows, total=len(rows), fmt=fmt.strip(),
                            actor=current_actor(), now=now_utc(),
                            filters={"round": data.survey_round.code})
    return render_template("monitoring/coverage.html", rounds=rounds, data=data,
                           locale=locale())
