"""``lims demo-results`` takes real runs through the whole flow and fills results for samples
past analysis; ``lims analysis plate-text`` writes what the simulated reader would send."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from instruments.codecs.plate_reader import PlateReaderDecoder
from lims.analysis import runs
from lims.analysis.demo import simulated_plate
from lims.analysis.models import AnalyticalRun, Result, ResultStatus, RunStatus
from lims.capture.models import Protocol
from lims.capture.service import InstrumentFields, create_instrument
from lims.cli import main
from lims.core.permissions import Role
from lims.monitoring.demo import expected_raw_values
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW


def test_demo_results_runs_the_flow_and_fills_samples_past_analysis(app, session, make_user,
                                                                    make_sample, received):
    admin = make_user(Role.ADMIN, username="admin")
    for name, role in (("tech", Role.TECHNICIAN), ("tech2", Role.TECHNICIAN),
                       ("reviewer", Role.REVIEWER)):
        make_user(role, username=name)
    create_instrument(session, actor=admin, now=FIXED_NOW, fields=InstrumentFields(
        "SK-READER-01", "reader", Protocol.BIORAD))
    received(10)
    received(4, SampleKind.SALT)
    done = make_sample(SampleKind.SALT, status=SampleStatus.VERIFIED)
    session.commit()
    result = app.test_cli_runner().invoke(main, ["demo-results", "--seed", "7", "--plates", "1",
                                                 "--titrations", "1"])
    assert result.exit_code == 0, result.output
    made = session.scalars(sa.select(AnalyticalRun)).all()
    assert sorted(r.status for r in made) == [RunStatus.ACCEPTED, RunStatus.ACCEPTED]
    assert session.scalar(sa.select(sa.func.count()).select_from(Result).where(
        Result.status == ResultStatus.VERIFIED, Result.run_id.is_not(None))) >= 10
    bulk = session.scalar(sa.select(Result).where(Result.sample_id == done.id))
    assert bulk.status is ResultStatus.VERIFIED and bulk.analyte.value == "salt_iodine"
    assert bulk.value == pytest.approx(expected_raw_values(7, done.accession,
                                                           region_iso="KZ-11").value)
    again = app.test_cli_runner().invoke(main, ["demo-results", "--seed", "7", "--if-empty"])
    assert "exist already" in again.output


def test_plate_text_is_the_runs_simulated_plate(app, session, lab, received):
    run = runs.create_run(session, actor=lab["tech"], now=FIXED_NOW,
                          method_version=lab["plate_method"],
                          candidates=[runs.Candidate(s) for s in received(3)])
    session.commit()
    result = app.test_cli_runner().invoke(main, ["analysis", "plate-text", str(run.id),
                                                 "--seed", "7"])
    assert result.exit_code == 0, result.output
    (plate,) = PlateReaderDecoder("SK-READER-01").feed(result.stdout_bytes)
    expected = simulated_plate(session, run, seed=7)
    assert dict(plate.wells) == pytest.approx(expected, abs=5e-4)
