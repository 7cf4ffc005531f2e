"""Panels other rooms add to the home dashboard: silent instrument drivers and equipment due
(lims/equipment/panels.py), and the last backup for administrators (lims/backup/panels.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from lims.backup.models import BackupOutcome, BackupRun
from lims.capture.models import Protocol
from lims.core.permissions import Role
from lims.equipment import panels as equipment_panels
from lims.equipment import service as equipment
from lims.equipment.models import CalibrationOutcome
from lims.home.panels import panels_for
from tests.conftest import FIXED_NOW
from tests.lims.capture.conftest import admin, make_instrument  # noqa: F401  (shared fixtures)
from tests.lims.equipment.test_heartbeat import _state

WORKING = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)  # Thursday 13:30 in Almaty


def test_equipment_panel_names_silent_drivers_and_calibrations_due(
        app, session, make_user, make_instrument, admin) -> None:
    technician = make_user(Role.TECHNICIAN)
    silent, _ = make_instrument(Protocol.METROHM, code="PANEL-SILENT")
    _state(session, silent, WORKING - timedelta(minutes=47))
    with app.test_request_context():
        # before the driver fell silent (and with nothing due), there is no panel at all
        assert equipment_panels.equipment(session, technician, WORKING - timedelta(minutes=40)) \
            is None
        record = equipment.register_equipment(session, actor=admin, now=FIXED_NOW,
                                              code="EQ-BALANCE-1", name="Balance")
        equipment.record_calibration(session, actor=admin, now=FIXED_NOW, equipment=record,
                                     calibrated_on=date(2025, 6, 1), valid_until=date(2026, 5, 30),
                                     performed_by="metrology service",
                                     outcome=CalibrationOutcome.PASS)
        session.flush()
        shown = {p.title: p for p in panels_for(session, technician, WORKING)}
    panel = shown["Instruments and equipment"]
    counts = {t.label: (t.count, t.alert) for t in panel.tiles}
    assert counts["Instrument drivers silent"] == (1, True)
    assert counts["Calibrations and maintenance due in 30 days"] == (1, True)
    notes = {link.label: link.note for link in panel.links}
    assert "silent for 47 min (limit 10 min)" in notes[f"PANEL-SILENT · {silent.name}"]
    assert notes["EQ-BALANCE-1 · Balance"].startswith("calibration due on")


def test_backup_panel_turns_red_without_a_recent_backup(app, session, make_user) -> None:
    admin = make_user(Role.ADMIN)
    technician = make_user(Role.TECHNICIAN)
    with app.test_request_context():
        first = {p.title: p for p in panels_for(session, admin, FIXED_NOW)}["Backups"]
        assert [(t.label, t.alert) for t in first.tiles] == [("Backup problems", True)]
        assert first.links[0].note == "none yet"
        session.add(BackupRun(outcome=BackupOutcome.OK, started_at=FIXED_NOW - timedelta(hours=2),
                              finished_at=FIXED_NOW - timedelta(hours=1)))
        session.flush()
        fresh = {p.title: p for p in panels_for(session, admin, FIXED_NOW)}["Backups"]
        assert fresh.tiles == []
        late = {p.title: p for p in panels_for(session, admin, FIXED_NOW + timedelta(hours=27))}
        assert [t.label for t in late["Backups"].tiles] == ["Backup problems"]
        assert "Backups" not in {p.title for p in panels_for(session, technician, FIXED_NOW)}
