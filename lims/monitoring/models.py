from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.core.models import Base, format_repr, intpk, str_enum


class RegionKind(enum.StrEnum):
    REGION = "region"
    CITY = "city"


class LineageRelation(enum.StrEnum):
    SPLIT_FROM = "split_from"
    RENAMED_FROM = "renamed_from"
    SEPARATED_FROM = "separated_from"


class SiteType(enum.StrEnum):
    SCHOOL = "school"
    SETTLEMENT = "settlement"
    CLINIC = "clinic"


class RoundStatus(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CLOSED = "closed"


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"


class PhysiologicalStatus(enum.StrEnum):
    NONE = "none"
    PREGNANT = "pregnant"
    LACTATING = "lactating"


class NamedInThreeLanguages:
    """Mixin for reference rows named in English, Kazakh and Russian."""

    name_en: Mapped[str] = mapped_column(sa.String(200))
    name_kk: Mapped[str] = mapped_column(sa.String(200))
    name_ru: Mapped[str] = mapped_column(sa.String(200))

    def name(self, locale: str | None) -> str:
        return {"kk": self.name_kk, "ru": self.name_ru}.get(locale or "en", self.name_en)


class Region(NamedInThreeLanguages, Base):
    """A first-level unit of Kazakhstan, versioned by validity dates and linked by lineage so
    trends can be re-aggregated across the 2018 and 2022 reforms."""

    __tablename__ = "regions"

    id: Mapped[intpk]
    iso_code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    iso_code_before_2024: Mapped[str | None] = mapped_column(sa.String(8))
    kind: Mapped[RegionKind] = mapped_column(str_enum(RegionKind, "region_kind"))
    admin_centre: Mapped[str | None] = mapped_column(sa.String(120))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)

    districts: Mapped[list[District]] = relationship(back_populates="region")

    def __repr__(self) -> str:
        return format_repr(self, "iso_code", "name_en")


class RegionLineage(Base):
    __tablename__ = "region_lineage"

    id: Mapped[intpk]
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    predecessor_code: Mapped[str] = mapped_column(sa.String(8))
    relation: Mapped[LineageRelation] = mapped_column(str_enum(LineageRelation, "lineage_relation"))
    effective_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)

    region: Mapped[Region] = relationship()


class District(NamedInThreeLanguages, Base):
    __tablename__ = "districts"
    __table_args__ = (sa.UniqueConstraint("region_id", "code"),)

    id: Mapped[intpk]
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    region: Mapped[Region] = relationship(back_populates="districts")

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")


class PopulationGroup(NamedInThreeLanguages, Base):
    __tablename__ = "population_groups"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    min_age_months: Mapped[int | None]
    max_age_months: Mapped[int | None]
    sort_order: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return format_repr(self, "code")


class SampleKindRef(NamedInThreeLanguages, Base):
    """Sample kinds as reference data: the accession prefix and the pre-analytical limits."""

    __tablename__ = "sample_kinds"

    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    accession_prefix: Mapped[str] = mapped_column(sa.String(4), unique=True)
    min_volume_ml: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    max_age_days: Mapped[int | None]


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    rounds: Mapped[list[SurveyRound]] = relationship(back_populates="programme")


round_regions = sa.Table(
    "survey_round_regions",
    Base.metadata,
    sa.Column("round_id", sa.ForeignKey("survey_rounds.id"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("regions.id"), primary_key=True),
)

round_groups = sa.Table(
    "survey_round_groups",
    Base.metadata,
    sa.Column("round_id", sa.ForeignKey("survey_rounds.id"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("population_groups.id"), primary_key=True),
)


class SurveyRound(Base):
    __tablename__ = "survey_rounds"
    __table_args__ = (sa.CheckConstraint("period_end >= period_start", name="period_order"),)

    id: Mapped[intpk]
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[RoundStatus] = mapped_column(
        str_enum(RoundStatus, "round_status"), default=RoundStatus.PLANNED
    )
    created_at: Mapped[datetime]

    programme: Mapped[Programme] = relationship(back_populates="rounds")
    regions: Mapped[list[Region]] = relationship(secondary=round_regions)
    groups: Mapped[list[PopulationGroup]] = relationship(secondary=round_groups)
    clusters: Mapped[list[Cluster]] = relationship(back_populates="round")

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")


class Cluster(Base):
    """A sampling unit (school, settlement or clinic) in a district, with its target count."""

    __tablename__ = "clusters"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "code"),
        sa.CheckConstraint("target_count >= 0", name="target_not_negative"),
        sa.CheckConstraint("design_weight > 0", name="design_weight_positive"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_rounds.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), index=True)  # found by the header search
    name: Mapped[str] = mapped_column(sa.String(200))
    site_type: Mapped[SiteType] = mapped_column(str_enum(SiteType, "site_type"))
    target_count: Mapped[int] = mapped_column(default=0)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: The design stratum within the region (e.g. "urban", "rural"); None: the region itself.
    stratum: Mapped[str | None] = mapped_column(sa.String(32))
    #: Design weight of the cluster's specimens (1 / selection probability, e.g. of PPS
    #: selection and the take within it); None: self-weighting, the default assumption.
    design_weight: Mapped[float | None]

    round: Mapped[SurveyRound] = relationship(back_populates="clusters")
    district: Mapped[District] = relationship()
    region: Mapped[Region] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")


class StratumPopulation(Base):
    """The population of a design stratum in a survey round, with its source: the reference
    table that combines strata by population share in pooled (national) estimates."""

    __tablename__ = "stratum_populations"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "region_id", "stratum"),
        sa.CheckConstraint("population > 0", name="population_positive"),
        sa.CheckConstraint("year >= 1900 AND year <= 2100", name="year_range"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_rounds.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    #: "" for the whole region; otherwise a ``Cluster.stratum`` of the region
    stratum: Mapped[str] = mapped_column(sa.String(32), default="")
    population: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int]

    region: Mapped[Region] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "round_id", "region_id", "stratum")


class Household(Base):
    """Links the salt sample and the urine samples of one household."""

    __tablename__ = "households"
    __table_args__ = (sa.UniqueConstraint("cluster_id", "code"),)

    id: Mapped[intpk]
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32), index=True)  # found by the header search

    cluster: Mapped[Cluster] = relationship()


class Participant(Base):
    """A person known only by a code: no names are ever stored."""

    __tablename__ = "participants"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "code"),
        sa.CheckConstraint("age_months >= 0 AND age_months <= 1500", name="age_range"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_rounds.id"))
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    population_group_id: Mapped[int] = mapped_column(sa.ForeignKey("population_groups.id"))
    code: Mapped[str] = mapped_column(sa.String(32), index=True)  # found by the header search
    age_months: Mapped[int]
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    physiological_status: Mapped[PhysiologicalStatus] = mapped_column(
        str_enum(PhysiologicalStatus, "physiological_status"), default=PhysiologicalStatus.NONE
    )

    cluster: Mapped[Cluster] = relationship()
    household: Mapped[Household | None] = relationship()
    population_group: Mapped[PopulationGroup] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")
