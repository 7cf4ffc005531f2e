"""Backups and restores on a real database (SQLite, or PostgreSQL with LIMS_TEST_DATABASE_URL):
a restore drill while people work, older and newer schemas, damaged files, a missing or full
destination, and ``lims check`` finding a rewritten or deleted audit event."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from lims import dbtools
from lims.audit import sealing
from lims.audit.service import record_event
from lims.auth.models import User
from lims.auth.services import create_user
from lims.backup import archive, service
from lims.backup.check import run_checks
from lims.backup.queries import backup_status
from lims.backup.service import head_revision
from lims.cli import main
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster, District, PopulationGroup, Programme, Region, SurveyRound
from lims.samples.models import ReceiptDecision, Sample
from lims.samples.registration import register_salt_sample
from lims.samples.transitions import receive_sample
from tests.conftest import FIXED_NOW, fresh_database, is_postgres, make_app

PASSWORD = "backup-test-password-1"


@pytest.fixture()
def empty_database(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """URLs of new databases without any table: restore targets."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(fresh_database(tmp_path))


_APPS: list[Flask] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    """Every app's pooled connections closed before its database is dropped."""
    yield
    while _APPS:
        with _APPS.pop().app_context():
            db.engine.dispose()


def lab_app(url: str, backups: Path, **config: object) -> Flask:
    backups.mkdir(exist_ok=True)
    app = make_app(url, BACKUP_DIR=str(backups), **config)
    _APPS.append(app)
    return app


def settings(app: Flask) -> service.BackupSettings:
    return service.BackupSettings.from_config(app.config, app.instance_path)


def set_up_lab(app: Flask) -> tuple[int, int]:
    """(technician id, cluster id), committed."""
    with app.app_context():
        session = db.session
        tech = create_user(session, actor=None, now=FIXED_NOW, username="btech",
                           password=PASSWORD, roles=(Role.TECHNICIAN, Role.ADMIN))
        region = session.scalars(sa.select(Region).where(Region.iso_code == "KZ-11")).one()
        survey = SurveyRound(programme=Programme(code="P1", name="Survey", created_at=FIXED_NOW),
                             code="R1", name="Round", period_start=FIXED_NOW.date(),
                             period_end=FIXED_NOW.date() + timedelta(days=365),
                             created_at=FIXED_NOW, status="active")
        survey.regions = [region]
        survey.groups = list(session.scalars(sa.select(PopulationGroup)))
        district = District(region=region, code="D1", name_en="D", name_kk="D", name_ru="D")
        cluster = Cluster(round=survey, district=district, region=region, code="C1", name="School",
                          site_type="school", target_count=30)
        session.add_all([survey, cluster])
        session.commit()
        return tech.id, cluster.id


def register_and_receive(app: Flask, tech_id: int, cluster_id: int, household: str) -> None:
    """What a technician does at the bench: register a salt sample, then accept it."""
    with app.app_context():
        session = db.session
        tech = session.get_one(User, tech_id)
        sample = register_salt_sample(session, actor=tech, now=now_utc(), cluster_id=cluster_id,
                                      household_code=household, salt_source="household",
                                      brand=None, packaging=None, iodized_per_label=True,
                                      collected_at=now_utc() - timedelta(hours=2))
        session.commit()
        receive_sample(session, actor=tech, now=now_utc(), sample=sample,
                       decision=ReceiptDecision.ACCEPTED)
        session.commit()


def audit_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.text("SELECT id FROM audit_events ORDER BY id")))


