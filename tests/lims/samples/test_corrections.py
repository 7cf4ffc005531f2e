"""Corrections of a registration with a reason (issue 13, item 6): each changed field is its own
audit event shown in the timeline; a sample with a verified result needs a reviewer; a stale
form is refused; the Reject/Cancel/Correct actions are buttons shown only where allowed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lims.audit.service import events_for
from lims.core.errors import ConflictError, PermissionDenied, ValidationError
from lims.core.permissions import Role
from lims.monitoring.models import Household, Participant, Sex
from lims.samples import corrections
from lims.samples.corrections import Correction, correct_sample
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW as NOW


def _corrected(session, sample) -> list:
    return [e for e in events_for(session, "sample", sample.id) if e.action == "sample_corrected"]


def test_each_changed_field_is_an_audit_event_with_the_reason(session, make_user, make_sample,
                                                              make_cluster):
    tech = make_user(Role.TECHNICIAN)
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED,
                         received_at=NOW - timedelta(hours=12))
    old_code = sample.participant.code
    other = make_cluster(survey_round=sample.cluster.round, iso_code="KZ-19")
    changed = correct_sample(session, actor=tech, now=NOW, sample=sample, reason="typing error",
                             correction=Correction(age_months=120, sex=Sex.MALE,
                                                   participant_code="P-FIXED",
                                                   household_code="H-77",
                                                   cluster_code=other.code,
                                                   volume_ml=Decimal("6.50"),
                                                   collected_at=sample.collected_at))
    assert sorted(changed) == ["age_months", "cluster", "household_code", "participant_code",
                               "sex", "volume_ml"]
    events = _corrected(session, sample)
    assert len(events) == 6 and {e.reason for e in events} == {"typing error"}
    by_field = {next(iter(e.changes)): next(iter(e.changes.values())) for e in events}
    assert by_field["age_months"] == {"before": 108, "after": 120}
    assert by_field["participant_code"] == {"before": old_code, "after": "P-FIXED"}
    assert by_field["volume_ml"] == {"before": "5.00", "after": "6.50"}
    session.refresh(sample)
    assert (sample.cluster_id, sample.region_id) == (other.id, other.region_id)
    assert sample.household.code == "H-77" and sample.household.cluster_id == other.id
    assert sample.participant.cluster_id == other.id and sample.participant.age_months == 120

    with pytest.raises(ValidationError, match="Nothing to correct"):
        correct_sample(session, actor=tech, now=NOW, sample=sample, reason="again",
                       correction=Correction(age_months=120))
    with pytest.raises(ValidationError, match="needs a reason"):
        correct_sample(session, actor=tech, now=NOW, sample=sample, reason="  ",
                       correction=Correction(age_months=100))
    with pytest.raises(ValidationError, match="future"):
        correct_sample(session, actor=tech, now=NOW, sample=sample, reason="x",
                       correction=Correction(collected_at=NOW + timedelta(days=1)))
    with pytest.raises(ValidationError, match="after it was received"):
        correct_sample(session, actor=tech, now=NOW, sample=sample, reason="x",
                       correction=Correction(collected_at=sample.received_at
                                             + timedelta(hours=1)))


def test_a_participant_code_names_an_existing_participant_or_a_new_one(session, make_user,
                                                                       make_sample):
    tech = make_user(Role.TECHNICIAN)
    first = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    second = make_sample(SampleKind.URINE, cluster=first.cluster, status=SampleStatus.RECEIVED)
    correct_sample(session, actor=tech, now=NOW, sample=second, reason="scanned the wrong card",
                   correction=Correction(participant_code=first.participant.code))
    assert second.participant_id == first.participant_id
    correct_sample(session, actor=tech, now=NOW, sample=second, reason="it was right before",
                   correction=Correction(participant_code="P-NEW"))
    assert second.participant.code == "P-NEW" and first.participant.code != "P-NEW"
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant).where(
        Participant.code == "P-NEW")) == 1


def test_salt_samples_and_released_results_and_stale_forms(session, make_user, make_sample):
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    salt = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED)
    with pytest.raises(Exception, match="salt sample has no participant"):
        correct_sample(session, actor=tech, now=NOW, sample=salt, reason="x",
                       correction=Correction(age_months=100))
    seen = corrections.fingerprint(salt)
    correct_sample(session, actor=tech, now=NOW, sample=salt, reason="household mistyped",
                   correction=Correction(household_code="H-1"), seen=seen)
    with pytest.raises(ConflictError, match="meanwhile"):
        correct_sample(session, actor=tech, now=NOW, sample=salt, reason="mine",
                       correction=Correction(household_code="H-2"), seen=seen)
    assert salt.household.code == "H-1"

    verified = make_sample(SampleKind.URINE, status=SampleStatus.VERIFIED)
    assert not corrections.may_correct(session, tech, verified)
    assert corrections.may_correct(session, reviewer, verified)
    with pytest.raises(PermissionDenied, match="only a reviewer"):
        correct_sample(session, actor=tech, now=NOW, sample=verified, reason="typo",
                       correction=Correction(age_months=100))
    correct_sample(session, actor=reviewer, now=NOW, sample=verified, reason="typo",
                   correction=Correction(age_months=100))
    assert verified.participant.age_months == 100
    assert session.scalar(sa.select(sa.func.count()).select_from(Household).where(
        Household.code == "H-2")) == 0


def test_the_sample_page_corrects_and_shows_it_in_the_timeline(session, client, login,
                                                               make_user, make_sample):
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED, received_at=NOW)
    cancelled = make_sample(SampleKind.URINE, status=SampleStatus.CANCELLED)
    verified = make_sample(SampleKind.URINE, status=SampleStatus.VERIFIED)
    session.commit()
    login(tech)
    page = client.get(f"/samples/{sample.accession}").get_data(as_text=True)
    for action in ("correct-action", "reject-action", "cancel-action"):
        assert f'<details class="action" id="{action}">' in page  # closed: a button
    assert "<summary" in page
    done = client.get(f"/samples/{cancelled.accession}").get_data(as_text=True)
    assert "reject-action" not in done and "cancel-action" not in done
    assert "correct-action" not in client.get(f"/samples/{verified.accession}").get_data(
        as_text=True)
    seen = corrections.fingerprint(sample)
    form = {"participant_code": sample.participant.code,
            "household_code": sample.household.code, "cluster_code": sample.cluster.code,
            "age_months": "109", "sex": "F", "volume_ml": "5.00", "seen": seen,
            "collected_at": "2026-01-01T10:00"}
    refused = client.post(f"/samples/{sample.accession}/correct", data={**form, "reason": ""})
    assert refused.status_code == 422
    assert '<details class="action" id="correct-action" open>' in refused.get_data(as_text=True)
    ok = client.post(f"/samples/{sample.accession}/correct",
                     data={**form, "reason": "typing error"})
    assert ok.status_code == 302
    timeline = client.get(f"/samples/{sample.accession}").get_data(as_text=True)
    assert "Registration corrected" in timeline and "typing error" in timeline
    assert "Age (months)" in timeline and "109" in timeline
    stale = client.post(f"/samples/{sample.accession}/correct",
                        data={**form, "age_months": "110", "reason": "mine"})
    assert stale.status_code == 409
    assert client.post(f"/samples/{verified.accession}/correct",
                       data={**form, "reason": "typo"}).status_code == 403
    client.post("/logout")
    login(reviewer)
    page = client.get(f"/samples/{verified.accession}").get_data(as_text=True)
    assert "correct-action" in page and "reject-action" not in page
