"""Operations on reference data and on the survey structure.

Every function checks its rules, writes the audit event in the same transaction, flushes and
never commits: the view or CLI command that called it commits once. Errors name the service
field they concern (``LimsError.field``) so a form can show them next to the right input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lims.audit.service import apply_changes, record_event
from lims.core.errors import ConflictError, InvalidTransition, NotFoundError, ValidationError
from lims.core.inputs import require_code, require_finite, require_int, require_text
from lims.core.labels import label
from lims.monitoring.models import (
    Cluster,
    District,
    PopulationGroup,
    Programme,
    Region,
    RoundStatus,
    SampleKindRef,
    SiteType,
    StratumPopulation,
    SurveyRound,
)
from lims.samples.models import SampleKind

if TYPE_CHECKING:
    from lims.auth.models import User

NAME_FIELDS = ("name_en", "name_kk", "name_ru")
MAX_AGE_MONTHS = 1500
#: No sample kind needs more than a litre (the column holds less than 10^6 mL).
MAX_MIN_VOLUME_ML = 1000

# The survey round's own small state machine: a round is planned, then collects, then closes.
ROUND_TRANSITIONS: dict[RoundStatus, frozenset[RoundStatus]] = {
    RoundStatus.PLANNED: frozenset({RoundStatus.ACTIVE}),
    RoundStatus.ACTIVE: frozenset({RoundStatus.CLOSED}),
    RoundStatus.CLOSED: frozenset(),
}


# ---------------------------------------------------------------------------------------------
# Shared checks


#: How the text fields the services require are named in their messages (the forms' labels).
FIELD_LABELS: dict[str, Any] = {
    "name_en": _l("Name (English)"),
    "name_kk": _l("Name (Kazakh)"),
    "name_ru": _l("Name (Russian)"),
    "code": _l("Code"),
    "name": _l("Name"),
}


def _require_text(values: Mapping[str, Any], *fields: str) -> None:
    for name in fields:
        if not (values.get(name) or "").strip():
            raise ValidationError(_("%(field)s: this field is required.",
                                    field=FIELD_LABELS.get(name, name)), field=name)
        if name == "code":
            require_code(values[name], field=name)
        else:
            require_text(values[name], field=name)


def _check_validity(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValidationError(_("The end of validity (%(to)s) is before its start (%(start)s).",
                                to=format_date(valid_to), start=format_date(valid_from)),
                              field="valid_to")


def _audit_update(session: Session, *, actor: User | None, now: datetime, action: str,
                  entity_type: str, entity_id: int, label: str,
                  changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Write an update event only when something changed; flush either way."""
    if changes:
        record_event(session, actor=actor, now=now, action=action, entity_type=entity_type,
                     entity_id=entity_id, entity_label=label, changes=changes)
    session.flush()
    return changes


def _created(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: {"before": None, "after": value} for key, value in values.items()
            if value is not None and value != ""}


# ---------------------------------------------------------------------------------------------
# Reference data


def update_region(session: Session, *, actor: User | None, now: datetime, region: Region,
                  name_en: str, name_kk: str, name_ru: str, admin_centre: str | None,
                  valid_from: date | None, valid_to: date | None) -> dict[str, dict[str, Any]]:
    """Rename a region or change its centre or validity; returns the audited changes."""
    values = {"name_en": name_en, "name_kk": name_kk, "name_ru": name_ru,
              "admin_centre": admin_centre or None, "valid_from": valid_from,
              "valid_to": valid_to}
    _require_text(values, *NAME_FIELDS)
    _check_validity(valid_from, valid_to)
    changes = apply_changes(region, values)
    return _audit_update(session, actor=actor, now=now, action="region_updated",
                         entity_type="region", entity_id=region.id, label=region.iso_code,
                         changes=changes)


