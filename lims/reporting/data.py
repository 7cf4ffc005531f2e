"""What goes into a monitoring report: the samples of a scope, each with its verified result.

`reports/` computes from tidy frames and never touches the database; this module is the one place
that decides which rows those frames hold. Only *verified, current* results count (a preliminary
or held value is not yet the lab's word); a sample without one is ``pending``, a rejected sample
``rejected`` (so "collected", "analysed" and "rejected" all come from one frame), and a cancelled
sample is not part of the survey at all.

Speed: one SELECT per kind, returning ids and integer codes rather than labels. On PostgreSQL
the rows come through ``COPY (SELECT …) TO STDOUT`` straight into pandas' CSV reader with the
column types given, in a transaction that lets the planner use a parallel hash join: a million
samples in about two seconds on two cores, most of it the server's join.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.models import MethodVersionRow, Result, ResultStatus
from lims.audit.models import AuditEvent
from lims.core.errors import NotFoundError, ValidationError
from lims.eqa.external_models import ExternalMaterialSample
from lims.monitoring.models import (
    Cluster,
    LineageRelation,
    Participant,
    PopulationGroup,
    Region,
    RegionLineage,
    StratumPopulation,
    SurveyRound,
)
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from reports import kzmap
from reports.stats import STATUSES

__all__ = [
    "LAB_TIMEZONE",
    "RTK_CATEGORIES",
    "SALT_METHODS",
    "TREND_PERIODS",
    "ReportFrames",
    "PreviewCell",
    "ReportScope",
    "ScopePreview",
    "earlier_scopes",
    "has_verified_results",
    "latest_round_with_results",
    "latest_year_with_results",
    "load_frames",
    "merged_units",
    "preview_scope",
    "region_names",
    "year_bounds",
]

#: Method codes → the salt method names `reports.stats` knows.
SALT_METHODS = {"SALT-TITR": "titration", "SALT-WYD": "wyd", "SALT-RTK": "rtk"}
#: A salt sample without a verified result has no method yet: it is counted (collected, pending
#: or rejected) on a "not analysed" line of its own, never under a method.
NOT_ANALYSED = "not_analysed"
#: The laboratory's time zone when the caller names none: a year is the lab's calendar year.
LAB_TIMEZONE = "Asia/Almaty"
#: Rapid-test-kit classes as the LIMS stores them → as `reports.stats` names them.
RTK_CATEGORIES = {"0": "none", "<15": "below_15", "≥15": "at_least_15"}


def year_bounds(year: int, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of ``year`` and of the next one in the laboratory's time zone, in UTC
    (what ``collected_at`` holds): a sample taken on 1 January at 02:00 in Almaty is of the new
    year although it is still 31 December in UTC."""
    zone = ZoneInfo(timezone)
    return (datetime(year, 1, 1, tzinfo=zone).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC))


def _in_year(year: int, timezone: str) -> list[sa.ColumnElement[bool]]:
    start, end = year_bounds(year, timezone)
    return [Sample.collected_at >= start, Sample.collected_at < end]


@dataclass(frozen=True)
class ReportScope:
    """Which samples a report covers: one survey round, or every sample collected in a year;
    optionally one region (ISO 3166-2 code) and one population group (urine only)."""

    round_id: int | None = None
    year: int | None = None
    region: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if (self.round_id is None) == (self.year is None):
            raise ValidationError("a report covers either one survey round or one year", field="scope")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportScope:
        return cls(**{k: data.get(k) for k in ("round_id", "year", "region", "group")})


@dataclass(frozen=True)
class _Lookups:
    """Id → label of the small reference tables, read once per report."""

    regions: dict[int, str]
    groups: dict[int, str]
    salt_methods: dict[int, str]

    @classmethod
    def read(cls, session: Session) -> _Lookups:
        methods = session.execute(sa.select(MethodVersionRow.id, MethodVersionRow.code)).all()
        return cls(dict(session.execute(sa.select(Region.id, Region.iso_code)).all()),
                   dict(session.execute(sa.select(PopulationGroup.id, PopulationGroup.code)).all()),
                   {mid: SALT_METHODS[code] for mid, code in methods if code in SALT_METHODS})

    def region_id(self, iso_code: str) -> int:
        found = [i for i, code in self.regions.items() if code == iso_code]
        if not found:
            raise NotFoundError(f"no region with ISO code {iso_code}", field="region")
        return found[0]

    def group_id(self, code: str) -> int:
        found = [i for i, group in self.groups.items() if group == code]
        if not found:
            raise NotFoundError(f"no population group {code}", field="group")
        return found[0]


