"""Retention and disposal: how long each kind of sample is kept, what may be thrown away, and the
witnessed, audited act of throwing it away.

Retention runs from the collection date (what limits a specimen's use is its age), per sample
kind, with an optional longer or shorter rule per survey round (``RetentionRule``).

A sample may be disposed of only when it is past retention and has no open work: not awaiting
analysis, on no undecided run, with no result awaiting verification and no retest due. Its tubes
are marked disposed and their positions freed; the sample, its results and its history stay.

The witness is a second person who confirms with their own username and password at the
disposal desk. Picking a name from a list would let one person record a witness who was never
there; a password typed on the spot is the evidence that they were. Wrong passwords count
towards the witness's account lockout, as at login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lims.analysis.models import Result, ResultStatus
from lims.analysis.queries import on_open_run
from lims.audit.service import record_event
from lims.auth.models import User
from lims.auth.services import authenticate, get_user_by_username
from lims.core.errors import BusinessRuleViolation, ConflictError, ValidationError
from lims.core.inputs import date_problem, parse_id, require_text
from lims.core.labels import label
from lims.core.locking import conflict_from_integrity, lock, lock_all
from lims.logistics.storage import ALIQUOT_ENTITY, find_tube
from lims.logistics.storage_models import (
    MAX_RETENTION_DAYS,
    Aliquot,
    AliquotState,
    RetentionRule,
    SampleDisposal,
)
from lims.monitoring.models import SurveyRound
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import DISPOSABLE_STATUSES, Sample, SampleKind

__all__ = [
    "RETENTION_ENTITY",
    "DisposalCursor",
    "confirm_witness",
    "disposal_candidates",
    "disposal_statement",
    "dispose",
    "open_work",
    "retention_days",
    "set_retention",
]

RETENTION_ENTITY = "retention_rule"
SAMPLE_ENTITY = "sample"
#: Statuses in which a sample still has work to do.
WORKING = (SampleStatus.RECEIVED, SampleStatus.IN_ANALYSIS, SampleStatus.PENDING_REVIEW)


def set_retention(session: Session, *, actor: User, now: datetime, kind: SampleKind,
                  survey_round: SurveyRound | None, days: int) -> RetentionRule:
    """Set (or change) the retention of ``kind`` for one round, or for every round."""
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValidationError(_("Retention is 1 to %(max)d days.", max=MAX_RETENTION_DAYS),
                              field="days")
    round_id = survey_round.id if survey_round is not None else None
    rule = session.scalar(sa.select(RetentionRule).where(
        RetentionRule.kind == kind, RetentionRule.round_id.is_(None) if round_id is None
        else RetentionRule.round_id == round_id))
    before = None
    if rule is None:
        rule = RetentionRule(kind=kind, round_id=round_id, days=days, set_at=now,
                             set_by_id=actor.id)
        try:
            with session.begin_nested():  # the same rule made twice at once: a 409, not a 500
                session.add(rule)
        except IntegrityError as error:
            raise conflict_from_integrity(error) from error
    else:
        rule = lock(session, rule)
        before = rule.days
        rule.days, rule.set_at, rule.set_by_id = days, now, actor.id
    session.flush()
    record_event(session, actor=actor, now=now, action="retention_set",
                 entity_type=RETENTION_ENTITY, entity_id=rule.id,
                 entity_label=f"{kind.value} {survey_round.code if survey_round else '*'}",
                 changes={"days": {"before": before, "after": days}})
    return rule


def kept_until(session: Session, samples: list[Sample]) -> dict[int, datetime]:
    """When each sample's retention ends (samples of kinds without a rule are left out)."""
    rules = {(r.kind, r.round_id): r.days for r in session.scalars(sa.select(RetentionRule))}
    out = {}
    for sample in samples:
        days = rules.get((sample.kind, sample.round_id), rules.get((sample.kind, None)))
        if days is not None:
            out[sample.id] = sample.collected_at + timedelta(days=days)
    return out


def retention_days(session: Session, sample: Sample) -> int | None:
    """The days ``sample`` is kept: its round's rule for its kind, else the kind's default."""
    rows = dict(session.execute(
        sa.select(RetentionRule.round_id, RetentionRule.days).where(
            RetentionRule.kind == sample.kind,
            sa.or_(RetentionRule.round_id == sample.round_id, RetentionRule.round_id.is_(None))
        )).all())
    return rows.get(sample.round_id, rows.get(None))