def test_restore_drill_while_technicians_work(new_database: Callable[[], str],
                                              empty_database: Callable[[], str],
                                              tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    tech_id, cluster_id = set_up_lab(app)
    for n in range(5):
        register_and_receive(app, tech_id, cluster_id, f"before-{n}")
    stop = threading.Event()
    written = [0, 0]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            while not stop.is_set():
                register_and_receive(app, tech_id, cluster_id, f"w{worker}-{written[worker]}")
                written[worker] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    try:
        while sum(written) < 4 and not errors:
            stop.wait(0.05)
        with app.app_context():
            started = sum(written)
            result = service.take_backup(db.engine, settings(app), now=now_utc())
            during = sum(written) - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors
    assert during > 0, "the writers were held up by the backup"
    manifest = result.manifest
    assert manifest["row_counts"]["samples"] >= 9
    assert manifest["audit_head"]["event_id"] is not None

    target = empty_database()
    restored = lab_app(target, tmp_path / "backups")
    with restored.app_context():
        outcome = service.restore_backup(result.path, db.engine, secret=None)
        assert outcome.differences() == []
        assert outcome.restored_counts == manifest["row_counts"]
        report = run_checks(db.engine)
        assert report.problems == []
        assert report.audit_head.startswith(f"#{manifest['audit_head']['event_id']} ")
        accession = db.session.scalar(sa.select(Sample.accession).order_by(Sample.id.desc()))
    client = restored.test_client()
    assert client.post("/login", data={"username": "btech", "password": PASSWORD}).status_code == 302
    page = client.get(f"/samples/{accession}")
    assert page.status_code == 200 and accession in page.get_data(as_text=True)


def test_a_backup_of_the_previous_schema_restores_and_upgrades(
        empty_database: Callable[[], str], tmp_path: Path) -> None:
    app = lab_app(empty_database(), tmp_path / "backups")
    with app.app_context():
        dbtools.upgrade(db.engine, "0011")  # the LIMS before the audit chain
        for n in range(3):
            record_event(db.session, actor=None, now=FIXED_NOW, action="test", entity_type="t",
                         entity_id=n)
        db.session.commit()
        result = service.take_backup(db.engine, settings(app), now=now_utc())
    assert result.manifest["alembic_revision"] == "0011"
    assert result.path.name.endswith("-r0011.limsbak")
    restored = lab_app(empty_database(), tmp_path / "backups")
    with restored.app_context():
        outcome = service.restore_backup(result.path, db.engine, secret=None)
        assert (outcome.revision_before, outcome.revision_after) == ("0011", head_revision())
        assert outcome.differences() == []
        report = run_checks(db.engine)
    assert report.problems == []
    assert "3 event(s) verified" in " ".join(report.notes)  # sealed by migration 0012


def test_a_backup_from_a_newer_schema_is_refused(new_database: Callable[[], str],
                                                 empty_database: Callable[[], str],
                                                 tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
        result = service.take_backup(db.engine, settings(app), now=now_utc())
    target = lab_app(empty_database(), tmp_path / "backups")
    with target.app_context():
        with pytest.raises(service.BackupError, match="revision 0099, newer than this LIMS"):
            service.restore_backup(result.path, db.engine, secret=None)
        assert service.database_is_empty(db.engine)


def test_damaged_or_wrongly_keyed_backups_are_refused_and_nothing_is_written(
        new_database: Callable[[], str], empty_database: Callable[[], str],
        tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups", BACKUP_PASSPHRASE="a long passphrase")
    with app.app_context():
        result = service.take_backup(db.engine, settings(app), now=now_utc())
    data = result.path.read_bytes()
    corrupted = tmp_path / "corrupted.limsbak"
    corrupted.write_bytes(data[:5000] + bytes([data[5000] ^ 0x20]) + data[5001:])
    truncated = tmp_path / "truncated.limsbak"
    truncated.write_bytes(data[: len(data) // 2])
    target = lab_app(empty_database(), tmp_path / "backups")
    with target.app_context():
        for path, secret, reason in ((corrupted, b"a long passphrase", "checksum mismatch"),
                                     (truncated, b"a long passphrase", "checksum missing"),
                                     (result.path, b"a guess", "wrong passphrase")):
            with pytest.raises(service.BackupError, match=reason):
                service.restore_backup(path, db.engine, secret=secret)
            assert service.database_is_empty(db.engine)
        outcome = service.restore_backup(result.path, db.engine, secret=b"a long passphrase")
        assert outcome.differences() == []
        with pytest.raises(service.BackupError, match="not empty"):
            service.restore_backup(result.path, db.engine, secret=b"a long passphrase")


def test_cli_restore_refuses_a_live_database_and_force_needs_its_name(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    url = new_database()
    app = lab_app(url, tmp_path / "backups")
    with app.app_context():
        result = service.take_backup(db.engine, settings(app), now=now_utc())
    runner = app.test_cli_runner()
    refused = runner.invoke(main, ["restore", str(result.path)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    wrong = runner.invoke(main, ["restore", str(result.path), "--force", "--confirm", "nope"])
    assert wrong.exit_code == 1 and "does not match" in wrong.output
    name = Path(sa.make_url(url).database or "").name if not is_postgres() \
        else sa.make_url(url).database
    done = runner.invoke(main, ["restore", str(result.path), "--force", "--confirm", name])
    assert done.exit_code == 0, done.output
    assert "row counts equal the manifest" in done.output


def test_missing_or_full_destination_fails_cleanly_and_keeps_earlier_backups(
        new_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    with app.app_context():
        good = service.take_backup(db.engine, settings(app), now=now_utc() - timedelta(days=1))
        missing = service.BackupSettings(tmp_path / "unmounted-share")
        with pytest.raises(service.BackupError, match="does not exist"):
            service.take_backup(db.engine, missing, now=now_utc())

        def disk_full(*_args: object, **_kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(archive, "write_archive", disk_full)
        with pytest.raises(service.BackupError, match="No space left"):
            service.take_backup(db.engine, settings(app), now=now_utc())
        status = backup_status(db.session, now_utc())
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [good.path.name]
    assert status.red and status.last_ok is not None
    assert status.last_failure is not None and "No space left" in (status.last_failure.message or "")
    assert not status.overdue


def test_status_turns_red_after_26_hours(new_database: Callable[[], str], tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    with app.app_context():
        assert backup_status(db.session, now_utc()).red  # never backed up
        service.take_backup(db.engine, settings(app), now=now_utc())
        assert not backup_status(db.session, now_utc()).red
        assert backup_status(db.session, now_utc() + timedelta(hours=27)).red


def _drop_audit_triggers(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_change ON audit_events")
    else:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")


@pytest.mark.parametrize("tamper, named", [
    ("UPDATE audit_events SET reason = 'nothing happened' WHERE id = {id}",
     "audit event #{id} (after #{before}) does not match its seal"),
    ("DELETE FROM audit_events WHERE id = {id}",
     "audit event #{id} is missing: it was sealed, then deleted"),
])
def test_check_names_an_audit_event_changed_or_deleted_behind_the_apps_back(
        new_database: Callable[[], str], tmp_path: Path, tamper: str, named: str) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    tech_id, cluster_id = set_up_lab(app)
    register_and_receive(app, tech_id, cluster_id, "h1")
    with app.app_context():
        sealing.seal_now(db.engine, now=now_utc())
        assert run_checks(db.engine).problems == []
    ids = audit_ids(app)
    victim, before = ids[-2], ids[-3]
    with app.app_context(), db.engine.begin() as conn:
        _drop_audit_triggers(conn)
        conn.exec_driver_sql(tamper.format(id=victim))
    checked = app.test_cli_runner().invoke(main, ["check"])
    assert checked.exit_code == 1
    assert named.format(id=victim, before=before) in checked.output


def test_check_names_a_broken_invariant(new_database: Callable[[], str], tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    tech_id, cluster_id = set_up_lab(app)
    register_and_receive(app, tech_id, cluster_id, "h1")
    with app.app_context():
        sample_id = db.session.scalar(sa.select(Sample.id))
        with db.engine.begin() as conn:  # what only a hand edit of the database can do
            conn.exec_driver_sql(f"UPDATE samples SET status = 'verified' WHERE id = {sample_id}")
        problems = run_checks(db.engine).problems
    assert problems == [f"sample #{sample_id} is 'verified' but has no current verified result"]


@pytest.mark.skipif(not is_postgres(), reason="ids commit out of order only on PostgreSQL")
def test_sealer_waits_for_an_open_transaction_below_committed_events(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    """Event A takes its id and stays uncommitted while event B (a larger id) commits: the
    sealer must not seal B before A has ended, or A could never join the chain."""
    app = lab_app(new_database(), tmp_path / "backups")
    with app.app_context():
        engine = db.engine
        sealing.seal_now(engine, now=now_utc())
        insert = ("INSERT INTO audit_events (occurred_at, actor_name, action, entity_type,"
                  " entity_id, changes) VALUES (now(), 'system', 'test', 't', {n}, '{{}}')"
                  " RETURNING id")
        slow = engine.connect()
        slow_tx = slow.begin()
        slow_id = slow.exec_driver_sql(insert.format(n=1)).scalar_one()
        with engine.begin() as conn:
            fast_id = conn.exec_driver_sql(insert.format(n=2)).scalar_one()
        assert fast_id > slow_id
        sealer = sealing.Sealer(engine)
        for _ in range(3):
            sealer.run_once(now=now_utc())
        assert sealing.seal_now(engine, now=now_utc(), wait=0.3) == 0
        with engine.connect() as conn:
            assert sealing.head(conn)[0] < slow_id
        slow_tx.commit()
        slow.close()
        assert sealing.seal_now(engine, now=now_utc()) == 2
        assert sealing.verify(engine).broken is None
        with engine.connect() as conn:
            assert sealing.head(conn)[0] == fast_id


def test_admin_page_shows_the_last_backup_and_the_last_failure(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    set_up_lab(app)
    with app.app_context():
        good = service.take_backup(db.engine, settings(app), now=now_utc())
        with pytest.raises(service.BackupError):
            service.take_backup(db.engine, service.BackupSettings(tmp_path / "gone"),
                                now=now_utc())
    client = app.test_client()
    assert client.post("/login", data={"username": "btech", "password": PASSWORD}).status_code == 302
    page = client.get("/admin/backups").get_data(as_text=True)
    assert good.path.name in page
    assert "gone does not exist" in page
    assert "Last backup failed" in page


@pytest.mark.skipif(not is_postgres(), reason="amcheck is PostgreSQL's")
def test_check_runs_amcheck_where_installed(new_database: Callable[[], str],
                                            tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    with app.app_context():
        assert any("amcheck is not installed" in n for n in run_checks(db.engine).notes)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION amcheck")
        report = run_checks(db.engine)
    assert report.problems == []
    assert not any("amcheck" in note for note in report.notes)


def test_a_key_file_encrypts_and_an_unreadable_one_is_named(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    key = tmp_path / "backup.key"
    key.write_bytes(bytes(range(256)))
    app = lab_app(new_database(), tmp_path / "backups", BACKUP_KEY_FILE=str(key))
    assert settings(app).secret == bytes(range(256))
    with app.app_context():
        result = service.take_backup(db.engine, settings(app), now=now_utc())
    assert archive.read_header(result.path).encryption is not None
    missing = lab_app(app.config["DATABASE_URL"], tmp_path / "backups",
                      BACKUP_KEY_FILE=str(tmp_path / "nowhere.key"))
    with pytest.raises(service.BackupError, match="nowhere.key cannot be read"):
        settings(missing)


def test_two_sealers_at_once_seal_each_event_once(new_database: Callable[[], str],
                                                  tmp_path: Path) -> None:
    """The worker's sealer and a backup's may run together: one waits for the other."""
    app = lab_app(new_database(), tmp_path / "backups")
    tech_id, cluster_id = set_up_lab(app)
    for n in range(3):
        register_and_receive(app, tech_id, cluster_id, f"h{n}")
    with app.app_context():
        engine = db.engine
    barrier = threading.Barrier(4)
    sealed: list[int] = []
    errors: list[BaseException] = []

    def seal() -> None:
        try:
            barrier.wait()
            sealed.append(sealing.seal_now(engine, now=now_utc()))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=seal) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(sealed) == len(audit_ids(app))
    assert sealing.verify(engine).broken is None


def test_backup_command_prints_the_file_and_manifest_or_one_line_why_not(
        new_database: Callable[[], str], tmp_path: Path) -> None:
    app = lab_app(new_database(), tmp_path / "backups")
    runner = app.test_cli_runner()
    done = runner.invoke(main, ["backup"])
    assert done.exit_code == 0, done.output
    [made] = list((tmp_path / "backups").iterdir())
    assert f"backup written: {made}" in done.output
    assert f"schema revision {head_revision()}" in done.output and "audit head #" in done.output
    failed = runner.invoke(main, ["backup", "--destination", str(tmp_path / "not-mounted")])
    assert failed.exit_code == 1
    assert "backup failed: backup destination" in failed.output
    assert list((tmp_path / "backups").iterdir()) == [made]
