"""The header's one search box: whatever a person types or scans, found where it lives.

An accession (exact, or a prefix such as ``U-2026-00``), a participant, household or cluster
code, a run label (``RUN-000123``), a report (``#12``, ``REPORT-12``) or an intake batch's file
name. Every lookup is an equality or a prefix range on an index (``ix_participants_code``,
``ix_households_code``, ``ix_clusters_code``, ``ix_intake_batches_filename``, the accession's
unique index in byte order) — never ``LIKE '%…'`` — and each group reads at most
:data:`GROUP_LIMIT` rows plus a count capped at :data:`COUNT_CAP`. A household code alone is
ambiguous (``H0001`` exists in every cluster); ``CLUSTER/H0001`` names one household.

Read-only; hits are filtered by what the user may open.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from lims.analysis.labels import analysis_label
from lims.analysis.models import AnalyticalRun
from lims.auth.models import User
from lims.core.inputs import BadParameter
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.core.text import strip_hidden
from lims.home.panels import COUNT_CAP, capped_count
from lims.monitoring.models import Cluster, Household, Participant
from lims.reporting.models import ReportJob
from lims.samples.accession import normalise_query, parse_accession, prefix_upper_bound
from lims.samples.models import IntakeBatch, Sample

#: The longest search accepted: a file name (255 in the table) is the longest thing searched,
#: but nobody types more than this into a header box; a longer text is refused, not truncated.
MAX_QUERY = 120
GROUP_LIMIT = 20

_ACCESSION_PREFIX = re.compile(r"[A-Z]{1,4}-[0-9]{0,4}(?:-[0-9]{0,9})?")
_RUN = re.compile(r"RUN-?0*([0-9]{1,18})")
_REPORT = re.compile(r"(?:#|REPORT-?|JOB-?)0*([0-9]{1,18})")


@dataclass(frozen=True)
class Hit:
    label: str
    url: str
    detail: str = ""


@dataclass
class Group:
    title: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    more_url: str | None = None

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


@dataclass
class SearchOutcome:
    query: str
    groups: list[Group] = field(default_factory=list)

    @property
    def only_hit(self) -> Hit | None:
        """The one thing found, to jump to; None when nothing or several were."""
        if len(self.groups) == 1 and self.groups[0].total == 1 and self.groups[0].hits:
            return self.groups[0].hits[0]
        return None


def clean_query(raw: str | None) -> str:
    """The text as searched: invisible characters (a scanner's GS, a pasted zero-width space)
    removed, spaces collapsed; a text over :data:`MAX_QUERY` characters is a 400."""
    text = " ".join(strip_hidden(raw or "").split())
    if len(text) > MAX_QUERY:
        raise BadParameter(_("Search for at most %(num)d characters.", num=MAX_QUERY),
                           field="q")
    return text


def search(session: Session, actor: User, raw: str | None) -> SearchOutcome:
    text = clean_query(raw)
    outcome = SearchOutcome(text)
    if not text:
        return outcome
    upper = normalise_query(text)
    codes = sorted({text, text.upper()})
    if actor.can(Permission.VIEW_SAMPLES):
        outcome.groups += _samples(session, text, upper, codes)
    if actor.can(Permission.VIEW_SAMPLES) or actor.can(Permission.VIEW_REPORTS):
        outcome.groups += _clusters(session, actor, codes)
    if actor.can(Permission.ANALYSE_SAMPLES) or actor.can(Permission.REVIEW_RESULTS):
        outcome.groups += _runs(session, upper)
    if actor.can(Permission.VIEW_REPORTS):
        outcome.groups += _reports(session, upper)
    outcome.groups = [g for g in outcome.groups if g.total]
    return outcome


# -- samples, directly or through their participant, household or batch ------------------------

def _hits(session: Session, ids: Sequence[int]) -> list[Hit]:
    """The samples ``ids`` as hits, in that order, with what tells them apart."""
    rows = {s.id: s for s in session.scalars(
        sa.select(Sample).where(Sample.id.in_(ids))
        .options(selectinload(Sample.participant), selectinload(Sample.household),
                 selectinload(Sample.cluster)))}
    return [Hit(s.accession, url_for("samples.detail", accession=s.accession), " · ".join(
        part for part in (label(s.kind), label(s.status), s.cluster.code,
                          s.household.code if s.household else "",
                          s.participant.code if s.participant else "") if part))
            for s in (rows[i] for i in ids if i in rows)]


def _samples_of(session: Session, column: sa.orm.InstrumentedAttribute[int | None],
                parents: sa.Select[tuple[int]]) -> tuple[list[Hit], int]:
    """The samples whose ``column`` is one of the ``parents`` (participants, households, a
    batch), newest first. The parents are resolved first and the samples read through the
    foreign key's index without an ORDER BY, so the planner cannot choose to walk the primary
    key hoping for an early match (a whole-table scan when there is none)."""
    parent_ids = list(session.scalars(parents.limit(COUNT_CAP + 1)))
    if not parent_ids:
        return [], 0
    ids = list(session.scalars(sa.select(Sample.id).where(column.in_(parent_ids))
                               .limit(COUNT_CAP + 1)))
    return _hits(session, sorted(ids, reverse=True)[:GROUP_LIMIT]), len(ids)


def _samples(session: Session, text: str, upper: str, codes: Sequence[str]) -> list[Group]:
    groups: list[Group] = []
    if parse_accession(upper) is not None:
        ids = list(session.scalars(sa.select(Sample.id).where(Sample.accession == upper)))
        if ids:  # a scanned label: nothing else has an accession's shape
            return [Group(_("Samples"), _hits(session, ids), len(ids))]
    elif _ACCESSION_PREFIX.fullmatch(upper):
        # one range of the accession index, highest first: the newest of the prefix
        in_range = sa.and_(Sample.accession >= upper,
                           Sample.accession < prefix_upper_bound(upper))
        ids = list(session.scalars(sa.select(Sample.id).where(in_range)
                                   .order_by(Sample.accession.desc()).limit(GROUP_LIMIT)))
        total = len(ids) if len(ids) < GROUP_LIMIT else capped_count(
            session, sa.select(Sample.id).where(in_range))
        groups.append(Group(_("Samples whose accession starts with %(prefix)s", prefix=upper),
                            _hits(session, ids), total, url_for("samples.index", q=upper)))
    hits, total = _samples_of(session, Sample.participant_id,
                              sa.select(Participant.id).where(Participant.code.in_(codes)))
    groups.append(Group(_("Samples of participant %(code)s", code=text), hits, total))
    hits, total = _samples_of(session, Sample.household_id, _households(codes, text))
    groups.append(Group(_("Samples of household %(code)s", code=text), hits, total))
    hits, total = _samples_of(session, Sample.intake_batch_id,
                              sa.select(IntakeBatch.id).where(IntakeBatch.filename == text))
    groups.append(Group(_("Samples of the intake batch %(name)s", name=text), hits, total))
    return groups


def _households(codes: Sequence[str], text: str) -> sa.Select[tuple[int]]:
    """Households with the code, or — for ``CLUSTER/CODE`` or ``CLUSTER CODE`` — the one
    household of that cluster (a household code is unique only within its cluster)."""
    parts = re.split(r"[/ ]", text, maxsplit=1) if "/" in text or " " in text else []
    if len(parts) == 2 and all(parts):
        cluster, household = parts
        return (sa.select(Household.id).join(Cluster, Cluster.id == Household.cluster_id)
                .where(Cluster.code.in_({cluster, cluster.upper()}),
                       Household.code.in_({household, household.upper()})))
    return sa.select(Household.id).where(Household.code.in_(codes))


# -- clusters, runs, reports ---------------------------------------------------------------------

def _clusters(session: Session, actor: User, codes: Sequence[str]) -> list[Group]:
    rows = session.scalars(sa.select(Cluster).where(Cluster.code.in_(codes))
                           .order_by(Cluster.id.desc()).limit(GROUP_LIMIT)
                           .options(selectinload(Cluster.round))).all()
    own_page = actor.can(Permission.MANAGE_SURVEYS)
    hits = [Hit(c.code, url_for("monitoring.cluster_detail", cluster_id=c.id) if own_page else
                url_for("monitoring.coverage", round=c.round_id, _anchor=f"cluster-{c.code}"),
                f"{c.name} · {c.round.code}") for c in rows]
    return [Group(_("Clusters"), hits, len(hits))]


def _runs(session: Session, upper: str) -> list[Group]:
    match = _RUN.fullmatch(upper)
    run = session.get(AnalyticalRun, int(match.group(1))) if match else None
    if run is None:
        return []
    return [Group(_("Runs"), [Hit(run.label, url_for("analysis.run", run_id=run.id),
                                  analysis_label(run.status))], 1)]


def _reports(session: Session, upper: str) -> list[Group]:
    match = _REPORT.fullmatch(upper)
    job = session.get(ReportJob, int(match.group(1))) if match else None
    if job is None:
        return []
    detail = (_("version %(version)s", version=job.version) if job.version is not None
              else _("not issued yet"))
    return [Group(_("Reports"), [Hit(job.title, url_for("reporting.index",
                                                        _anchor=f"job-{job.id}"), detail)], 1)]
