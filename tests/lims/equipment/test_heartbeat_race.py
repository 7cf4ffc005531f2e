"""Two heartbeats for one instrument at the same instant (a driver restarted while its old
process still reports) leave one row holding one of them: the upsert never fails, never doubles."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lims.auth import services as auth
from lims.capture.models import Instrument, Protocol
from lims.capture.service import InstrumentFields, create_instrument
from lims.core.permissions import Role
from lims.equipment.models import InstrumentHealth
from lims.equipment.service import record_heartbeat
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, split

N = 6


@needs_postgres
def test_concurrent_heartbeats_keep_one_row(race_app: Flask) -> None:
    with race_app.app_context():
        admin = auth.create_user(db.session, actor=None, now=FIXED_NOW, username="hb-admin",
                                 password="correct-horse-battery-9", roles=[Role.ADMIN])
        instrument_id = create_instrument(db.session, actor=admin, now=FIXED_NOW, fields=InstrumentFields(
            "HB-RACE-1", "ICP-MS", Protocol.ASTM)).id
        db.session.commit()

    for round_ in range(3):
        def prepare(i: int) -> Instrument:
            return db.session.get(Instrument, instrument_id)

        def act(i: int, instrument: Instrument) -> int:
            record_heartbeat(db.session, instrument=instrument, now=FIXED_NOW, heartbeat={
                "driver_version": "0.1.0", "port_open": True, "spool_depth": 100 * round_ + i})
            return i

        winners, refused = split(race(race_app, N, prepare, act))
        assert len(winners) == N and refused == []
        with race_app.app_context():
            rows = db.session.scalars(sa.select(InstrumentHealth).where(
                InstrumentHealth.instrument_id == instrument_id)).all()
            assert len(rows) == 1 and rows[0].spool_depth in {100 * round_ + i for i in range(N)}