def _check_district_code(session: Session, region: Region, code: str,
                         district_id: int | None = None) -> None:
    if not code:
        raise ValidationError(_("%(field)s: this field is required.", field=FIELD_LABELS["code"]),
                              field="code")
    clash = session.scalar(sa.select(District.id).where(District.region_id == region.id,
                                                        District.code == code))
    if clash is not None and clash != district_id:
        raise ConflictError(_("District code %(code)s already exists in region %(region)s.",
                              code=code, region=region.iso_code), field="code")


def create_district(session: Session, *, actor: User | None, now: datetime, region: Region,
                    code: str, name_en: str, name_kk: str, name_ru: str,
                    valid_from: date | None = None, valid_to: date | None = None) -> District:
    values = {"code": code, "name_en": name_en, "name_kk": name_kk, "name_ru": name_ru,
              "valid_from": valid_from, "valid_to": valid_to}
    _require_text(values, *NAME_FIELDS)
    _check_validity(valid_from, valid_to)
    _check_district_code(session, region, code)
    district = District(region_id=region.id, **values)
    session.add(district)
    session.flush()
    record_event(session, actor=actor, now=now, action="district_created", entity_type="district",
                 entity_id=district.id, entity_label=f"{region.iso_code}/{code}",
                 changes=_created(values))
    session.flush()
    return district


def update_district(session: Session, *, actor: User | None, now: datetime, district: District,
                    code: str, name_en: str, name_kk: str, name_ru: str,
                    valid_from: date | None, valid_to: date | None) -> dict[str, dict[str, Any]]:
    values = {"code": code, "name_en": name_en, "name_kk": name_kk, "name_ru": name_ru,
              "valid_from": valid_from, "valid_to": valid_to}
    _require_text(values, *NAME_FIELDS)
    _check_validity(valid_from, valid_to)
    _check_district_code(session, district.region, code, district.id)
    changes = apply_changes(district, values)
    return _audit_update(session, actor=actor, now=now, action="district_updated",
                         entity_type="district", entity_id=district.id,
                         label=f"{district.region.iso_code}/{district.code}", changes=changes)


def update_population_group(session: Session, *, actor: User | None, now: datetime,
                            group: PopulationGroup, name_en: str, name_kk: str, name_ru: str,
                            min_age_months: int | None, max_age_months: int | None,
                            ) -> dict[str, dict[str, Any]]:
    values = {"name_en": name_en, "name_kk": name_kk, "name_ru": name_ru,
              "min_age_months": min_age_months, "max_age_months": max_age_months}
    _require_text(values, *NAME_FIELDS)
    for name in ("min_age_months", "max_age_months"):
        value = values[name]
        if value is not None and not 0 <= value <= MAX_AGE_MONTHS:
            raise ValidationError(_("The age must be between 0 and %(max)d months.",
                                    max=MAX_AGE_MONTHS), field=name)
    if min_age_months is not None and max_age_months is not None and max_age_months < min_age_months:
        raise ValidationError(_("The maximum age is below the minimum age."), field="max_age_months")
    changes = apply_changes(group, values)
    return _audit_update(session, actor=actor, now=now, action="population_group_updated",
                         entity_type="population_group", entity_id=group.id, label=group.code,
                         changes=changes)


def sample_kind_entity_id(code: str) -> int:
    """Sample kinds are keyed by code; the audit trail wants an integer, so use the kind's
    1-based position in ``SampleKind`` (stable: kinds are an enum, not user-created)."""
    return [kind.value for kind in SampleKind].index(code) + 1


