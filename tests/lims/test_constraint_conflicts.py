"""The database's last line (migration 0007) and what a user sees when it holds.

When a write gets past the row locks and is refused by a unique index, the user gets the same
409 as any conflict — the error page, or a problem+json document — never a 500. The migration
itself finds duplicates stored before the indexes existed, keeps the earliest, marks the others
superseded and audits the repair.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lims import dbtools
from lims.analysis import catalogue
from lims.analysis.models import Analyte, Result, ResultStatus
from lims.audit.models import AuditEvent
from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, SampleKind, SampleReceipt
from tests.conftest import FIXED_NOW, make_app

RECEIPTS = sa.table("sample_receipts", sa.column("id", sa.Integer),
                    sa.column("sample_id", sa.Integer), sa.column("received_at", sa.DateTime),
                    sa.column("received_by_id", sa.Integer), sa.column("decision", sa.String),
                    sa.column("rejection_reason", sa.String))


def _accepted_receipt(session, sample, user) -> None:
    """The receipt a concurrent winner stored while this request still saw 'registered'."""
    session.add(SampleReceipt(sample=sample, received_at=FIXED_NOW, received_by_id=user.id,
                              decision=ReceiptDecision.ACCEPTED))
    session.commit()


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_write_refused_by_the_database_is_a_409(session, client, login, make_user,
                                                  make_sample, accept):
    tech = make_user(Role.TECHNICIAN)
    sample = make_sample(SampleKind.SALT, status=SampleStatus.REGISTERED)
    _accepted_receipt(session, sample, tech)
    login(tech)
    response = client.post("/samples/receive", headers={"Accept": accept}, data={
        "accession": "", "pending": sample.accession, "container_intact": "yes",
        "decision": "accepted", "temperature_c": "", "rejection_reason": "", "note": ""})
    assert response.status_code == 409
    if accept == "application/json":
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 409 and response.json["title"] == "Conflict"
    else:
        assert "nothing was saved" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(SampleReceipt)
                          .where(SampleReceipt.sample_id == sample.id)) == 1


def test_migration_0007_supersedes_and_audits_stored_duplicates(new_database, make_sample_rows):
    app = make_app(new_database())
    with app.app_context():
        ids = make_sample_rows(db.session)
        dbtools.upgrade(db.engine)
        session = db.session
        receipts = session.execute(sa.select(SampleReceipt.id, SampleReceipt.decision,
                                             SampleReceipt.superseded)
                                   .where(SampleReceipt.sample_id == ids["sample"])
                                   .order_by(SampleReceipt.id)).all()
        assert [(d, s) for _, d, s in receipts] == [
            (ReceiptDecision.ACCEPTED, False), (ReceiptDecision.ACCEPTED, True),
            (ReceiptDecision.ACCEPTED, True), (ReceiptDecision.REJECTED, False)]
        results = session.execute(sa.select(Result.id, Result.is_current, Result.status)
                                  .where(Result.sample_id == ids["sample"])
                                  .order_by(Result.id)).all()
        assert [(c, s) for _, c, s in results] == [
            (False, ResultStatus.SUPERSEDED), (True, ResultStatus.PRELIMINARY),
            (False, ResultStatus.SUPERSEDED)]
        audit = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like(
            "%_duplicates_superseded")).order_by(AuditEvent.id)).all()
        assert [(a.action, a.entity_type, a.entity_id, a.actor_name) for a in audit] == [
            ("receipt_duplicates_superseded", "sample", ids["sample"], "system"),
            ("result_duplicates_superseded", "result", results[1][0], "system")]
        assert audit[0].changes["superseded_receipts"] == [r[0] for r in receipts[1:3]]
        assert audit[1].changes["superseded_results"] == [results[2][0]]
        # from now on the database refuses a second deciding receipt
        with pytest.raises(IntegrityError):
            session.execute(sa.insert(RECEIPTS).values(
                sample_id=ids["sample"], received_at=FIXED_NOW, received_by_id=ids["user"],
                decision="accepted"))
        session.rollback()
        db.engine.dispose()


@pytest.fixture()
def make_sample_rows():
    """What concurrent clicks left before 0007: three accepted receipts (and one legitimate
    later rejection) and two current versions amending the same verified result. The sample,
    its survey and its user are made at the head schema, through the models; the database is
    then taken back to 0006 (which keeps them) and the duplicates, which the head schema
    refuses, are written there."""
    from lims.monitoring.models import (
        Cluster,
        District,
        PopulationGroup,
        Programme,
        Region,
        SurveyRound,
    )
    from lims.samples.models import SaltSource, Sample

    def build(session):
        region = session.scalars(sa.select(Region).where(Region.iso_code == "KZ-11")).one()
        survey_round = SurveyRound(
            programme=Programme(code="NIS", name="NIS", created_at=FIXED_NOW), code="R",
            name="R", period_start=FIXED_NOW.date(), period_end=FIXED_NOW.date(),
            created_at=FIXED_NOW, status="active", regions=[region],
            groups=list(session.scalars(sa.select(PopulationGroup))))
        district = District(region=region, code="D", name_en="D", name_kk="D", name_ru="D")
        session.add(district)
        cluster = Cluster(round=survey_round, region=region, code="C", name="C",
                          district=district, site_type="school", target_count=1)
        session.add(cluster)
        user = create_user(session, actor=None, now=FIXED_NOW, username="tech",
                           password="correct-horse-battery-9", roles=[Role.TECHNICIAN])
        catalogue.seed_methods(session, now=FIXED_NOW)
        sample = Sample(kind=SampleKind.SALT, status=SampleStatus.PENDING_REVIEW,
                        cluster=cluster, round=survey_round, region=region,
                        accession="S-2026-000001", salt_source=SaltSource.HOUSEHOLD,
                        collected_at=FIXED_NOW - timedelta(days=1), registered_at=FIXED_NOW)
        session.add(sample)
        session.flush()
        ids = {"sample": sample.id, "user": user.id}
        session.commit()
        dbtools.downgrade(db.engine, "0006")
        session.expunge_all()
        for decision, reason in [("accepted", None)] * 3 + [("rejected", "contaminated")]:
            session.execute(sa.insert(RECEIPTS).values(
                sample_id=ids["sample"], received_at=FIXED_NOW, received_by_id=ids["user"],
                decision=decision, rejection_reason=reason))
        mv = catalogue.current_version(session, "SALT-TITR")
        common = dict(sample_id=ids["sample"], analyte=Analyte.SALT_IODINE,
                      method_version_id=mv.id, unit="mg/kg", flags=[], details={},
                      created_at=FIXED_NOW, created_by_id=ids["user"])
        first = Result(version=1, is_current=False, status=ResultStatus.SUPERSEDED, value=30.0,
                       **common)
        session.add(first)
        session.flush()
        for value in (31.0, 32.0):
            session.add(Result(version=2, supersedes_id=first.id, is_current=True,
                               status=ResultStatus.PRELIMINARY, value=value,
                               amendment_reason="typo", **common))
            session.flush()
        session.commit()  # and no read after it: SQLite would keep its pre-upgrade snapshot
        return ids

    return build