def _period(session: Session, scope: ReportScope, lookups: _Lookups,
            timezone: str) -> tuple[str, list[sa.ColumnElement[bool]]]:
    """The period label of the rows and the conditions that select the scope's samples."""
    # a blind material of an external scheme (EQUIP) is analysed like a sample but is nobody's
    # urine or salt: it never enters the survey's statistics
    conditions: list[sa.ColumnElement[bool]] = [
        Sample.status != SampleStatus.CANCELLED,
        ~sa.exists().where(ExternalMaterialSample.sample_id == Sample.id)]
    if scope.round_id is not None:
        survey_round = session.get(SurveyRound, scope.round_id)
        if survey_round is None:
            raise NotFoundError(f"no survey round with id {scope.round_id}", field="round_id")
        conditions.append(Sample.round_id == survey_round.id)
        label = survey_round.code
    else:
        assert scope.year is not None
        conditions += _in_year(scope.year, timezone)
        label = str(scope.year)
    if scope.region:
        conditions.append(Sample.region_id == lookups.region_id(scope.region))
    return label, conditions


def _status(result_id: Any) -> sa.ColumnElement[int]:
    """0 analysed, 1 rejected, 2 pending: positions in `reports.stats.STATUSES`."""
    return sa.case(
        (result_id.is_not(None), STATUSES.index("analysed")),
        (Sample.status == SampleStatus.REJECTED, STATUSES.index("rejected")),
        else_=STATUSES.index("pending"),
    )


def _censored() -> sa.ColumnElement[int]:
    return sa.case((Result.comparator == "<", 1), else_=0)


def _verified(analyte: str) -> Any:
    return sa.and_(Result.sample_id == Sample.id, Result.analyte == analyte, Result.is_current,
                   Result.status == ResultStatus.VERIFIED)


# The queries return ids and small integer codes, not labels: a million rows of integers cost the
# server far less to join and print, and the client far less to parse, than the same rows with
# region and group codes spelled out; the labels are put back from the small reference tables.


def urine_query(session: Session, scope: ReportScope, lookups: _Lookups,
                timezone: str = LAB_TIMEZONE) -> tuple[sa.Select[Any], str]:
    label, conditions = _period(session, scope, lookups, timezone)
    stmt = (
        sa.select(
            Sample.region_id.label("region_code"),
            Participant.population_group_id.label("group_code"),
            Sample.cluster_id.label("cluster_id"),
            Result.method_version_id.label("method"),
            Result.value.label("uic"),
            _censored().label("censored"),
            Result.limit.label("lod"),
            _status(Result.id).label("status"),
        )
        .select_from(Sample)
        .join(Participant, Participant.id == Sample.participant_id)
        .outerjoin(Result, _verified("uic"))
        .where(Sample.kind == SampleKind.URINE, *conditions)
    )
    if scope.group:
        stmt = stmt.where(Participant.population_group_id == lookups.group_id(scope.group))
    return stmt, label


def salt_query(session: Session, scope: ReportScope, lookups: _Lookups,
               timezone: str = LAB_TIMEZONE) -> tuple[sa.Select[Any], str]:
    label, conditions = _period(session, scope, lookups, timezone)
    stmt = (
        sa.select(
            Sample.region_id.label("region_code"),
            Sample.cluster_id.label("cluster_id"),
            Result.method_version_id.label("method"),
            Result.value.label("iodine_mg_kg"),
            Result.category.label("category"),
            _censored().label("censored"),
            Result.limit.label("lod"),
            _status(Result.id).label("status"),
        )
        .select_from(Sample)
        .outerjoin(Result, _verified("salt_iodine"))
        .where(Sample.kind == SampleKind.SALT, *conditions)
    )
    return stmt, label


