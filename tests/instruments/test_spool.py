"""The spool: durable across a killed process, deduplicating by key, keeping failed items."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from instruments.records import Reading
from instruments.spool import Spool, SpoolEntry, content_key, random_key
from instruments.wire import envelope_for

NOW = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)


def entry(key: str, sample: str = "U26-000001", value: float = 142.5) -> SpoolEntry:
    reading = Reading(
        "ICPMS-01", sample, "uic", str(value), value, unit="ug/L", raw=f"R|1|^^^UIC|{value}"
    )
    return SpoolEntry(envelope_for("ICPMS-01", reading, key=key, now=NOW), reading.raw.encode())


def test_add_is_idempotent_by_key(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        assert spool.add([entry("k-0001"), entry("k-0002")]) == 2
        assert spool.add([entry("k-0002", value=99.0), entry("k-0003")]) == 1
        items = spool.items()
        assert [i.idempotency_key for i in items] == ["k-0001", "k-0002", "k-0003"]
        assert items[1].envelope["payload"]["value"] == 142.5  # the first copy wins, unchanged
        assert items[0].raw == b"R|1|^^^UIC|142.5" and items[0].state == "queued"


def test_pragmas(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        assert spool._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_committed_items_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    code = (
        "import os, signal, sys\n"
        "from tests.instruments.test_spool import entry\n"
        "from instruments.spool import Spool\n"
        f"spool = Spool({str(path)!r})\n"
        "spool.add([entry('k-%04d' % i) for i in range(50)])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with Spool(path) as spool:
        assert len(spool.items("queued")) == 50


def test_states_and_retry(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite") as spool:
        spool.add([entry("k-0001"), entry("k-0002"), entry("k-0003")])
        spool.record_attempt(["k-0001", "k-0002", "k-0003"], "ConnectionError: refused")
        assert spool.mark_sent([("k-0001", "attached", 7, None)]) == 1
        assert spool.mark_failed([("k-0002", "HTTP 422: raw_value too long")]) == 1
        sent, failed, queued = (spool.items(s)[0] for s in ("sent", "failed", "queued"))
        assert (sent.outcome, sent.reading_id, sent.attempts, sent.last_error) == (
            "attached",
            7,
            2,
            None,
        )
        assert (failed.attempts, failed.last_error) == (2, "HTTP 422: raw_value too long")
        assert (queued.idempotency_key, queued.attempts) == ("k-0003", 1)
        assert spool.counts() == {"result": {"sent": 1, "failed": 1, "queued": 1}}
        assert spool.last_error()[1] == "HTTP 422: raw_value too long"
        assert spool.mark_sent([("k-0001", "duplicate", 7, None)]) == 0  # already sent: untouched
        assert spool.retry_failed() == 1
        assert [i.idempotency_key for i in spool.pending(10)] == ["k-0002", "k-0003"]


def test_keys() -> None:
    key = content_key("ICPMS-01", "result", "H|\\^&", "O|1|U26-1", "R|1|^^^UIC|142.5", "1")
    assert key == content_key("ICPMS-01", "result", "H|\\^&", "O|1|U26-1", "R|1|^^^UIC|142.5", "1")
    assert key != content_key("ICPMS-01", "result", "H|\\^&", "O|1|U26-2", "R|1|^^^UIC|142.5", "1")
    assert key != content_key("ICPMS-02", "result", "H|\\^&", "O|1|U26-1", "R|1|^^^UIC|142.5", "1")
    assert content_key("I", "result", "ab", "c") != content_key("I", "result", "a", "bc")
    assert key.startswith("c:") and len(key) == 66
    assert random_key() != random_key()
