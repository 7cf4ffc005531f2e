"""``lims demo``: the whole demo set-up in one process, each step skipping what is done."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lims.analysis.models import AnalyticalRun, Result
from lims.auth.models import User
from lims.capture.models import Instrument
from lims.cli import main
from lims.extensions import db
from lims.logistics.shipment_models import (
    DiscrepancyKind,
    Shipment,
    ShipmentDiscrepancy,
    ShipmentItem,
    ShipmentStatus,
)
from lims.logistics.storage_models import Aliquot, AliquotState, RetentionRule, StorageUnit
from lims.monitoring.models import SurveyRound
from lims.samples.models import Sample
from tests.conftest import fresh_database, make_app


def _counts() -> dict[str, int]:
    def count(model: type) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return {"samples": count(Sample), "rounds": count(SurveyRound), "users": count(User),
            "instruments": count(Instrument), "runs": count(AnalyticalRun),
            "results": count(Result), "units": count(StorageUnit), "aliquots": count(Aliquot),
            "retention": count(RetentionRule), "shipments": count(Shipment),
            "shipment_items": count(ShipmentItem)}


def test_demo_sets_up_everything_once_and_a_second_run_adds_nothing(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        app = make_app(url)
        runner = app.test_cli_runner()
        args = ["demo", "--samples", "300", "--earlier-samples", "60", "--url",
                "http://127.0.0.1:5000/"]
        first = runner.invoke(main, args)
        assert first.exit_code == 0, first.output
        with app.app_context():
            made = _counts()
            names = set(db.session.scalars(sa.select(User.username)))
            years = sorted(d.year for d in
                           db.session.scalars(sa.select(SurveyRound.period_start)))
        # 300 + 60 survey samples, and the 10 salt samples of the logistics demo's shipments
        assert made["samples"] == 360 + 10 and {"admin", "tech", "reviewer", "ministry"} <= names and made["instruments"] >= 1
        assert made["runs"] >= 1 and made["results"] > 0
        assert years[0] == 2021 and len(years) == 2
        with app.app_context():
            _assert_logistics(made)
        # the logins and the address are the last thing printed
        assert first.output.strip().splitlines()[-1] == (
            "Open http://127.0.0.1:5000/ and log in (Ctrl+C stops the server).")

        again = runner.invoke(main, args)
        assert again.exit_code == 0, again.output
        with app.app_context():
            assert _counts() == made
        with app.app_context():  # after the session has given its connection back
            db.engine.dispose()
        assert again.output.count("exists already") == 2
        assert "exist already: no demo results generated" in again.output
        assert "demo storage DEMO-F1 already there; nothing added" in again.output


def _assert_logistics(made: dict[str, int]) -> None:
    """A freezer, a rack and two 9×9 urine boxes with placed aliquots, one checked out; a
    retention rule; a shipment in transit with its manifest and a closed one with exactly one
    missing and one extra sample."""
    assert made["units"] == 4 and made["retention"] == 1 and made["aliquots"] > 0
    boxes = db.session.scalars(sa.select(StorageUnit).where(StorageUnit.n_rows.is_not(None)))
    assert {(b.n_rows, b.n_cols) for b in boxes} == {(9, 9)}
    states = [a.state for a in db.session.scalars(sa.select(Aliquot))]
    assert states.count(AliquotState.CHECKED_OUT) == 1
    assert states.count(AliquotState.STORED) == len(states) - 1
    by_status = {s.status: s for s in db.session.scalars(sa.select(Shipment))}
    assert set(by_status) == {ShipmentStatus.IN_TRANSIT, ShipmentStatus.CLOSED}
    assert db.session.scalar(sa.select(sa.func.count()).where(
        ShipmentItem.shipment_id == by_status[ShipmentStatus.IN_TRANSIT].id)) > 0
    kinds = sorted(d.kind for d in db.session.scalars(sa.select(ShipmentDiscrepancy).where(
        ShipmentDiscrepancy.shipment_id == by_status[ShipmentStatus.CLOSED].id)))
    assert kinds == sorted([DiscrepancyKind.MISSING, DiscrepancyKind.EXTRA])
