"""Corrections of a registration: a typing error fixed with a reason, field by field.

An authorised person (``register_samples`` or ``review_results``) changes the participant code,
household, cluster, age, sex, collection time or volume of a sample; a sample with a verified or
reported result needs ``review_results``, because the change reaches data a report may already
have used. Every
changed field is its own audit event (``sample_corrected``: "age 96 → 108 months, reason: typing
error"), shown in the sample's timeline; a report issued afterwards says its data changed
(``lims.reporting.jobs.corrections_since``).

Two people correcting the same sample at once: the form carries the registration's fingerprint
as its author saw it; the service locks the sample, and a fingerprint that no longer matches is
refused (the second person sees the first one's correction, instead of silently overwriting it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.service import record_event, to_jsonable
from lims.auth.models import User
from lims.core.errors import (
    BusinessRuleViolation,
    ConflictError,
    PermissionDenied,
    ValidationError,
)
from lims.core.inputs import require_code, require_finite
from lims.core.labels import label
from lims.core.locking import lock
from lims.core.permissions import Permission
from lims.monitoring.models import Household, Participant, PhysiologicalStatus, Sex
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from lims.samples.registration import find_cluster

CORRECTED = "sample_corrected"
REASON_MAX = 500
#: Statuses in which the sample's result has been released (verified, or used in a report).
RELEASED = (SampleStatus.VERIFIED, SampleStatus.REPORTED)


@dataclass(frozen=True)
class Correction:
    """The registration fields as they should be; ``None`` leaves a field as it is."""

    participant_code: str | None = None
    household_code: str | None = None
    cluster_code: str | None = None
    age_months: int | None = None
    sex: Sex | None = None
    collected_at: datetime | None = None
    volume_ml: Decimal | None = None


def registration(sample: Sample) -> dict[str, Any]:
    """The correctable fields of a sample as stored (the audit's before-values)."""
    p = sample.participant
    return {
        "participant_code": p.code if p else None,
        "household_code": sample.household.code if sample.household else None,
        "cluster": sample.cluster.code,
        "age_months": p.age_months if p else None,
        "sex": p.sex if p else None,
        "collected_at": sample.collected_at,
        "volume_ml": sample.volume_ml,
    }


def fingerprint(sample: Sample) -> str:
    """A short digest of the correctable fields: a form carries the one its author saw."""
    data = json.dumps(to_jsonable(registration(sample)), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def has_released_result(session: Session, sample: Sample) -> bool:
    """Whether a result of the sample was ever verified (or the sample reported)."""
    if sample.status in RELEASED:
        return True
    from lims.analysis.models import Result  # analysis builds on samples, not the reverse

    return session.scalar(sa.select(sa.exists().where(
        Result.sample_id == sample.id, Result.verified_by_id.is_not(None)))) or False


def may_correct(session: Session, actor: User, sample: Sample) -> bool:
    """Whether ``actor`` may correct ``sample`` (the sample page shows the form only then)."""
    if actor.can(Permission.REVIEW_RESULTS):
        return True
    return actor.can(Permission.REGISTER_SAMPLES) and not has_released_result(session, sample)


def correct_sample(session: Session, *, actor: User, now: datetime, sample: Sample,
                   correction: Correction, reason: str, seen: str | None = None) -> list[str]:
    """Apply ``correction`` with ``reason``; returns the names of the fields changed.

    ``seen``: the fingerprint of the registration the person corrected (from the form); when it
    no longer matches, someone else corrected the sample meanwhile and nothing is changed.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("A correction needs a reason."), field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(_("The reason is longer than %(max)d characters.", max=REASON_MAX),
                              field="reason")
    if not (actor.can(Permission.REGISTER_SAMPLES) or actor.can(Permission.REVIEW_RESULTS)):
        raise PermissionDenied(_("You may not correct registrations."))
    _check_input(correction, now)
    lock(session, sample)
    if has_released_result(session, sample) and not actor.can(Permission.REVIEW_RESULTS):
        raise PermissionDenied(_("%(sample)s has a verified or reported result: only a reviewer "
                                 "may correct its registration.", sample=sample.accession))
    if seen is not None and seen != fingerprint(sample):
        raise ConflictError(_("%(sample)s was corrected by someone else meanwhile; nothing was "
                              "saved. Check its registration and correct it again if needed.",
                              sample=sample.accession))
    before = registration(sample)
    _apply(session, sample, correction)
    session.flush()
    session.refresh(sample)
    after = registration(sample)
    changed = [name for name in before if before[name] != after[name]]
    if not changed:
        raise ValidationError(_("Nothing to correct: every field is as stored."), field="reason")
    for name in changed:
        record_event(session, actor=actor, now=now, action=CORRECTED, entity_type="sample",
                     entity_id=sample.id, entity_label=sample.accession, reason=reason,
                     changes={name: {"before": before[name], "after": after[name]}})
    return changed


def _check_input(c: Correction, now: datetime) -> None:
    for field, code in (("participant_code", c.participant_code),
                        ("household_code", c.household_code), ("cluster_code", c.cluster_code)):
        if code is not None:
            if not code.strip():
                raise ValidationError(_("A code cannot be empty."), field=field)
            require_code(code, field=field)
    if c.age_months is not None and not 0 <= c.age_months <= 1500:
        raise ValidationError(_("age must be between 0 and 1500 months"), field="age_months")
    if c.volume_ml is not None:
        require_finite(c.volume_ml, field="volume_ml")
        if not Decimal(0) <= c.volume_ml < Decimal(100000):
            raise ValidationError(_("The volume must be between 0 and 99999 mL."),
                                  field="volume_ml")
    if c.collected_at is not None:
        if c.collected_at.tzinfo is None:
            raise ValueError("collected_at must be timezone-aware")
        if c.collected_at > now:
            raise ValidationError(_("collection time is in the future"), field="collected_at")


def _apply(session: Session, sample: Sample, c: Correction) -> None:
    urine_only = {"participant_code": c.participant_code, "age_months": c.age_months,
                  "sex": c.sex, "volume_ml": c.volume_ml}
    if sample.kind is not SampleKind.URINE:
        given = [name for name, value in urine_only.items() if value is not None]
        if given:
            raise BusinessRuleViolation(_("A salt sample has no participant, age, sex or "
                                          "volume."), field=given[0])
    if c.cluster_code is not None and c.cluster_code != sample.cluster.code:
        cluster = find_cluster(session, sample.round_id, c.cluster_code)
        sample.cluster_id, sample.region_id = cluster.id, cluster.region_id
        session.flush()
        session.expire(sample, ["cluster"])
        # the household is a household of the cluster: the same code in the new one
        household = c.household_code or (sample.household.code if sample.household else None)
        if household is not None:
            sample.household_id = _household(session, cluster.id, household)
    elif c.household_code is not None and (sample.household is None
                                           or c.household_code != sample.household.code):
        sample.household_id = _household(session, sample.cluster_id, c.household_code)
    if c.collected_at is not None and c.collected_at != sample.collected_at:
        if sample.received_at is not None and c.collected_at > sample.received_at:
            raise ValidationError(_("The sample cannot be collected after it was received."),
                                  field="collected_at")
        sample.collected_at = c.collected_at
    if c.volume_ml is not None:
        sample.volume_ml = c.volume_ml
    if sample.participant_id is not None:
        _correct_participant(session, sample, c)


def _household(session: Session, cluster_id: int, code: str) -> int:
    found = session.scalar(sa.select(Household.id).where(Household.cluster_id == cluster_id,
                                                         Household.code == code))
    if found is not None:
        return found
    household = Household(cluster_id=cluster_id, code=code)
    session.add(household)
    session.flush()
    return household.id


def _correct_participant(session: Session, sample: Sample, c: Correction) -> None:
    """Age and sex are the participant's; a corrected participant code names another
    participant (one already registered in the round, or a new one with this one's data)."""
    participant = lock(session, sample.participant)
    assert participant is not None
    if c.participant_code is not None and c.participant_code != participant.code:
        other = session.scalar(sa.select(Participant).where(
            Participant.round_id == participant.round_id,
            Participant.code == c.participant_code))
        shared = session.scalar(sa.select(sa.func.count()).select_from(Sample).where(
            Sample.participant_id == participant.id)) or 0
        if other is not None:
            participant = other
        elif shared > 1:  # the other samples keep the participant they were registered with
            participant = Participant(
                round_id=participant.round_id, cluster_id=participant.cluster_id,
                household_id=participant.household_id,
                population_group_id=participant.population_group_id, code=c.participant_code,
                age_months=participant.age_months, sex=participant.sex,
                physiological_status=participant.physiological_status)
            session.add(participant)
        else:
            participant.code = c.participant_code
        session.flush()
        sample.participant_id = participant.id
    participant.cluster_id = sample.cluster_id
    participant.household_id = sample.household_id
    if c.age_months is not None and c.age_months != participant.age_months:
        group = participant.population_group
        low, high = group.min_age_months, group.max_age_months
        if (low is not None and c.age_months < low) or (high is not None and c.age_months > high):
            raise ValidationError(
                _("age %(age)d months is outside population group %(group)s (%(low)s–%(high)s "
                  "months)", age=c.age_months, group=group.code,
                  low=low if low is not None else "", high=high if high is not None else ""),
                field="age_months")
        participant.age_months = c.age_months
    if c.sex is not None and c.sex != participant.sex:
        if c.sex is not Sex.FEMALE and participant.physiological_status != PhysiologicalStatus.NONE:
            raise ValidationError(_("%(status)s applies only to female participants",
                                    status=label(participant.physiological_status)), field="sex")
        participant.sex = c.sex
    session.flush()
    session.expire(sample, ["participant", "household", "cluster"])
