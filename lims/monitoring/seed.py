"""Reference data: the 20 first-level units of Kazakhstan (from the packaged CSV), population
groups and sample kinds. Idempotent: rows that exist (by code) are left as admins edited them."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.monitoring.models import (
    LineageRelation,
    PopulationGroup,
    Region,
    RegionKind,
    RegionLineage,
    SampleKindRef,
)


@dataclass(frozen=True)
class GroupSeed:
    code: str
    name_en: str
    name_kk: str
    name_ru: str
    min_age_months: int | None
    max_age_months: int | None


POPULATION_GROUPS: tuple[GroupSeed, ...] = (
    GroupSeed("SAC", "School-age children (6–12 years)", "Мектеп жасындағы балалар (6–12 жас)",
              "Дети школьного возраста (6–12 лет)", 72, 155),
    GroupSeed("PW", "Pregnant women", "Жүкті әйелдер", "Беременные женщины", 144, 660),
    GroupSeed("LW", "Lactating women", "Бала емізетін әйелдер", "Кормящие женщины", 144, 660),
    GroupSeed("WRA", "Non-pregnant women of reproductive age (15–49 years)",
              "Ұрпақ өрбіту жасындағы жүкті емес әйелдер (15–49 жас)",
              "Небеременные женщины репродуктивного возраста (15–49 лет)", 180, 599),
    GroupSeed("U2", "Children under 2 years", "2 жасқа дейінгі балалар", "Дети до 2 лет", 0, 23),
    GroupSeed("C6-59", "Children 6–59 months", "6–59 айлық балалар", "Дети 6–59 месяцев", 6, 59),
    GroupSeed("ADULT", "Adults (18 years and over)", "Ересектер (18 жас және одан жоғары)",
              "Взрослые (18 лет и старше)", 216, None),
)

_SPLIT = re.compile(r"split from (KZ-[0-9A-Z]+)")
_RENAMED = re.compile(r"renamed from .*?\((KZ-[0-9A-Z]+)\)(?: on (\d{4}-\d{2}-\d{2}))?")
_FORMERLY = re.compile(r"since (\d{4}-\d{2}-\d{2}), formerly in South Kazakhstan Region")


def parse_lineage(text: str, valid_from: date | None) -> tuple[LineageRelation, str, date | None] | None:
    """Read the CSV's lineage sentence into (relation, predecessor ISO code, effective date)."""
    if m := _SPLIT.search(text):
        return LineageRelation.SPLIT_FROM, m.group(1), valid_from
    if m := _RENAMED.search(text):
        when = date.fromisoformat(m.group(2)) if m.group(2) else valid_from
        return LineageRelation.RENAMED_FROM, m.group(1), when
    if m := _FORMERLY.search(text):
        return LineageRelation.SEPARATED_FROM, "KZ-YUZ", date.fromisoformat(m.group(1))
    return None


def read_region_rows() -> list[dict[str, str]]:
    with resources.files("lims.data").joinpath("kz-regions.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def seed_reference_data(session: Session, *, now: datetime) -> dict[str, int]:
    added = {"regions": 0, "lineage": 0, "population groups": 0, "sample kinds": 0}
    existing = set(session.scalars(sa.select(Region.iso_code)))
    for row in read_region_rows():
        if row["iso_code"] in existing:
            continue
        valid_from = date.fromisoformat(row["valid_from"]) if row["valid_from"] else None
        region = Region(
            iso_code=row["iso_code"],
            iso_code_before_2024=row["iso_code_before_2024"] or None,
            kind=RegionKind(row["kind"]),
            name_en=row["name_en"],
            name_kk=row["name_kk"],
            name_ru=row["name_ru"],
            admin_centre=row["admin_centre"] or None,
            valid_from=valid_from,
            note="; ".join(x for x in (row["note"], row["lineage"]) if x) or None,
        )
        session.add(region)
        session.flush()
        added["regions"] += 1
        record_event(session, actor=None, now=now, action="region_seeded", entity_type="region",
                     entity_id=region.id, entity_label=region.iso_code,
                     changes={"name_en": region.name_en})
        lineage = parse_lineage(row["lineage"], valid_from) if row["lineage"] else None
        if lineage is not None:
            relation, predecessor, effective = lineage
            session.add(RegionLineage(region_id=region.id, relation=relation,
                                      predecessor_code=predecessor, effective_on=effective,
                                      note=row["lineage"]))
            added["lineage"] += 1
    known_groups = set(session.scalars(sa.select(PopulationGroup.code)))
    for order, g in enumerate(POPULATION_GROUPS):
        if g.code not in known_groups:
            session.add(PopulationGroup(code=g.code, name_en=g.name_en, name_kk=g.name_kk,
                                        name_ru=g.name_ru, min_age_months=g.min_age_months,
                                        max_age_months=g.max_age_months, sort_order=order))
            added["population groups"] += 1
    known_kinds = set(session.scalars(sa.select(SampleKindRef.code)))
    kinds = (
        SampleKindRef(code="urine", accession_prefix="U", name_en="Urine", name_kk="Зәр",
                      name_ru="Моча", min_volume_ml=Decimal("0.8"), max_age_days=365),
        SampleKindRef(code="salt", accession_prefix="S", name_en="Salt", name_kk="Тұз",
                      name_ru="Соль", min_volume_ml=None, max_age_days=None),
    )
    for kind in kinds:
        if kind.code not in known_kinds:
            session.add(kind)
            added["sample kinds"] += 1
    session.flush()
    return added