#: How the raw columns are typed when parsed (PostgreSQL's CSV) or converted (other databases).
RAW_TYPES: dict[str, str] = {
    "region_code": "int32", "group_code": "int32", "cluster_id": "int64", "method": "float64",
    "uic": "float64", "iodine_mg_kg": "float64", "lod": "float64", "censored": "int8",
    "status": "int8", "category": "object",
}
#: The report's reading transaction on PostgreSQL: a national scope joins a million samples to
#: their results, which a parallel hash join does in well under half the time of a serial one
#: (the planner's default costs keep it serial because a million rows pass through the gather).
PG_READING_SETTINGS = ("SET LOCAL work_mem = '64MB'", "SET LOCAL parallel_setup_cost = 0",
                       "SET LOCAL parallel_tuple_cost = 0.001")


def _raw_frame(session: Session, stmt: sa.Select[Any]) -> pd.DataFrame:
    connection = session.connection()
    columns = [c.name for c in stmt.selected_columns]
    types = {name: RAW_TYPES[name] for name in columns}
    if connection.dialect.name == "postgresql":
        # Bound parameters, not literal_binds: a literal cannot be rendered for every type (a
        # time-zone-aware datetime through UTCDateTime is one); psycopg binds COPY's parameters
        # itself, after SQLAlchemy's bind processors have run.
        compiled = stmt.compile(dialect=connection.dialect)
        processors = compiled._bind_processors
        params = {name: processors[name](value) if name in processors else value
                  for name, value in compiled.params.items()}
        buffer = io.BytesIO()
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)",
                         params) as copy:
            for block in copy:
                buffer.write(block)
        buffer.seek(0)
        return pd.read_csv(buffer, names=columns, header=None, keep_default_na=False,
                           na_values=[""], dtype=types, engine="c")
    frame = pd.DataFrame.from_records(session.execute(stmt).all(), columns=columns)
    return frame.astype({name: kind for name, kind in types.items() if kind != "object"})


def _labels(ids: pd.Series, labels: dict[int, str], what: str) -> pd.Categorical:
    """Ids → a categorical of their labels, without a per-row lookup. An id with no label is a
    data error the report must not paper over: it is named, with how many rows carry it."""
    categories = sorted(set(labels.values()))
    position = {label: i for i, label in enumerate(categories)}
    values = ids.to_numpy()
    table = np.full(max([*labels, int(values.max(initial=0))]) + 1, -1, dtype=np.int32)
    for key, label in labels.items():
        table[key] = position[label]
    codes = table[values]
    if (codes < 0).any():
        bad = pd.Series(values[codes < 0]).value_counts().sort_index()
        listed = ", ".join(f"id {k} ({n:,} row{'' if n == 1 else 's'})"
                           for k, n in bad.head(5).items())
        raise ValidationError(f"{what}: {listed}", field=str(ids.name))
    return pd.Categorical.from_codes(codes, categories=categories).remove_unused_categories()


def _decode(frame: pd.DataFrame, label: str, regions: dict[int, str]) -> None:
    frame["region_code"] = _labels(frame["region_code"], regions, "samples of an unknown region")
    frame["censored"] = frame["censored"].to_numpy() == 1
    frame["status"] = pd.Categorical.from_codes(frame["status"].to_numpy(), categories=STATUSES)
    frame["period"] = pd.Categorical([label] * len(frame)) if len(frame) else pd.Categorical(
        [], categories=[label])


@dataclass(frozen=True)
class ReportFrames:
    urine: pd.DataFrame
    salt: pd.DataFrame
    #: Urine rows of the periods before the scope's (same region and group), for the trends;
    #: None when there are none.
    earlier_urine: pd.DataFrame | None
    #: The method versions behind the scope's verified results (for the methods annex).
    method_version_ids: frozenset[int]
    #: Where the populations that weight the strata come from ("source, year"; the annex).
    population_sources: tuple[str, ...] = ()


#: How many earlier periods a report compares with at most (trend tables and chart): every
#: earlier round or year with data, up to this many back.
TREND_PERIODS = 10


def _method_ids(column: pd.Series) -> set[int]:
    return {int(v) for v in column.dropna().unique()}


