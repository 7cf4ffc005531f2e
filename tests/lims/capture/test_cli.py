from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from lims.capture import reasons as reasons_of
from lims.capture.models import Instrument, InstrumentReading, ReadingStatus
from lims.cli import main
from lims.core.permissions import Role


def test_demo_instruments_then_a_token(app: Flask, session: Session, make_user) -> None:
    admin = make_user(Role.ADMIN)
    session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["instruments", "demo", "--by", admin.username])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["instruments", "demo", "--by", admin.username])
    assert "0 registered" in again.output
    assert "0 unmatched readings added" in again.output  # fixed keys: answered as duplicates
    inbox = list(session.scalars(sa.select(InstrumentReading).order_by(InstrumentReading.id)))
    assert {r.status for r in inbox} == {ReadingStatus.UNMATCHED}
    reasons = [reasons_of.describe(r.reason) for r in inbox]
    assert any("U-2026-999999" in reason and "no sample" in reason.lower() for reason in reasons), reasons
    assert any("checksum" in reason for reason in reasons), reasons
    codes = set(session.scalars(sa.select(Instrument.code)))
    assert {"ICPMS-01", "SK-READER-01", "WYD-01"} <= codes
    issued = runner.invoke(main, ["instruments", "token", "ICPMS-01", "--by", admin.username])
    assert issued.exit_code == 0 and issued.output.strip().startswith("lims_")
    manual = runner.invoke(main, ["instruments", "token", "WYD-01", "--by", admin.username])
    assert manual.exit_code != 0 and "needs no token" in manual.output
    unknown = runner.invoke(main, ["instruments", "token", "NOPE", "--by", admin.username])
    assert unknown.exit_code != 0 and "no instrument with code 'NOPE'" in unknown.output