def _past_retention(session: Session, now: datetime) -> sa.ColumnElement[bool] | None:
    """A condition on ``Sample``: collected longer ago than its retention (None: no rules)."""
    rules = list(session.scalars(sa.select(RetentionRule)))
    terms = []
    for rule in rules:
        cutoff = now - timedelta(days=rule.days)
        if rule.round_id is not None:
            terms.append(sa.and_(Sample.kind == rule.kind, Sample.round_id == rule.round_id,
                                 Sample.collected_at < cutoff))
        else:
            own = [r.round_id for r in rules if r.kind is rule.kind and r.round_id is not None]
            terms.append(sa.and_(Sample.kind == rule.kind, Sample.round_id.not_in(own),
                                 Sample.collected_at < cutoff))
    return sa.or_(*terms) if terms else None


def _result_in(statuses: tuple[ResultStatus, ...]) -> sa.Exists:
    return (sa.select(Result.id).where(Result.sample_id == Sample.id, Result.is_current,
                                       Result.status.in_(statuses)).exists())


def _open_work_terms() -> dict[str, sa.ColumnElement[bool]]:
    return {
        "status": Sample.status.in_(WORKING),
        "run": on_open_run(),
        "unverified": _result_in((ResultStatus.HELD, ResultStatus.PRELIMINARY)),
        "retest": _result_in((ResultStatus.REPEAT,)),
    }


def open_work(session: Session, sample: Sample) -> list[str]:
    """Why ``sample`` still has work to do, in words (empty: none)."""
    words = {
        "status": _("it is %(status)s", status=label(sample.status).lower()),
        "run": _("it is on a run not yet decided"),
        "unverified": _("a result awaits verification"),
        "retest": _("a retest is due"),
    }
    found = session.execute(sa.select(*[term.label(name) for name, term
                                        in _open_work_terms().items()])
                            .where(Sample.id == sample.id)).one()
    return [words[name] for name in words if getattr(found, name)]


@dataclass(frozen=True)
class DisposalCursor:
    """The last row of a disposal-list page: (collected_at, id)."""

    collected_at: datetime
    sample_id: int

    def encode(self) -> str:
        return f"{self.collected_at.isoformat()}_{self.sample_id}"

    @classmethod
    def decode(cls, raw: str | None) -> DisposalCursor | None:
        if not raw or len(raw) > 80:
            return None
        when, _sep, sample_id = raw.partition("_")
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            return None
        number = parse_id(sample_id)
        if number is None or moment.tzinfo is None or date_problem(moment) is not None:
            return None
        return cls(moment, number)


def disposal_candidates(session: Session, now: datetime, *, limit: int,
                        after: DisposalCursor | None = None) -> list[Sample]:
    """Samples past retention with no open work and not yet disposed, oldest collection first,
    paged by (collected_at, id)."""
    stmt = disposal_statement(session, now, limit=limit, after=after)
    return [] if stmt is None else list(session.scalars(stmt))


def disposal_statement(session: Session, now: datetime, *, limit: int,
                       after: DisposalCursor | None = None) -> sa.Select[tuple[Sample]] | None:
    """The disposal list's query (None: no retention rule, nothing is ever due). At a million
    samples it is a range scan of ``ix_samples_disposable`` (received samples with no work
    left and not disposed of, by collection) up to the loosest retention cut-off, stopping
    once a page is found; the per-rule cut-offs and the open-work checks are probed per row on
    their own indexes."""
    past = _past_retention(session, now)
    if past is None:
        return None
    loosest = now - timedelta(days=session.scalar(sa.select(sa.func.min(RetentionRule.days))))
    stmt = (sa.select(Sample).where(Sample.received_at.is_not(None),
                                    Sample.status.in_(DISPOSABLE_STATUSES),
                                    Sample.disposed_at.is_(None),
                                    Sample.collected_at < loosest, past,
                                    ~sa.or_(*_open_work_terms().values()))
            .order_by(Sample.collected_at, Sample.id).limit(limit))
    if after is not None:
        stmt = stmt.where(sa.tuple_(Sample.collected_at, Sample.id)
                          > sa.tuple_(sa.literal(after.collected_at, Sample.collected_at.type),
                                      sa.literal(after.sample_id)))
    return stmt


