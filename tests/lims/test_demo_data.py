"""The synthetic survey generator: counts, status mix, household links, accession counters,
audit trail, determinism, and the ``lims demo-data`` command."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
import sqlalchemy as sa

from lims.audit.models import AuditEvent
from lims.extensions import db
from lims.monitoring.cli import demo_data
from lims.monitoring.demo import expected_raw_values, generate_demo_data
from lims.monitoring.models import Cluster, Household, Participant, PopulationGroup, RoundStatus, SurveyRound
from lims.samples.accession import parse_accession
from lims.samples.models import AccessionCounter, Sample, SampleReceipt
from tests.conftest import FIXED_NOW, make_app

N = 600


@pytest.fixture()
def generated(session):
    summary = generate_demo_data(session, seed=7, samples=N, now=FIXED_NOW, round_code="DEMO-T",
                                 chunk_size=250)
    survey_round = session.scalar(sa.select(SurveyRound).where(SurveyRound.code == "DEMO-T"))
    return summary, survey_round


def test_structure_and_counts(session, generated):
    summary, survey_round = generated
    assert survey_round.status == RoundStatus.ACTIVE
    assert len(survey_round.regions) == 20
    # every group the criteria know, so every table of a report is exercised
    assert sorted(g.code for g in survey_round.groups) == ["C6-59", "LW", "PW", "SAC", "U2", "WRA"]
    samples = session.scalars(sa.select(Sample).where(Sample.round_id == survey_round.id)).all()
    assert len(samples) == N == summary.sample_total
    clusters = session.scalars(sa.select(Cluster).where(Cluster.round_id == survey_round.id)).all()
    assert len(clusters) == summary.clusters and {c.region_id for c in clusters} == {
        r.id for r in survey_round.regions}
    assert {c.site_type.value for c in clusters} == {"school", "clinic", "settlement"}
    assert all(s.region_id == s.cluster.region_id for s in samples)
    start, end = survey_round.period_start, min(survey_round.period_end, FIXED_NOW.date())
    assert all(start <= s.collected_at.date() <= end for s in samples)
    assert all(s.collected_at <= s.registered_at <= FIXED_NOW for s in samples)


def test_status_mix(session, generated):
    _, survey_round = generated
    statuses = Counter(session.scalars(sa.select(Sample.status).where(Sample.round_id == survey_round.id)))
    assert statuses["received"] > 0.8 * N
    assert 0 < statuses["rejected"] < 0.08 * N
    assert statuses["registered"] > 0
    assert statuses["received"] + statuses["rejected"] + statuses["registered"] + statuses["cancelled"] == N
    receipts = session.scalars(sa.select(SampleReceipt).join(Sample).where(Sample.round_id == survey_round.id)).all()
    assert len(receipts) == statuses["received"] + statuses["rejected"]
    assert all(r.rejection_reason is not None for r in receipts if r.decision == "rejected")
    low = [r for r in receipts if r.rejection_reason == "insufficient_volume"]
    assert all(r.volume_ml < 0.8 for r in low)


def test_households_link_salt_and_urine(session, generated):
    _, survey_round = generated
    rows = session.execute(sa.select(Sample.kind, Sample.household_id, Sample.participant_id)
                           .where(Sample.round_id == survey_round.id)).all()
    salt_households = [h for kind, h, _ in rows if kind == "salt"]
    assert len(salt_households) == len(set(salt_households))  # one salt per household
    urine_households = {h for kind, h, _ in rows if kind == "urine"}
    assert set(salt_households) <= urine_households
    participants = {p.id: p for p in session.scalars(
        sa.select(Participant).where(Participant.round_id == survey_round.id))}
    urine = [(h, p) for kind, h, p in rows if kind == "urine"]
    assert len({p for _, p in urine}) == len(urine) == len(participants)  # one urine each
    assert all(participants[p].household_id == h for h, p in urine)
    groups = {g.id: g for g in session.scalars(sa.select(PopulationGroup))}
    for p in participants.values():
        group = groups[p.population_group_id]
        assert group.min_age_months <= p.age_months <= group.max_age_months
        if group.code == "PW":
            assert p.sex == "F" and p.physiological_status == "pregnant"
    assert session.scalar(sa.select(sa.func.count()).select_from(Household).join(Cluster)
                          .where(Cluster.round_id == survey_round.id)) == len(urine_households)


def test_accessions_and_counters(session, generated):
    _, survey_round = generated
    for kind, prefix in (("urine", "U"), ("salt", "S")):
        accessions = session.scalars(sa.select(Sample.accession).where(
            Sample.round_id == survey_round.id, Sample.kind == kind)).all()
        numbers = sorted(parse_accession(a)[2] for a in accessions)
        assert all(a.startswith(f"{prefix}-2026-") for a in accessions)
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        counter = session.get(AccessionCounter, (kind, 2026))
        assert counter.last_value == numbers[-1]


def test_every_sample_has_its_audit_events(session, generated):
    _, survey_round = generated
    ids = sa.select(Sample.id).where(Sample.round_id == survey_round.id).scalar_subquery()
    actions = Counter(session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "sample", AuditEvent.entity_id.in_(ids))))
    statuses = Counter(session.scalars(sa.select(Sample.status).where(Sample.round_id == survey_round.id)))
    assert actions["registered"] == N
    assert actions["receive"] == statuses["received"]
    assert actions["reject"] == statuses["rejected"]
    assert actions["cancel"] == statuses["cancelled"]


def fingerprint(url: str) -> str:
    app = make_app(url)
    with app.app_context():
        generate_demo_data(db.session, seed=3, samples=150, now=FIXED_NOW, chunk_size=64)
        rows = db.session.execute(
            sa.select(Sample.accession, Sample.kind, Sample.status, Sample.collected_at,
                      Sample.registered_at, Sample.volume_ml, Sample.brand, Sample.packaging,
                      Cluster.code, Household.code, Participant.code, Participant.age_months)
            .join(Cluster, Cluster.id == Sample.cluster_id)
            .outerjoin(Household, Household.id == Sample.household_id)
            .outerjoin(Participant, Participant.id == Sample.participant_id)
            .order_by(Sample.accession)).all()
        db.session.rollback()
        db.engine.dispose()
    return hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()


def test_same_seed_same_data(new_database):
    assert fingerprint(new_database()) == fingerprint(new_database())


def test_expected_raw_values_are_deterministic_and_plausible():
    urine = expected_raw_values(1, "U-2026-000001", region_iso="KZ-11", group_code="SAC")
    assert urine == expected_raw_values(1, "U-2026-000001", region_iso="KZ-11", group_code="SAC")
    assert urine != expected_raw_values(2, "U-2026-000001", region_iso="KZ-11", group_code="SAC")
    values = [expected_raw_values(1, f"U-2026-{n:06d}").value for n in range(1, 400)]
    median = sorted(values)[len(values) // 2]
    assert 100 < median < 260 and min(values) >= 5
    salt = [expected_raw_values(1, f"S-2026-{n:06d}") for n in range(1, 400)]
    adequate = sum(s.value >= 15 for s in salt) / len(salt)
    assert 0.75 < adequate < 0.95
    assert all(s.raw["titrant_ml"] == pytest.approx(s.value / 10.58, abs=0.01) for s in salt)


def test_cli_generates_and_respects_if_empty_and_if_new_round(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(demo_data, ["--seed", "5", "--samples", "80", "--round-code", "CLI-T"])
    assert result.exit_code == 0, result.output
    assert "80 samples" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Sample)
                          .join(SurveyRound).where(SurveyRound.code == "CLI-T")) == 80
    again = runner.invoke(demo_data, ["--samples", "80", "--if-empty", "--round-code", "CLI-T2"])
    assert again.exit_code == 0 and "samples exist already" in again.output
    skipped = runner.invoke(demo_data, ["--samples", "10", "--if-new-round", "--round-code", "CLI-T"])
    assert skipped.exit_code == 0 and "survey round CLI-T exists already" in skipped.output
    earlier = runner.invoke(demo_data, ["--seed", "6", "--samples", "30", "--year", "2021",
                                        "--if-new-round"])
    assert earlier.exit_code == 0 and "round NIS-2021" in earlier.output, earlier.output
    clash = runner.invoke(demo_data, ["--samples", "10", "--round-code", "CLI-T"])
    assert clash.exit_code == 1 and "CLI-T already exists" in clash.output
    bad = runner.invoke(demo_data, ["--samples", "0"])
    assert bad.exit_code == 2 and "--samples" in bad.output
