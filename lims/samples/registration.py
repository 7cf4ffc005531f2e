"""Sample registration: accession numbers, the intake rules and the inserts.

One path for every way in. A form registers one sample, a spreadsheet thousands, the demo-data
generator more: all of them build ``UrineIntake`` / ``SaltIntake`` values, ``check_intake``
applies the rules to all of them against reference data loaded in a few queries (never one
query per row), and ``register_samples`` creates households, participants, samples and their
audit events in bulk, taking the accession numbers as one block in one UPDATE.

Services flush and never commit; the caller commits once, so a rejected row saves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from lims.audit.models import AuditEvent
from lims.audit.service import audit_row, record_event
from lims.core.bulk import bulk_insert
from lims.core.errors import ConflictError, NotFoundError, ValidationError
from lims.core.inputs import code_problem, finite_problem
from lims.core.labels import label
from lims.monitoring.models import (
    Cluster,
    Household,
    Participant,
    PhysiologicalStatus,
    PopulationGroup,
    RoundStatus,
    SampleKindRef,
    Sex,
    SurveyRound,
    round_groups,
)
from lims.samples import batch_import
from lims.samples.accession import KIND_PREFIX, format_accession
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import (
    AccessionCounter,
    IntakeBatch,
    SaltPackaging,
    SaltSource,
    Sample,
    SampleKind,
    UrineContainer,
)

if TYPE_CHECKING:
    from lims.auth.models import User

CODE_MAX_LENGTH = 32
BRAND_MAX_LENGTH = 120
# IN lists are sent in chunks: SQLite caps bound parameters, PostgreSQL plans big lists badly.
IN_CHUNK = 1000

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Accession numbers


def next_accession_numbers(session: Session, kind: SampleKind, year: int, count: int = 1) -> list[int]:
    """Reserve ``count`` consecutive numbers for ``kind`` in ``year`` and return them.

    The counter row is created if missing (INSERT … ON CONFLICT DO NOTHING: two first-of-the-year
    intakes cannot both create it), then advanced by one UPDATE … RETURNING. On PostgreSQL that
    UPDATE takes the row lock, so a concurrent intake waits until this transaction ends and then
    reads the committed value: numbers are never issued twice, and because the counter rolls back
    with the transaction, a failed intake leaves no gap.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    table = AccessionCounter.__table__
    session.execute(
        insert(table)
        .values(kind=kind.value, year=year, last_value=0)
        .on_conflict_do_nothing(index_elements=["kind", "year"])
    )
    last = session.execute(
        sa.update(table)
        .where(table.c.kind == kind.value, table.c.year == year)
        .values(last_value=table.c.last_value + count)
        .returning(table.c.last_value)
    ).scalar_one()
    return list(range(last - count + 1, last + 1))


def accession_prefix(session: Session, kind: SampleKind) -> str:
    """The prefix from the sample-kind reference row (admins may edit it), else the default."""
    prefix = session.scalar(sa.select(SampleKindRef.accession_prefix).where(SampleKindRef.code == kind.value))
    return prefix or KIND_PREFIX[kind.value]


def allocate_accessions(session: Session, kind: SampleKind, now: datetime, count: int) -> list[str]:
    """``count`` accession strings; the year is that of the registration time in UTC."""
    year = now.astimezone(UTC).year
    prefix = accession_prefix(session, kind)
    return [format_accession(prefix, year, n) for n in next_accession_numbers(session, kind, year, count)]


# ---------------------------------------------------------------------------------------------
# What is registered


@dataclass(frozen=True)
class UrineIntake:
    cluster_id: int
    participant_code: str
    age_months: int
    sex: Sex
    physiological_status: PhysiologicalStatus
    population_group_code: str
    household_code: str | None
    volume_ml: Decimal
    container: UrineContainer
    collected_at: datetime
    notes: str | None = None

    kind = SampleKind.URINE


@dataclass(frozen=True)
class SaltIntake:
    cluster_id: int
    household_code: str | None
    salt_source: SaltSource
    brand: str | None
    packaging: SaltPackaging | None
    iodized_per_label: bool | None
    collected_at: datetime
    notes: str | None = None

    kind = SampleKind.SALT


Intake = UrineIntake | SaltIntake