def confirm_witness(session: Session, *, username: str, password: str, now: datetime,
                    max_failures: int, lockout: timedelta) -> User:
    """The witness who typed their own password, or refused (the failure counts towards their
    lockout, as a failed login does: the caller commits it)."""
    known = get_user_by_username(session, username.strip())
    last_login = known.last_login_at if known is not None else None
    outcome = authenticate(session, username=username, password=password, now=now,
                           max_failures=max_failures, lockout=lockout)
    if outcome.user is None:
        raise ValidationError(_("Witness: %(problem)s.", problem=outcome.error),
                              field="witness_password")
    outcome.user.last_login_at = last_login  # confirming a disposal is not logging in
    return outcome.user


def dispose(session: Session, *, actor: User, now: datetime, scanned: str, reason: str,
            witness: User) -> SampleDisposal:
    """Dispose of the scanned sample (its accession or any of its aliquot labels): every tube
    disposed, positions freed, one disposal record with the witness, audited."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the sample is disposed of."), field="reason")
    if len(reason) > 500:
        raise ValidationError(_("The reason has at most 500 characters."), field="reason")
    require_text(reason, field="reason")
    if witness.id == actor.id:
        raise ValidationError(_("The witness must be another person."), field="witness_username")
    if not witness.is_active:
        raise ValidationError(_("The witness's account is deactivated."),
                              field="witness_username")
    sample, _tube = find_tube(session, scanned)
    sample = lock(session, sample)
    if session.scalar(sa.select(SampleDisposal.id)
                      .where(SampleDisposal.sample_id == sample.id)) is not None:
        raise ConflictError(_("Sample %(accession)s was disposed of already.",
                              accession=sample.accession), field="item")
    if sample.received_at is None:
        raise BusinessRuleViolation(_("Sample %(accession)s was never received.",
                                      accession=sample.accession), field="item")
    days = retention_days(session, sample)
    if days is None:
        raise BusinessRuleViolation(_("No retention period is set for %(kind)s samples.",
                                      kind=label(sample.kind).lower()), field="item")
    keep_until = sample.collected_at + timedelta(days=days)
    if keep_until > now:
        raise BusinessRuleViolation(_("Sample %(accession)s is kept until %(day)s.",
                                      accession=sample.accession, day=format_date(keep_until)),
                                    field="item")
    work = open_work(session, sample)
    if work:
        raise BusinessRuleViolation(_("Sample %(accession)s has open work: %(work)s.",
                                      accession=sample.accession, work="; ".join(work)),
                                    field="item")
    tubes = lock_all(session, list(session.scalars(
        sa.select(Aliquot).where(Aliquot.sample_id == sample.id).order_by(Aliquot.id))))
    away = [t.label for t in tubes if t.state is AliquotState.CHECKED_OUT]
    if away:
        raise BusinessRuleViolation(_("%(labels)s checked out: return it before disposal.",
                                      labels=", ".join(away)), field="item")
    record = SampleDisposal(sample_id=sample.id, disposed_at=now, disposed_by_id=actor.id,
                            witness_id=witness.id, reason=reason)
    session.add(record)
    sample.disposed_at = now
    for tube in tubes:
        if tube.state is AliquotState.DISPOSED:
            continue
        where = f"{tube.box.code} {tube.position}" if tube.box is not None else None
        tube.state, tube.box_id, tube.pos_row, tube.pos_col = AliquotState.DISPOSED, None, None, None
        record_event(session, actor=actor, now=now, action="aliquot_disposed",
                     entity_type=ALIQUOT_ENTITY, entity_id=tube.id, entity_label=tube.label,
                     changes={"from": where, "witness": witness.username}, reason=reason)
    session.flush()
    record_event(session, actor=actor, now=now, action="sample_disposed",
                 entity_type=SAMPLE_ENTITY, entity_id=sample.id, entity_label=sample.accession,
                 changes={"witness": witness.username, "tubes": [t.label for t in tubes]},
                 reason=reason)
    return record
