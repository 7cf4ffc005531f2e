"""The QA annex from the lab's own records: the runs that analysed the report's samples (used or
rejected, with the reason), control statistics of the runs used with their Westgard violations,
the instruments, the methods' LOD and LOQ — each figure computed from stored rows."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lims.analysis.demo import seed_demo_qc
from lims.analysis.models import AnalyticalRun, MethodVersionRow, RunSample, RunStatus
from lims.auth.models import User
from lims.capture.models import Instrument, Protocol
from lims.extensions import db
from lims.monitoring.models import SurveyRound
from lims.qc.models import ControlLot, ControlMaterial, ControlResult
from lims.reporting.data import ReportScope
from lims.reporting.qa import qa_sections
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.lims.reporting.test_jobs import report_app  # noqa: F401


def test_the_annex_is_computed_from_the_records(report_app: Flask) -> None:  # noqa: F811
    with report_app.app_context():
        session = db.session
        seed_demo_qc(session, actor=None, now=FIXED_NOW)
        tech = session.scalar(sa.select(User).where(User.username == "rtech"))
        rid = session.scalar(sa.select(SurveyRound.id))
        uic = session.scalar(sa.select(MethodVersionRow).where(
            MethodVersionRow.code == "UIC-SK-PLATE"))
        photometer = Instrument(code="PM-1", name="Plate reader", model="Multiskan FC",
                                serial_number="SN-0042", protocol=Protocol.ASTM,
                                created_at=FIXED_NOW)
        session.add(photometer)
        session.flush()
        samples = session.scalars(sa.select(Sample.id).where(
            Sample.kind == SampleKind.URINE, Sample.round_id == rid,
            Sample.status == SampleStatus.VERIFIED).order_by(Sample.id).limit(6)).all()
        used = AnalyticalRun(method_version_id=uic.id, instrument_id=photometer.id,
                             status=RunStatus.ACCEPTED, created_at=FIXED_NOW, created_by_id=tech.id,
                             qc={"violations": [{"rule": "1-2s", "levels": ["low"], "run_ids": [],
                                                 "message": "1-2s", "reject": False}]})
        dropped = AnalyticalRun(method_version_id=uic.id, instrument_id=photometer.id,
                                status=RunStatus.REJECTED, created_at=FIXED_NOW,
                                created_by_id=tech.id, decided_at=FIXED_NOW,
                                decision_reason="2-2s on the high control")
        session.add_all([used, dropped])
        session.flush()
        for position, sample_id in enumerate(samples):
            run = used if position < 4 else dropped
            session.add(RunSample(run_id=run.id, sample_id=sample_id, position=position))
        lot = session.scalar(sa.select(ControlLot).join(ControlMaterial).where(
            ControlMaterial.method_code == "UIC-SK-PLATE").order_by(ControlLot.id).limit(1))
        level = lot.material.level
        for replicate, value in enumerate((48.0, 54.0), start=1):
            session.add(ControlResult(run_id=used.id, lot_id=lot.id, level=level,
                                      replicate=replicate, value=value, created_at=FIXED_NOW))
        session.flush()
        sections = {s.title: s for s in qa_sections(session, ReportScope(round_id=rid), [uic.id],
                                                    lang="en")}
        methods = sections["Methods"]
        definition = uic.definition
        assert methods.rows[0][2] == round(definition["lod"], 2)
        assert methods.rows[0][3] == round(definition["loq"], 2)
        runs = {(r[0], r[1]): r[2] for r in sections["Analytical runs of the report's samples"].rows}
        assert runs == {("UIC-SK-PLATE", "accepted"): 1, ("UIC-SK-PLATE", "rejected"): 1}
        (rejected,) = sections["Rejected runs"].rows
        assert rejected[0] == f"RUN-{dropped.id:06d}" and rejected[3] == 2
        assert rejected[4] == "2-2s on the high control"
        (control,) = sections["Control materials"].rows
        assert control[2] == lot.lot_number and control[5] == 2 and control[6] == 51.0
        assert control[3] == round(lot.target_mean, 1)
        assert control[10] == ("1-2s: 1" if level == "low" else "—")
        (instrument,) = sections["Instruments"].rows
        assert instrument == ("PM-1 · Plate reader", "Multiskan FC", "SN-0042", 2)
        assert sections["Replicate agreement"].rows == ()  # these results carry no replicates