@dataclass(frozen=True)
class IntakeProblem:
    """One broken rule: ``index`` of the item, the service ``field`` it concerns."""

    index: int
    field: str
    message: str
    conflict: bool = False


@dataclass
class IntakePlan:
    """The items, the reference data they need, and what is wrong with them."""

    kind: SampleKind
    items: Sequence[Intake]
    kind_ref: SampleKindRef | None
    clusters: dict[int, Cluster]
    rounds: dict[int, SurveyRound]
    groups: dict[str, PopulationGroup]
    round_group_ids: set[tuple[int, int]]
    households: dict[tuple[int, str], int]
    participants: dict[tuple[int, str], Participant]
    problems: list[IntakeProblem] = field(default_factory=list)

    def add(self, index: int, field_name: str, message: str, *, conflict: bool = False) -> None:
        self.problems.append(IntakeProblem(index, field_name, message, conflict))


def _chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def load_plan(session: Session, kind: SampleKind, items: Sequence[Intake]) -> IntakePlan:
    """Everything the rules need for ``items``, in a handful of queries whatever their number."""
    cluster_ids = sorted({item.cluster_id for item in items})
    clusters: dict[int, Cluster] = {}
    for chunk in _chunks(cluster_ids):
        clusters.update((c.id, c) for c in session.scalars(sa.select(Cluster).where(Cluster.id.in_(chunk))))
    round_ids = sorted({c.round_id for c in clusters.values()})
    rounds = {r.id: r for r in session.scalars(sa.select(SurveyRound).where(SurveyRound.id.in_(round_ids)))}
    round_group_ids = {
        (row.round_id, row.group_id)
        for row in session.execute(sa.select(round_groups).where(round_groups.c.round_id.in_(round_ids)))
    }
    groups = {g.code: g for g in session.scalars(sa.select(PopulationGroup))}
    kind_ref = session.get(SampleKindRef, kind.value)

    households = household_ids(session, cluster_ids, (item.household_code for item in items))

    participant_codes = sorted({item.participant_code for item in items if isinstance(item, UrineIntake)})
    participants: dict[tuple[int, str], Participant] = {}
    for chunk in _chunks(participant_codes):
        found = session.scalars(
            sa.select(Participant)
            .where(Participant.round_id.in_(round_ids), Participant.code.in_(chunk))
            .options(selectinload(Participant.household), selectinload(Participant.cluster))
        )
        participants.update(((p.round_id, p.code), p) for p in found)
    return IntakePlan(kind, items, kind_ref, clusters, rounds, groups, round_group_ids, households,
                      participants)