def update_sample_kind(session: Session, *, actor: User | None, now: datetime, kind: SampleKindRef,
                       name_en: str, name_kk: str, name_ru: str, min_volume_ml: Decimal | None,
                       max_age_days: int | None) -> dict[str, dict[str, Any]]:
    """Change a kind's names and pre-analytical limits (receipt reads them; domain.md §1.8)."""
    values = {"name_en": name_en, "name_kk": name_kk, "name_ru": name_ru,
              "min_volume_ml": min_volume_ml, "max_age_days": max_age_days}
    _require_text(values, *NAME_FIELDS)
    require_finite(min_volume_ml, field="min_volume_ml")
    if min_volume_ml is not None and min_volume_ml < 0:
        raise ValidationError(_("The minimum volume cannot be negative."), field="min_volume_ml")
    if min_volume_ml is not None and min_volume_ml > MAX_MIN_VOLUME_ML:
        raise ValidationError(_("The minimum volume can be at most %(max)s mL.",
                                max=MAX_MIN_VOLUME_ML), field="min_volume_ml")
    if max_age_days is not None and max_age_days < 0:
        raise ValidationError(_("The maximum age cannot be negative."), field="max_age_days")
    changes = apply_changes(kind, values)
    return _audit_update(session, actor=actor, now=now, action="sample_kind_updated",
                         entity_type="sample_kind", entity_id=sample_kind_entity_id(kind.code),
                         label=kind.code, changes=changes)


# ---------------------------------------------------------------------------------------------
# Survey structure


def create_programme(session: Session, *, actor: User | None, now: datetime, code: str, name: str,
                     description: str | None = None) -> Programme:
    _require_text({"code": code, "name": name}, "code", "name")
    if session.scalar(sa.select(Programme.id).where(Programme.code == code)) is not None:
        raise ConflictError(_("A programme with code %(code)s already exists.", code=code),
                            field="code")
    programme = Programme(code=code, name=name, description=description or None, created_at=now)
    session.add(programme)
    session.flush()
    record_event(session, actor=actor, now=now, action="programme_created", entity_type="programme",
                 entity_id=programme.id, entity_label=code,
                 changes=_created({"code": code, "name": name, "description": description}))
    session.flush()
    return programme


def _load_all(session: Session, model: type[Region | PopulationGroup], ids: Sequence[int]
              ) -> tuple[list[Any], str]:
    """The rows for ``ids`` in the given order, and the unknown ids (joined) for the caller's
    message (each kind has its own sentence: the noun is declined differently)."""
    wanted = list(dict.fromkeys(ids))
    found = {row.id: row for row in session.scalars(sa.select(model).where(model.id.in_(wanted)))}
    unknown = ", ".join(str(i) for i in wanted if i not in found)
    return [found[i] for i in wanted if i in found], unknown


def regions_by_code(session: Session, codes: Sequence[str]) -> list[Region]:
    """Regions named by ISO code (new or pre-2024), for the CLI and files; unknown codes fail."""
    rows = session.scalars(sa.select(Region).where(
        sa.or_(Region.iso_code.in_(codes), Region.iso_code_before_2024.in_(codes))))
    by_code: dict[str, Region] = {}
    for region in rows:
        by_code[region.iso_code] = region
        if region.iso_code_before_2024:
            by_code[region.iso_code_before_2024] = region
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValidationError(_("Unknown region: %(codes)s.", codes=", ".join(unknown)),
                              field="regions")
    return [by_code[c] for c in codes]


