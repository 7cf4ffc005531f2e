"""Survey coverage: collected and received samples against the clusters' targets.

One aggregate over ``samples`` per page view — ``GROUP BY cluster_id, kind, status`` restricted
to one round, which PostgreSQL reads through ``ix_samples_round_status_id`` — plus the round's
clusters (a few hundred rows). Region rows are the sums of their clusters, so there is no
per-cluster or per-region query whatever the number of samples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lims.core.listing import Column

from lims.monitoring.models import Cluster, District, Region, RoundStatus, SurveyRound
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind

# Statuses a sample reaches only after the lab accepted it at receipt.
RECEIVED_STATUSES = frozenset({SampleStatus.RECEIVED, SampleStatus.IN_ANALYSIS,
                               SampleStatus.PENDING_REVIEW, SampleStatus.VERIFIED,
                               SampleStatus.REPORTED})


@dataclass
class Tally:
    """Counts for one cluster or region. ``target`` counts participants to sample, so the
    percentage compares urine samples (one per participant) with it."""

    target: int = 0
    collected: dict[SampleKind, int] = field(default_factory=lambda: dict.fromkeys(SampleKind, 0))
    received: dict[SampleKind, int] = field(default_factory=lambda: dict.fromkeys(SampleKind, 0))
    rejected: int = 0
    cancelled: int = 0

    def add(self, kind: SampleKind, status: SampleStatus, count: int) -> None:
        if status == SampleStatus.CANCELLED:
            self.cancelled += count
            return
        self.collected[kind] += count
        if status in RECEIVED_STATUSES:
            self.received[kind] += count
        elif status == SampleStatus.REJECTED:
            self.rejected += count

    def merge(self, other: Tally) -> None:
        self.target += other.target
        for kind in SampleKind:
            self.collected[kind] += other.collected[kind]
            self.received[kind] += other.received[kind]
        self.rejected += other.rejected
        self.cancelled += other.cancelled

    @property
    def collected_total(self) -> int:
        return sum(self.collected.values())

    @property
    def received_total(self) -> int:
        return sum(self.received.values())

    def percent(self, count: int) -> float | None:
        return None if self.target <= 0 else 100.0 * count / self.target

    @property
    def collected_percent(self) -> float | None:
        return self.percent(self.collected[SampleKind.URINE])

    @property
    def received_percent(self) -> float | None:
        return self.percent(self.received[SampleKind.URINE])


@dataclass
class ClusterRow:
    cluster_id: int
    code: str
    name: str
    site_type: str
    district: str
    tally: Tally


@dataclass
class RegionRow:
    region: Region
    tally: Tally = field(default_factory=Tally)
    clusters: list[ClusterRow] = field(default_factory=list)


@dataclass
class Coverage:
    survey_round: SurveyRound
    regions: list[RegionRow]
    total: Tally


def default_round(session: Session) -> SurveyRound | None:
    """The latest active round, else the latest round of any status."""
    order = (SurveyRound.period_start.desc(), SurveyRound.id.desc())
    active = session.scalar(sa.select(SurveyRound).where(SurveyRound.status == RoundStatus.ACTIVE)
                            .order_by(*order).limit(1))
    return active or session.scalar(sa.select(SurveyRound).order_by(*order).limit(1))


def sample_counts(session: Session, round_id: int) -> list[tuple[int, SampleKind, SampleStatus, int]]:
    """(cluster id, kind, status, count) for one round, aggregated in the database."""
    stmt = (
        sa.select(Sample.cluster_id, Sample.kind, Sample.status, sa.func.count())
        .where(Sample.round_id == round_id)
        .group_by(Sample.cluster_id, Sample.kind, Sample.status)
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def round_coverage(session: Session, survey_round: SurveyRound, locale: str | None) -> Coverage:
    """Per region (in the given locale's name order) and per cluster, for one round."""
    clusters = session.execute(
        sa.select(Cluster.id, Cluster.code, Cluster.name, Cluster.site_type, Cluster.region_id,
                  Cluster.target_count, District.code.label("district"))
        .join(District, District.id == Cluster.district_id)
        .where(Cluster.round_id == survey_round.id)
        .order_by(Cluster.code)
    ).all()
    tallies: dict[int, Tally] = defaultdict(Tally)
    for cluster_id, kind, status, count in sample_counts(session, survey_round.id):
        tallies[cluster_id].add(SampleKind(kind), SampleStatus(status), count)

    region_ids = {c.region_id for c in clusters} | {r.id for r in survey_round.regions}
    regions = session.scalars(sa.select(Region).where(Region.id.in_(region_ids))).all()
    rows = {r.id: RegionRow(region=r) for r in regions}
    for c in clusters:
        tally = tallies[c.id]
        tally.target = c.target_count
        row = rows[c.region_id]
        row.clusters.append(ClusterRow(c.id, c.code, c.name, c.site_type, c.district, tally))
        row.tally.merge(tally)
    total = Tally()
    for row in rows.values():
        total.merge(row.tally)
    ordered = sorted(rows.values(), key=lambda r: r.region.name(locale))
    return Coverage(survey_round=survey_round, regions=ordered, total=total)


# -- export (lims.core.listing.export_table) ----------------------------------------------------

#: The coverage table as a file: one row per region (its clusters' sums), then its clusters.
#: The expressions are unused (the rows are computed here, not read by one statement).
LEVELS = {"region": _l("Region"), "cluster": _l("Cluster")}
COVERAGE_COLUMNS = (Column("level", _l("Level"), sa.null(), display=lambda v: str(LEVELS[v])),
                    *(Column(key, text, sa.null(), kind=kind, digits=digits)
                      for key, text, kind, digits in (
    ("region", _l("Region"), "text", 0),
    ("iso_code", _l("ISO code"), "text", 0),
    ("cluster", _l("Cluster"), "text", 0),
    ("cluster_name", _l("Name"), "text", 0),
    ("site_type", _l("Site type"), "label", 0),
    ("district", _l("District"), "text", 0),
    ("target", _l("Target"), "int", 0),
    ("collected_urine", _l("Collected urine"), "int", 0),
    ("collected_salt", _l("Collected salt"), "int", 0),
    ("received_urine", _l("Received urine"), "int", 0),
    ("received_salt", _l("Received salt"), "int", 0),
    ("rejected", _l("Rejected at receipt"), "int", 0),
    ("cancelled", _l("Cancelled"), "int", 0),
    ("collected_percent", _l("Collected, percent of target"), "number", 1),
    ("received_percent", _l("Received, percent of target"), "number", 1),
)))


def _tally_cells(t: Tally) -> list[Any]:
    return [t.target, t.collected[SampleKind.URINE], t.collected[SampleKind.SALT],
            t.received[SampleKind.URINE], t.received[SampleKind.SALT], t.rejected, t.cancelled,
            t.collected_percent, t.received_percent]


def coverage_rows(data: Coverage, locale: str | None) -> Iterator[list[Any]]:
    """The rows of the export, raw (``lims.core.listing.cell`` makes them file cells)."""
    for row in data.regions:
        name = row.region.name(locale)
        yield ["region", name, row.region.iso_code, None, None, None, None,
               *_tally_cells(row.tally)]
        for c in row.clusters:
            yield ["cluster", name, row.region.iso_code, c.code, c.name, c.site_type, c.district,
                   *_tally_cells(c.tally)]