def household_ids(session: Session, cluster_ids: Sequence[int], codes: Iterable[str | None],
                  ) -> dict[tuple[int, str], int]:
    """Ids of the households with these codes in these clusters, by (cluster id, code)."""
    wanted = sorted({code for code in codes if code})
    found: dict[tuple[int, str], int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(
            sa.select(Household.id, Household.cluster_id, Household.code).where(
                Household.cluster_id.in_(cluster_ids), Household.code.in_(chunk)
            )
        )
        found.update(((r.cluster_id, r.code), r.id) for r in rows)
    return found


# ---------------------------------------------------------------------------------------------
# The rules


def check_intake(session: Session, *, now: datetime, kind: SampleKind, items: Sequence[Intake]) -> IntakePlan:
    """Load the reference data and apply every rule to every item; nothing is written."""
    plan = load_plan(session, kind, items)
    max_age = plan.kind_ref.max_age_days if plan.kind_ref else None
    for index, item in enumerate(items):
        if item.kind != kind:
            plan.add(index, "kind", _("expected a %(kind)s sample", kind=label(kind).lower()))
            continue
        cluster = plan.clusters.get(item.cluster_id)
        if cluster is None:
            plan.add(index, "cluster_id", _("unknown cluster"))
            continue
        survey_round = plan.rounds[cluster.round_id]
        if survey_round.status == RoundStatus.CLOSED:
            plan.add(index, "cluster_id", _("survey round %(round)s is closed: no new samples",
                                            round=survey_round.code))
        _check_collected_at(plan, index, item.collected_at, now, max_age)
        if item.household_code is not None and len(item.household_code) > CODE_MAX_LENGTH:
            plan.add(index, "household_code", batch_import.too_long(CODE_MAX_LENGTH))
        elif (problem := code_problem(item.household_code)) is not None:
            plan.add(index, "household_code", problem)
        if isinstance(item, UrineIntake):
            _check_urine(plan, index, item, cluster)
        else:
            _check_salt(plan, index, item)
    return plan


def _check_collected_at(plan: IntakePlan, index: int, collected_at: datetime, now: datetime,
                        max_age_days: int | None) -> None:
    if collected_at.tzinfo is None:
        raise ValueError("collected_at must be timezone-aware")
    if collected_at > now:
        plan.add(index, "collected_at", _("collection time is in the future"))
    elif max_age_days is not None and now - collected_at > timedelta(days=max_age_days):
        plan.add(index, "collected_at",
                 ngettext("collected more than %(num)d day ago: too old to register",
                          "collected more than %(num)d days ago: too old to register", max_age_days))


def _check_urine(plan: IntakePlan, index: int, item: UrineIntake, cluster: Cluster) -> None:
    if (problem := finite_problem(item.volume_ml)) is not None:
        plan.add(index, "volume_ml", problem)
    elif item.volume_ml < 0:
        plan.add(index, "volume_ml", _("volume cannot be negative"))
    if not item.participant_code:
        plan.add(index, "participant_code", _("a participant code is required"))
        return
    if len(item.participant_code) > CODE_MAX_LENGTH:
        plan.add(index, "participant_code", batch_import.too_long(CODE_MAX_LENGTH))
        return
    if (problem := code_problem(item.participant_code)) is not None:
        plan.add(index, "participant_code", problem)
        return
    existing = plan.participants.get((cluster.round_id, item.participant_code))
    if existing is not None:
        _check_same_participant(plan, index, item, existing)
        return
    group = plan.groups.get(item.population_group_code)
    if group is None:
        plan.add(index, "population_group_code",
                 _("unknown population group %(code)s", code=item.population_group_code))
    elif (cluster.round_id, group.id) not in plan.round_group_ids:
        plan.add(index, "population_group_code",
                 _("population group %(group)s is not surveyed in round %(round)s",
                   group=group.code, round=plan.rounds[cluster.round_id].code))
    else:
        _check_age(plan, index, item.age_months, group)
    if item.physiological_status != PhysiologicalStatus.NONE and item.sex != Sex.FEMALE:
        plan.add(index, "physiological_status",
                 _("%(status)s applies only to female participants", status=label(item.physiological_status)))


def _check_age(plan: IntakePlan, index: int, age_months: int, group: PopulationGroup) -> None:
    low, high = group.min_age_months, group.max_age_months
    if age_months < 0 or age_months > 1500:
        plan.add(index, "age_months", _("age must be between 0 and 1500 months"))
    elif (low is not None and age_months < low) or (high is not None and age_months > high):
        plan.add(index, "age_months",
                 _("age %(age)d months is outside population group %(group)s (%(low)s–%(high)s months)",
                   age=age_months, group=group.code, low=low if low is not None else "",
                   high=high if high is not None else ""))


def _check_same_participant(plan: IntakePlan, index: int, item: UrineIntake, existing: Participant) -> None:
    """A known participant gives another sample: what the form says must match what is stored."""
    stored_group = next((g.code for g in plan.groups.values() if g.id == existing.population_group_id), "")
    stored_household = existing.household.code if existing.household is not None else None
    differences = []
    if existing.age_months != item.age_months:
        differences.append(_("age %(a)d months (now %(b)d)", a=existing.age_months, b=item.age_months))
    if existing.sex != item.sex:
        differences.append(_("sex %(a)s (now %(b)s)", a=label(existing.sex), b=label(item.sex)))
    if existing.physiological_status != item.physiological_status:
        differences.append(_("status %(a)s (now %(b)s)", a=label(existing.physiological_status),
                             b=label(item.physiological_status)))
    if stored_group != item.population_group_code:
        differences.append(_("group %(a)s (now %(b)s)", a=stored_group, b=item.population_group_code))
    if existing.cluster_id != item.cluster_id:
        differences.append(_("cluster %(a)s (now %(b)s)", a=existing.cluster.code,
                             b=plan.clusters[item.cluster_id].code))
    if item.household_code is not None and stored_household != item.household_code:
        differences.append(_("household %(a)s (now %(b)s)", a=stored_household or "—", b=item.household_code))
    if differences:
        plan.add(index, "participant_code",
                 _("participant %(code)s already registered with %(diff)s — correct the entry or use "
                   "another code", code=item.participant_code, diff="; ".join(differences)),
                 conflict=True)


def _check_salt(plan: IntakePlan, index: int, item: SaltIntake) -> None:
    if item.salt_source == SaltSource.HOUSEHOLD and not item.household_code:
        plan.add(index, "household_code", _("household salt needs the household code"))
    if item.salt_source != SaltSource.HOUSEHOLD and item.household_code:
        plan.add(index, "household_code",
                 _("only household salt is linked to a household (source is %(source)s)",
                   source=label(item.salt_source)))
    if item.brand is not None and len(item.brand) > BRAND_MAX_LENGTH:
        plan.add(index, "brand", batch_import.too_long(BRAND_MAX_LENGTH))


def intake_flags(volume_ml: Decimal | None, kind_ref: SampleKindRef | None) -> list[str]:
    """Things to point out without refusing the sample: receipt decides (domain.md §1.8)."""
    flags = []
    min_volume = kind_ref.min_volume_ml if kind_ref else None
    if volume_ml is not None and min_volume is not None and volume_ml < min_volume:
        flags.append("low_volume")
    return flags


def register_samples(session: Session, *, actor: User | None, now: datetime, plan: IntakePlan,
                     intake_batch: IntakeBatch | None = None) -> list[int]:
    """Create what ``plan`` describes, in bulk, and return the sample ids in item order.

    Refuses a plan with problems: callers check first so they can report every problem.
    """
    if plan.problems:
        raise ValueError("the intake plan has problems; report them instead of registering")
    items = plan.items
    if not items:
        return []
    households = _create_households(session, plan)
    participants, new_participants = _create_participants(session, plan, households)
    accessions = allocate_accessions(session, plan.kind, now, len(items))
    rows = [
        _sample_row(plan, item, accession, now, actor, intake_batch, households, participants)
        for item, accession in zip(items, accessions, strict=True)
    ]
    bulk_insert(session, Sample.__table__, rows)
    ids: dict[str, int] = {}
    for chunk in _chunks(accessions):
        ids.update((r.accession, r.id) for r in session.execute(
            sa.select(Sample.id, Sample.accession).where(Sample.accession.in_(chunk))))
    events = []
    for item, row in zip(items, rows, strict=True):
        changes = _registered_fields(plan, item, row)
        if isinstance(item, UrineIntake) and (row["round_id"], item.participant_code) in new_participants:
            changes["new_participant"] = True
        events.append(audit_row(actor=actor, now=now, action="registered", entity_type="sample",
                                entity_id=ids[row["accession"]], entity_label=row["accession"], changes=changes))
    bulk_insert(session, AuditEvent.__table__, events)
    return [ids[accession] for accession in accessions]


def _create_households(session: Session, plan: IntakePlan) -> dict[tuple[int, str], int]:
    """Household ids by (cluster, code) for every item, creating the missing ones at once."""
    ids = dict(plan.households)
    wanted = {(item.cluster_id, item.household_code) for item in plan.items if item.household_code}
    missing = sorted(key for key in wanted if key not in ids)
    if missing:
        bulk_insert(session, Household.__table__, [{"cluster_id": c, "code": code} for c, code in missing])
        ids.update(household_ids(session, sorted({c for c, _ in missing}), (code for _, code in missing)))
    return ids


def _create_participants(session: Session, plan: IntakePlan, households: dict[tuple[int, str], int],
                         ) -> tuple[dict[tuple[int, str], tuple[int, int | None]], set[tuple[int, str]]]:
    """(participant id, household id) by (round, code); the set holds those created now."""
    ids = {key: (p.id, p.household_id) for key, p in plan.participants.items()}
    new: dict[tuple[int, str], dict[str, Any]] = {}
    for item in plan.items:
        if not isinstance(item, UrineIntake):
            continue
        cluster = plan.clusters[item.cluster_id]
        key = (cluster.round_id, item.participant_code)
        if key in ids or key in new:
            continue
        new[key] = {
            "round_id": cluster.round_id, "cluster_id": cluster.id, "code": item.participant_code,
            "household_id": households.get((cluster.id, item.household_code or "")),
            "population_group_id": plan.groups[item.population_group_code].id,
            "age_months": item.age_months, "sex": item.sex,
            "physiological_status": item.physiological_status,
        }
    if new:
        bulk_insert(session, Participant.__table__, list(new.values()))
        round_ids = sorted({round_id for round_id, _ in new})
        for chunk in _chunks(sorted(code for _, code in new)):
            rows = session.execute(
                sa.select(Participant.id, Participant.round_id, Participant.code, Participant.household_id)
                .where(Participant.round_id.in_(round_ids), Participant.code.in_(chunk)))
            ids.update(((r.round_id, r.code), (r.id, r.household_id)) for r in rows)
    return ids, set(new)


def _sample_row(plan: IntakePlan, item: Intake, accession: str, now: datetime, actor: User | None,
                intake_batch: IntakeBatch | None, households: dict[tuple[int, str], int],
                participants: dict[tuple[int, str], tuple[int, int | None]]) -> dict[str, Any]:
    cluster = plan.clusters[item.cluster_id]
    row: dict[str, Any] = {
        "accession": accession, "kind": plan.kind, "status": SampleStatus.REGISTERED,
        "round_id": cluster.round_id, "cluster_id": cluster.id, "region_id": cluster.region_id,
        "collected_at": item.collected_at, "registered_at": now,
        "registered_by_id": actor.id if actor is not None else None,
        "intake_batch_id": intake_batch.id if intake_batch is not None else None,
        "notes": item.notes or None, "household_id": None, "participant_id": None,
        "volume_ml": None, "container": None, "salt_source": None, "brand": None,
        "packaging": None, "iodized_per_label": None, "received_at": None,
    }
    if isinstance(item, UrineIntake):
        participant_id, household_id = participants[(cluster.round_id, item.participant_code)]
        row.update(participant_id=participant_id, household_id=household_id,
                   volume_ml=item.volume_ml, container=item.container)
    else:
        row.update(household_id=households.get((cluster.id, item.household_code or "")),
                   salt_source=item.salt_source, brand=item.brand or None, packaging=item.packaging,
                   iodized_per_label=item.iodized_per_label)
    return row


def _registered_fields(plan: IntakePlan, item: Intake, row: dict[str, Any]) -> dict[str, Any]:
    cluster = plan.clusters[item.cluster_id]
    values: dict[str, Any] = {"kind": plan.kind, "cluster": cluster.code,
                              "round": plan.rounds[cluster.round_id].code}
    values.update(vars(item))
    values.pop("cluster_id")
    values["intake_batch_id"] = row["intake_batch_id"]
    flags = intake_flags(row["volume_ml"], plan.kind_ref)
    if flags:
        values["flags"] = flags
    return {key: value for key, value in values.items() if value is not None and value != ""}


# ---------------------------------------------------------------------------------------------
# One sample from a form


def _register_one(session: Session, *, actor: User | None, now: datetime, item: Intake) -> Sample:
    plan = check_intake(session, now=now, kind=item.kind, items=[item])
    if plan.problems:
        first = plan.problems[0]
        error_class = ConflictError if first.conflict else ValidationError
        raise error_class(first.message, field=first.field)
    [sample_id] = register_samples(session, actor=actor, now=now, plan=plan)
    sample = session.get(Sample, sample_id)
    assert sample is not None
    return sample


def register_urine_sample(
    session: Session, *, actor: User | None, now: datetime, cluster_id: int, participant_code: str,
    age_months: int, sex: Sex | str, physiological_status: PhysiologicalStatus | str,
    population_group_code: str, household_code: str | None, volume_ml: Decimal, container: UrineContainer | str,
    collected_at: datetime, notes: str | None = None,
) -> Sample:
    """Register a urine sample; the participant is found by (round, code) or created."""
    item = UrineIntake(
        cluster_id=cluster_id, participant_code=participant_code, age_months=age_months, sex=Sex(sex),
        physiological_status=PhysiologicalStatus(physiological_status),
        population_group_code=population_group_code, household_code=household_code or None,
        volume_ml=Decimal(volume_ml), container=UrineContainer(container), collected_at=collected_at,
        notes=notes,
    )
    return _register_one(session, actor=actor, now=now, item=item)


def register_salt_sample(
    session: Session, *, actor: User | None, now: datetime, cluster_id: int, household_code: str | None,
    salt_source: SaltSource | str, brand: str | None, packaging: SaltPackaging | str | None,
    iodized_per_label: bool | None, collected_at: datetime, notes: str | None = None,
) -> Sample:
    """Register a salt sample; household salt is linked to the household's urine samples."""
    item = SaltIntake(
        cluster_id=cluster_id, household_code=household_code or None, salt_source=SaltSource(salt_source),
        brand=brand or None, packaging=SaltPackaging(packaging) if packaging else None,
        iodized_per_label=iodized_per_label, collected_at=collected_at, notes=notes,
    )
    return _register_one(session, actor=actor, now=now, item=item)


# ---------------------------------------------------------------------------------------------
# Clusters by code


def open_rounds(session: Session) -> list[SurveyRound]:
    """Rounds that take samples, newest first (a handful, fine for a select)."""
    return list(session.scalars(
        sa.select(SurveyRound).where(SurveyRound.status != RoundStatus.CLOSED)
        .order_by(SurveyRound.period_start.desc(), SurveyRound.id.desc())
    ))


def find_cluster(session: Session, round_id: int, code: str) -> Cluster:
    """The cluster a typed or scanned code names in a round; a precise error otherwise."""
    cluster = session.scalar(sa.select(Cluster).where(Cluster.round_id == round_id, Cluster.code == code))
    if cluster is None:
        raise ValidationError(_("no cluster %(code)s in this survey round", code=code), field="cluster_code")
    return cluster


def clusters_by_code(session: Session, round_id: int, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        found.update((row.code, row.id) for row in session.execute(
            sa.select(Cluster.code, Cluster.id).where(Cluster.round_id == round_id, Cluster.code.in_(chunk))
        ))
    return found


# ---------------------------------------------------------------------------------------------
# A spreadsheet


def register_intake_file(
    session: Session, *, actor: User, now: datetime, round_id: int, filename: str, data: bytes,
    parsed: batch_import.ParsedFile,
) -> IntakeBatch:
    """Check the rows of a file already read by `batch_import.parse_file` against the database,
    then register every row in this transaction, or raise a ``ValidationError`` whose
    ``errors`` list every problem as (row, column, message). The caller parses first, outside
    any transaction: reading a large workbook takes seconds and must hold no lock."""
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFoundError(_("unknown survey round"), field="round_id")
    errors = list(parsed.errors)
    cluster_ids = clusters_by_code(session, round_id, (row.values["cluster_code"] for row in parsed.rows))
    items: list[Intake] = []
    row_numbers: list[int] = []
    for row in parsed.rows:
        values = dict(row.values)
        cluster_code = values.pop("cluster_code")
        cluster_id = cluster_ids.get(cluster_code)
        if cluster_id is None:
            errors.append(batch_import.RowError(row.number, "cluster_code", _(
                "no cluster %(code)s in survey round %(round)s", code=cluster_code, round=survey_round.code)))
            continue
        intake_class = UrineIntake if parsed.kind == SampleKind.URINE else SaltIntake
        items.append(intake_class(cluster_id=cluster_id, **values))
        row_numbers.append(row.number)
    plan = check_intake(session, now=now, kind=parsed.kind, items=items)
    errors.extend(
        batch_import.RowError(row_numbers[p.index], batch_import.column_for(p.field), p.message)
        for p in plan.problems
    )
    if errors:
        errors.sort(key=lambda e: (e.row, e.column))
        raise ValidationError(
            ngettext("%(num)d problem in %(file)s: nothing was registered",
                     "%(num)d problems in %(file)s: nothing was registered", len(errors), file=filename),
            errors=[e.as_dict() for e in errors],
        )
    batch = IntakeBatch(filename=filename[:255], sha256=hashlib.sha256(data).hexdigest(), kind=parsed.kind,
                        row_count=len(items), created_at=now, created_by_id=actor.id)
    session.add(batch)
    session.flush()
    register_samples(session, actor=actor, now=now, plan=plan, intake_batch=batch)
    record_event(session, actor=actor, now=now, action="intake_file_registered", entity_type="intake_batch",
                 entity_id=batch.id, entity_label=batch.filename,
                 changes={"rows": batch.row_count, "sha256": batch.sha256, "kind": batch.kind,
                          "round": survey_round.code})
    session.flush()
    return batch