def create_round(session: Session, *, actor: User | None, now: datetime, programme_id: int,
                 code: str, name: str, period_start: date, period_end: date,
                 region_ids: Sequence[int], group_ids: Sequence[int]) -> SurveyRound:
    """A planned survey round of a programme over a period, regions and population groups."""
    _require_text({"code": code, "name": name}, "code", "name")
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFoundError(_("Unknown programme."), field="programme_id")
    if period_end < period_start:
        raise ValidationError(_("The period ends (%(end)s) before it starts (%(start)s).",
                                end=format_date(period_end), start=format_date(period_start)),
                              field="period_end")
    if session.scalar(sa.select(SurveyRound.id).where(SurveyRound.code == code)) is not None:
        raise ConflictError(_("A survey round with code %(code)s already exists.", code=code),
                            field="code")
    if not region_ids:
        raise ValidationError(_("Choose at least one region."), field="regions")
    regions, unknown = _load_all(session, Region, region_ids)
    if unknown:
        raise ValidationError(_("Unknown regions: %(ids)s.", ids=unknown), field="regions")
    if not group_ids:
        raise ValidationError(_("Choose at least one population group."), field="groups")
    groups, unknown = _load_all(session, PopulationGroup, group_ids)
    if unknown:
        raise ValidationError(_("Unknown population groups: %(ids)s.", ids=unknown), field="groups")
    survey_round = SurveyRound(programme_id=programme.id, code=code, name=name,
                               period_start=period_start, period_end=period_end,
                               status=RoundStatus.PLANNED, created_at=now)
    survey_round.regions = regions
    survey_round.groups = groups
    session.add(survey_round)
    session.flush()
    record_event(session, actor=actor, now=now, action="round_created", entity_type="survey_round",
                 entity_id=survey_round.id, entity_label=code,
                 changes=_created({"programme": programme.code, "name": name,
                                   "period_start": period_start, "period_end": period_end,
                                   "status": RoundStatus.PLANNED,
                                   "regions": [r.iso_code for r in regions],
                                   "groups": [g.code for g in groups]}))
    session.flush()
    return survey_round


def next_round_statuses(status: RoundStatus) -> list[RoundStatus]:
    return sorted(ROUND_TRANSITIONS[status])


def change_round_status(session: Session, *, actor: User | None, now: datetime,
                        survey_round: SurveyRound, status: RoundStatus | str) -> None:
    """Planned → active → closed, and nothing else."""
    target = RoundStatus(status)
    if target not in ROUND_TRANSITIONS[survey_round.status]:
        allowed = ", ".join(label(s) for s in next_round_statuses(survey_round.status)) or "—"
        raise InvalidTransition(_("Survey round %(code)s is “%(now)s” and cannot become “%(target)s”"
                                  " (allowed: %(allowed)s).", code=survey_round.code,
                                  now=label(survey_round.status), target=label(target),
                                  allowed=allowed), field="status")
    changes = apply_changes(survey_round, {"status": target})
    record_event(session, actor=actor, now=now, action="round_status_changed",
                 entity_type="survey_round", entity_id=survey_round.id,
                 entity_label=survey_round.code, changes=changes)
    session.flush()


#: Bounds of a cluster's design weight (1 / selection probability): a weight outside them is a
#: typing error, not a design.
DESIGN_WEIGHT_RANGE = (1e-6, 1e9)
#: Largest population of a stratum the reference table accepts.
MAX_POPULATION = 10**10


def _check_design(stratum: str | None, design_weight: float | None) -> None:
    if stratum is not None and not 0 < len(stratum) <= 32:
        raise ValidationError(_("The stratum must have 1 to 32 characters."), field="stratum")
    if design_weight is not None and not (
            math.isfinite(design_weight)
            and DESIGN_WEIGHT_RANGE[0] <= design_weight <= DESIGN_WEIGHT_RANGE[1]):
        raise ValidationError(_("The design weight must be a number between %(low)s and %(high)s.",
                                low=DESIGN_WEIGHT_RANGE[0], high=f"{DESIGN_WEIGHT_RANGE[1]:g}"),
                              field="design_weight")