def _design(session: Session, frame: pd.DataFrame) -> set[str]:
    """The survey design of every row, from its cluster (``reports.stats`` columns): ``stratum``
    (the cluster's stratum within its region), ``weight`` (its design weight — only when every
    cluster of the frame has one; otherwise the round is self-weighting and no column is added)
    and ``population`` (of the row's stratum in its round, from the round's reference table;
    NaN where the table has none). The clusters table is small: read whole, mapped in pandas.
    Returns the sources of the population figures used ("source, year"), for the annex."""
    clusters = pd.DataFrame(session.execute(sa.select(
        Cluster.id, Cluster.round_id, Cluster.region_id, Cluster.stratum,
        Cluster.design_weight)).all(), columns=["id", "round_id", "region_id", "stratum", "weight"])
    populations = pd.DataFrame(session.execute(sa.select(
        StratumPopulation.round_id, StratumPopulation.region_id, StratumPopulation.stratum,
        StratumPopulation.population, StratumPopulation.source, StratumPopulation.year)).all(),
        columns=["round_id", "region_id", "stratum", "population", "source", "year"])
    populations["cited"] = populations["source"] + ", " + populations["year"].astype(str)
    clusters["key"] = clusters["stratum"].fillna("")
    clusters = clusters.merge(populations.rename(columns={"stratum": "key"}), how="left",
                              on=["round_id", "region_id", "key"]).set_index("id")
    at = clusters.index.get_indexer(frame["cluster_id"].to_numpy())
    found = at >= 0

    def column(name: str) -> np.ndarray:
        values = clusters[name].to_numpy(dtype=object)[np.maximum(at, 0)] if len(clusters) else \
            np.full(len(frame), None, dtype=object)
        return np.where(found, values, None)

    strata = column("stratum")
    if pd.notna(strata).any():
        frame["stratum"] = pd.array(strata, dtype="string")
    weights = pd.to_numeric(pd.Series(column("weight")), errors="coerce").to_numpy(dtype=float)
    if len(frame) and not np.isnan(weights).any():
        frame["weight"] = weights
    frame["population"] = pd.to_numeric(pd.Series(column("population")),
                                        errors="coerce").to_numpy(dtype=float)
    return {c for c in pd.unique(column("cited")) if isinstance(c, str)}


def _urine(session: Session, scope: ReportScope, lookups: _Lookups,
           timezone: str) -> tuple[pd.DataFrame, set[int], set[str]]:
    stmt, label = urine_query(session, scope, lookups, timezone)
    urine = _raw_frame(session, stmt)
    sources = _design(session, urine)
    _decode(urine, label, lookups.regions)
    urine["group_code"] = _labels(urine["group_code"], lookups.groups,
                                  "participants of an unknown group")
    urine["uic"] = np.where(urine["censored"], np.nan, urine["uic"])
    return urine, _method_ids(urine.pop("method")), sources


def _salt(session: Session, scope: ReportScope, lookups: _Lookups,
          timezone: str) -> tuple[pd.DataFrame, set[int]]:
    stmt, label = salt_query(session, scope, lookups, timezone)
    salt = _raw_frame(session, stmt)
    _decode(salt, label, lookups.regions)
    used = _method_ids(salt["method"])
    # a salt sample without a verified result has no method yet: "not analysed" (id 0, no row)
    salt["method"] = _labels(salt["method"].fillna(0).astype(np.int64),
                             {0: NOT_ANALYSED, **lookups.salt_methods},
                             "verified salt results from a method version that is not a salt "
                             "method (titration, WYD, rapid test kit)")
    salt["category"] = salt["category"].map(RTK_CATEGORIES)
    return salt, used


def earlier_scopes(session: Session, scope: ReportScope, *, timezone: str = LAB_TIMEZONE,
                   periods: int = TREND_PERIODS) -> list[ReportScope]:
    """The same report for the earlier periods with data, latest first, at most ``periods``: for
    a survey round, the rounds of its programme that ended before it began; for a year, every
    earlier year (in the lab's time zone) in which samples were collected, gaps skipped."""
    if scope.round_id is not None:
        current = session.get(SurveyRound, scope.round_id)
        if current is None:
            raise NotFoundError(f"no survey round with id {scope.round_id}", field="round_id")
        rounds = session.scalars(
            sa.select(SurveyRound.id)
            .where(SurveyRound.programme_id == current.programme_id,
                   SurveyRound.period_end < current.period_start)
            .order_by(SurveyRound.period_start.desc()).limit(periods)).all()
        return [replace(scope, round_id=r) for r in rounds]
    assert scope.year is not None
    start, _ = year_bounds(scope.year, timezone)
    first = session.scalar(sa.select(sa.func.min(Sample.collected_at))
                           .where(Sample.collected_at < start))
    if first is None:
        return []
    years = []
    for year in range(scope.year - 1, first.astimezone(ZoneInfo(timezone)).year - 1, -1):
        if len(years) == periods:
            break
        if session.scalar(sa.select(Sample.id).where(*_in_year(year, timezone)).limit(1)):
            years.append(year)
    return [replace(scope, year=year) for year in years]


def load_frames(session: Session, scope: ReportScope, *, timezone: str = LAB_TIMEZONE,
                trend_periods: int = TREND_PERIODS) -> ReportFrames:
    """The urine and salt frames of a scope, in the columns `reports.stats` documents, and the
    urine frames of the periods before it. ``timezone``: the laboratory's, whose calendar years
    a year scope covers."""
    if session.get_bind().dialect.name == "postgresql":
        for setting in PG_READING_SETTINGS:
            session.execute(sa.text(setting))
    lookups = _Lookups.read(session)
    urine, used, sources = _urine(session, scope, lookups, timezone)
    salt, used_salt = _salt(session, scope, lookups, timezone)
    earlier = []
    for back in earlier_scopes(session, scope, timezone=timezone, periods=trend_periods):
        frame, used_before, _ = _urine(session, back, lookups, timezone)
        if len(frame):
            earlier.append(frame)
            used |= used_before
    earlier_urine = pd.concat(earlier, ignore_index=True) if earlier else None
    if earlier_urine is not None:
        for name in ("region_code", "group_code", "period", "status"):
            earlier_urine[name] = earlier_urine[name].astype("category")
    return ReportFrames(urine, salt, earlier_urine, frozenset(used | used_salt),
                        tuple(sorted(sources)))


def region_names(session: Session) -> dict[str, dict[str, str]]:
    return {r.iso_code: {"en": r.name_en, "ru": r.name_ru, "kk": r.name_kk}
            for r in session.scalars(sa.select(Region))}


def corrections_since(session: Session, scope: ReportScope, since: datetime, *,
                      timezone: str = LAB_TIMEZONE) -> int:
    """How many registration fields of the scope's samples were corrected after ``since`` (the
    previous version's issue): a new version of the report says so."""
    _label, conditions = _period(session, scope, _Lookups.read(session), timezone)
    return session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent)
        .join(Sample, Sample.id == AuditEvent.entity_id)
        .where(AuditEvent.entity_type == "sample", AuditEvent.action == "sample_corrected",
               AuditEvent.occurred_at > since, *conditions)) or 0
@dataclass(frozen=True)
class PreviewCell:
    """Samples of one region (and population group, for urine) in a scope, by what a report
    makes of them: ``verified`` count; ``pending`` (no verified result yet) and ``rejected``
    (rejected samples) are excluded; ``clusters`` with at least one verified result."""

    region: str
    group: str | None
    verified: int
    pending: int
    rejected: int
    clusters: int


@dataclass(frozen=True)
class ScopePreview:
    """What a report of a scope would include, before it is built (the request form's preview)."""

    period: str
    urine: tuple[PreviewCell, ...]
    salt: tuple[PreviewCell, ...]
    #: Samples of the scope cancelled (never part of the survey).
    cancelled: int

    @property
    def verified(self) -> int:
        return sum(c.verified for c in (*self.urine, *self.salt))

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for c in (*self.urine, *self.salt))


def _preview_cells(session: Session, stmt: sa.Select[Any], lookups: _Lookups,
                   by_group: bool) -> tuple[PreviewCell, ...]:
    """The report's own query of a kind, counted per region (and group) and status: a preview
    can never disagree with the report about which samples count."""
    inner = stmt.subquery()
    keys = [inner.c.region_code] + ([inner.c.group_code] if by_group else [])
    verified = inner.c.status == STATUSES.index("analysed")
    rows = session.execute(sa.select(
        *keys,
        sa.func.count().filter(verified),
        sa.func.count().filter(inner.c.status == STATUSES.index("pending")),
        sa.func.count().filter(inner.c.status == STATUSES.index("rejected")),
        sa.func.count(sa.distinct(sa.case((verified, inner.c.cluster_id)))),
    ).group_by(*keys)).all()
    cells = [PreviewCell(lookups.regions.get(row[0], str(row[0])),
                         lookups.groups.get(row[1], str(row[1])) if by_group else None,
                         *[int(v) for v in row[-4:]]) for row in rows]
    return tuple(sorted(cells, key=lambda c: (c.region, c.group or "")))