def create_cluster(session: Session, *, actor: User | None, now: datetime,
                   survey_round: SurveyRound, code: str, name: str, site_type: SiteType | str,
                   district_id: int, target_count: int, latitude: float | None = None,
                   longitude: float | None = None, stratum: str | None = None,
                   design_weight: float | None = None) -> Cluster:
    """A school, settlement or clinic of a round, in a district of one of the round's regions;
    optionally in a design stratum of the region and with a design weight (None: the round
    is self-weighting, which the report states as an assumption)."""
    _require_text({"code": code, "name": name}, "code", "name")
    _check_design(stratum, design_weight)
    if survey_round.status == RoundStatus.CLOSED:
        raise ConflictError(_("Survey round %(code)s is closed.", code=survey_round.code),
                            field="round")
    try:
        site = SiteType(site_type)
    except ValueError:
        raise ValidationError(_("Unknown site type %(value)s.", value=site_type),
                              field="site_type") from None
    require_int(target_count, field="target_count")
    if target_count < 0:
        raise ValidationError(_("The target count cannot be negative."), field="target_count")
    if latitude is not None and not -90 <= latitude <= 90:
        raise ValidationError(_("The latitude must be between -90 and 90."), field="latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ValidationError(_("The longitude must be between -180 and 180."), field="longitude")
    district = session.get(District, district_id)
    if district is None:
        raise ValidationError(_("Unknown district."), field="district_id")
    if district.region_id not in {r.id for r in survey_round.regions}:
        raise ValidationError(_("District %(district)s is in region %(region)s, which is not"
                                " surveyed in round %(round)s.", district=district.code,
                                region=district.region.iso_code, round=survey_round.code),
                              field="district_id")
    clash = session.scalar(sa.select(Cluster.id).where(Cluster.round_id == survey_round.id,
                                                       Cluster.code == code))
    if clash is not None:
        raise ConflictError(_("Cluster code %(code)s already exists in round %(round)s.",
                              code=code, round=survey_round.code), field="code")
    cluster = Cluster(round_id=survey_round.id, district_id=district.id,
                      region_id=district.region_id, code=code, name=name, site_type=site,
                      target_count=target_count, latitude=latitude, longitude=longitude,
                      stratum=stratum, design_weight=design_weight)
    session.add(cluster)
    session.flush()
    record_event(session, actor=actor, now=now, action="cluster_created", entity_type="cluster",
                 entity_id=cluster.id, entity_label=f"{survey_round.code}/{code}",
                 changes=_created({"name": name, "site_type": site, "district": district.code,
                                   "region": district.region.iso_code,
                                   "target_count": target_count, "latitude": latitude,
                                   "longitude": longitude, "stratum": stratum,
                                   "design_weight": design_weight}))
    session.flush()
    return cluster


def set_stratum_population(session: Session, *, actor: User | None, now: datetime,
                           survey_round: SurveyRound, region: Region, population: int,
                           source: str, year: int, stratum: str = "") -> StratumPopulation:
    """Record (or correct) the population of a stratum of a round — the whole region when
    ``stratum`` is "" — with its source and reference year. Pooled estimates weight strata by
    these figures when every stratum of the round has one."""
    _require_text({"source": source}, "source")
    if stratum:
        _check_design(stratum, None)
    if isinstance(population, bool) or not 0 < population <= MAX_POPULATION:
        raise ValidationError(_("The population must be a whole number between 1 and %(max)s.",
                                max=f"{MAX_POPULATION:,}"), field="population")
    if not 1900 <= year <= 2100:
        raise ValidationError(_("The reference year must be between 1900 and 2100."), field="year")
    if region.id not in {r.id for r in survey_round.regions}:
        raise ValidationError(_("Region %(region)s is not surveyed in round %(round)s.",
                                region=region.iso_code, round=survey_round.code), field="region")
    row = session.scalar(sa.select(StratumPopulation).where(
        StratumPopulation.round_id == survey_round.id, StratumPopulation.region_id == region.id,
        StratumPopulation.stratum == stratum))
    values = {"population": population, "source": source[:200], "year": year}
    if row is None:
        row = StratumPopulation(round_id=survey_round.id, region_id=region.id, stratum=stratum,
                                **values)
        session.add(row)
        session.flush()
        changes = _created(values)
    else:
        changes = apply_changes(row, values)
    if changes:
        record_event(session, actor=actor, now=now, action="stratum_population_set",
                     entity_type="survey_round", entity_id=survey_round.id,
                     entity_label=f"{survey_round.code}/{region.iso_code}"
                                  + (f"/{stratum}" if stratum else ""),
                     changes=changes)
    session.flush()
    return row