def preview_scope(session: Session, scope: ReportScope, *,
                  timezone: str = LAB_TIMEZONE) -> ScopePreview:
    """Counts of what a report of ``scope`` would include and exclude, by region and group."""
    lookups = _Lookups.read(session)
    urine_stmt, label = urine_query(session, scope, lookups, timezone)
    salt_stmt, _ = salt_query(session, scope, lookups, timezone)
    _, conditions = _period(session, scope, lookups, timezone)
    cancelled_conditions = [Sample.status == SampleStatus.CANCELLED, *conditions[1:]]
    cancelled = session.scalar(sa.select(sa.func.count()).select_from(Sample)
                               .where(*cancelled_conditions)) or 0
    return ScopePreview(label, _preview_cells(session, urine_stmt, lookups, True),
                        _preview_cells(session, salt_stmt, lookups, False), int(cancelled))


def has_verified_results(session: Session, scope: ReportScope, *,
                         timezone: str = LAB_TIMEZONE) -> bool:
    """Whether a scope holds at least one verified current result (urine or salt): a report of
    an empty scope is refused at the request, not failed by its worker."""
    lookups = _Lookups.read(session)
    for stmt, _ in (urine_query(session, scope, lookups, timezone),
                    salt_query(session, scope, lookups, timezone)):
        inner = stmt.subquery()
        found = session.scalar(sa.select(inner.c.status)
                               .where(inner.c.status == STATUSES.index("analysed")).limit(1))
        if found is not None:
            return True
    return False


def latest_round_with_results(session: Session) -> int | None:
    """The survey round (id) with verified results whose period ended last: the request form's
    default, so that its defaults always build."""
    return session.scalar(
        sa.select(SurveyRound.id).where(sa.exists(
            sa.select(Result.id).join(Sample, Sample.id == Result.sample_id)
            .where(Sample.round_id == SurveyRound.id, Result.is_current,
                   Result.status == ResultStatus.VERIFIED)))
        .order_by(SurveyRound.period_end.desc(), SurveyRound.id.desc()).limit(1))


def latest_year_with_results(session: Session, *, timezone: str = LAB_TIMEZONE) -> int | None:
    """The lab's calendar year of the latest sample with a verified result (the year default)."""
    last = session.scalar(sa.select(sa.func.max(Sample.collected_at))
                          .join(Result, Result.sample_id == Sample.id)
                          .where(Result.is_current, Result.status == ResultStatus.VERIFIED))
    return last.astimezone(ZoneInfo(timezone)).year if last is not None else None


def merged_units(session: Session, scope: ReportScope, *,
                 timezone: str = LAB_TIMEZONE) -> dict[str, str]:
    """Units that did not yet exist at the end of the scope's period → the unit they were split
    from (ISO codes, from the regions' lineage): a 2021 round is mapped on its 17 units."""
    if scope.round_id is not None:
        survey_round = session.get(SurveyRound, scope.round_id)
        if survey_round is None:
            raise NotFoundError(f"no survey round with id {scope.round_id}", field="round_id")
        end = survey_round.period_end
    else:
        assert scope.year is not None
        end = date(scope.year, 12, 31)
    rows = session.execute(
        sa.select(Region.iso_code, Region.valid_from, RegionLineage.predecessor_code)
        .join(RegionLineage, RegionLineage.region_id == Region.id)
        .where(RegionLineage.relation == LineageRelation.SPLIT_FROM)).all()
    return kzmap.merged_units({code: start for code, start, _ in rows},
                              {code: parent for code, _, parent in rows}, end)


def scope_sample_ids(session: Session, scope: ReportScope, *,
                     timezone: str = LAB_TIMEZONE) -> sa.Select[Any]:
    """The ids of the samples a report of ``scope`` covers (urine of its group, and salt), as a
    subquery for the annex's queries of runs, controls and results."""
    lookups = _Lookups.read(session)
    _, conditions = _period(session, scope, lookups, timezone)
    kinds = [sa.and_(Sample.kind == SampleKind.SALT)]
    urine = Sample.kind == SampleKind.URINE
    if scope.group:
        urine = sa.and_(urine, Sample.participant_id.in_(
            sa.select(Participant.id).where(
                Participant.population_group_id == lookups.group_id(scope.group))))
    kinds.append(urine)
    return sa.select(Sample.id).where(*conditions, sa.or_(*kinds))
