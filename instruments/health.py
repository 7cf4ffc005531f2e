"""Driver health: what a driver reports about itself, to the LIMS and to the PC beside it.

Why: a driver that died on Friday, a port that will not open, or a spool growing since the
network went down is otherwise noticed only when results are missing. So every few seconds the
driver takes a *snapshot* of its state (`DriverStatus` plus the spool's depth) and

* writes it to a small JSON file beside the spool (``<spool>.health.json``), which
  ``lims-driver status`` reads on the PC beside the instrument, and
* posts it to the LIMS as a *heartbeat* (``POST /api/v1/instruments/{code}/heartbeat``, body
  `HEARTBEAT_SCHEMA`), which keeps the latest one per instrument for its Instruments page.

The reading path is never held up by any of this: the heartbeat runs in a thread of its own,
with its own HTTP session (short timeout), and reads the spool through its own SQLite connection
(WAL: readers never block the driver's writes). A heartbeat that cannot be delivered is logged
and dropped — the next one carries the fresh state anyway.

`classify` turns a snapshot's figures into one state, the same on the LIMS's page and in
``lims-driver status`` (the LIMS imports this module, as it imports `instruments.wire`).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

__all__ = [
    "HEARTBEAT_SCHEMA",
    "HEARTBEAT_LIMITS",
    "STATES",
    "DriverStatus",
    "SpoolFigures",
    "spool_figures",
    "snapshot",
    "classify",
    "health_file",
    "read_health_file",
    "Heartbeat",
    "heartbeat_path",
    "DRIVER_VERSION",
]

log = logging.getLogger(__name__)

#: The version a driver reports (the package's).
DRIVER_VERSION = "0.1.0"

#: Bounds of the numbers in a heartbeat (a larger spool or age is nonsense, not a state).
HEARTBEAT_LIMITS = {"count": 100_000_000, "seconds": 10 * 365 * 86400}

_TIME = {"type": ["string", "null"], "format": "date-time", "maxLength": 40}
_COUNT = {"type": "integer", "minimum": 0, "maximum": HEARTBEAT_LIMITS["count"]}

#: JSON Schema (2020-12, as in `instruments.wire`) of one heartbeat. Times are the driver PC's
#: clock in RFC 3339 with a zone; the LIMS keeps its own arrival time for "silent since".
HEARTBEAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A driver's state, sent every few seconds.",
    "required": ["instrument_id", "driver_version", "port_open", "spool_depth"],
    "additionalProperties": False,
    "properties": {
        "instrument_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "driver_version": {"type": "string", "minLength": 1, "maxLength": 40},
        "started_at": _TIME,
        "port_open": {"type": "boolean"},
        "last_error": {"type": ["string", "null"], "maxLength": 1000},
        "last_bytes_at": _TIME,
        "last_reading_at": _TIME,
        "spool_depth": _COUNT,
        "spool_failed": _COUNT,
        "oldest_unsent_seconds": {"type": ["number", "null"], "minimum": 0,
                                  "maximum": HEARTBEAT_LIMITS["seconds"]},
        "quarantined_since_start": _COUNT,
    },
}

#: The states of a driver, worst first (`classify`).
STATES = ("never", "silent", "port_down", "backlog", "online")


def classify(*, age_seconds: float | None, silent_after_seconds: float, port_open: bool,
             oldest_unsent_seconds: float | None, backlog_after_seconds: float) -> str:
    """One state from a snapshot: ``never`` (no snapshot), ``silent`` (the last one is older
    than the limit: the driver, its PC or the network is down), ``port_down``, ``backlog``
    (the oldest unsent item waits longer than the limit: the spool is backing up), ``online``."""
    if age_seconds is None:
        return "never"
    if age_seconds > silent_after_seconds:
        return "silent"
    if not port_open:
        return "port_down"
    if oldest_unsent_seconds is not None and oldest_unsent_seconds > backlog_after_seconds:
        return "backlog"
    return "online"


class DriverStatus:
    """What the driver loop knows about itself, set from its thread and read by the heartbeat.

    Plain attribute writes (atomic under the GIL): the reading path never waits for a lock."""

    def __init__(self, instrument_id: str, *, now: Callable[[], datetime] | None = None) -> None:
        self.instrument_id = instrument_id
        self.now = now or (lambda: datetime.now(UTC))
        self.started_at = self.now()
        self.port_open = False
        self.last_error: str | None = None
        self.last_bytes_at: datetime | None = None
        self.quarantined = 0

    def opened(self) -> None:
        self.port_open = True

    def closed(self, error: str | None) -> None:
        self.port_open = False
        if error:
            self.last_error = error[:1000]

    def received(self) -> None:
        self.last_bytes_at = self.now()


@dataclass(frozen=True)
class SpoolFigures:
    depth: int
    failed: int
    oldest_unsent_seconds: float | None
    last_reading_at: datetime | None


def spool_figures(db: sqlite3.Connection, now: datetime) -> SpoolFigures:
    """Queued and failed counts, the age of the oldest queued item and when the last reading was
    confirmed by the LIMS, read from the spool file (`instruments.spool`'s schema)."""
    depth, failed, oldest = db.execute(
        "SELECT sum(state = 'queued'), sum(state = 'failed'),"
        " min(CASE WHEN state = 'queued' THEN created_at END) FROM items"
    ).fetchone()
    (last,) = db.execute(
        "SELECT max(sent_at) FROM items WHERE state = 'sent' AND type IN ('result', 'plate')"
    ).fetchone()
    age = None
    if oldest:
        age = max(0.0, (now - datetime.fromisoformat(oldest)).total_seconds())
    return SpoolFigures(int(depth or 0), int(failed or 0), age,
                        datetime.fromisoformat(last) if last else None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(status: DriverStatus, figures: SpoolFigures) -> dict[str, Any]:
    """The heartbeat body (`HEARTBEAT_SCHEMA`)."""
    return {
        "instrument_id": status.instrument_id,
        "driver_version": DRIVER_VERSION,
        "started_at": _iso(status.started_at),
        "port_open": status.port_open,
        "last_error": status.last_error,
        "last_bytes_at": _iso(status.last_bytes_at),
        "last_reading_at": _iso(figures.last_reading_at),
        "spool_depth": min(figures.depth, HEARTBEAT_LIMITS["count"]),
        "spool_failed": min(figures.failed, HEARTBEAT_LIMITS["count"]),
        "oldest_unsent_seconds": (None if figures.oldest_unsent_seconds is None else
                                  min(round(figures.oldest_unsent_seconds, 1),
                                      HEARTBEAT_LIMITS["seconds"])),
        "quarantined_since_start": min(status.quarantined, HEARTBEAT_LIMITS["count"]),
    }


def health_file(spool_path: str | Path) -> Path:
    """Where a driver keeps its latest snapshot for ``lims-driver status``."""
    path = Path(spool_path)
    return path.with_name(path.name + ".health.json")


def read_health_file(path: Path) -> tuple[dict[str, Any], datetime, float] | None:
    """(snapshot, when written, heartbeat interval) or None if there is none (yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["snapshot"], datetime.fromisoformat(data["written_at"]), float(data["interval"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def heartbeat_path(instrument_id: str) -> str:
    return f"/api/v1/instruments/{requests.utils.quote(instrument_id, safe='')}/heartbeat"


class Heartbeat:
    """``Heartbeat(status, spool_path, lims_url, token).start(stop)``: every `interval` seconds,
    write the snapshot file and (with a LIMS URL) post it, in a daemon thread of its own."""

    def __init__(self, status: DriverStatus, spool_path: str | Path, lims_url: str | None = None,
                 token: str | None = None, *, interval: float = 5.0, timeout: float = 3.0,
                 session: requests.Session | None = None) -> None:
        self.status = status
        self.spool_path = Path(spool_path)
        self.file = health_file(self.spool_path)
        self.url = lims_url.rstrip("/") + heartbeat_path(status.instrument_id) if lims_url else None
        self.interval = interval
        self.timeout = timeout
        self.session = session or requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.sent = 0
        self.last_failure: str | None = None
        self._db: sqlite3.Connection | None = None

    def beat(self) -> dict[str, Any]:
        """One heartbeat: snapshot, file, post. Never raises for a LIMS that cannot be reached."""
        if self._db is None:  # its own read connection, opened in the heartbeat's thread
            self._db = sqlite3.connect(self.spool_path, timeout=1)
        now = self.status.now()
        body = snapshot(self.status, spool_figures(self._db, now))
        self._write(body, now)
        if self.url is not None:
            self._post(body)
        return body

    def _write(self, body: dict[str, Any], now: datetime) -> None:
        tmp = self.file.with_name(self.file.name + ".tmp")
        tmp.write_text(json.dumps({"written_at": now.isoformat(), "interval": self.interval,
                                   "pid": os.getpid(), "snapshot": body}), encoding="utf-8")
        tmp.replace(self.file)

    def _post(self, body: dict[str, Any]) -> None:
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        if response.status_code == 200:
            self.sent += 1
            self.last_failure = None
        else:
            self._failed(f"HTTP {response.status_code}: {response.text[:300]}")

    def _failed(self, reason: str) -> None:
        if reason != self.last_failure:  # once per kind of failure, not every few seconds
            log.warning("%s: heartbeat not delivered (%s)", self.status.instrument_id, reason)
        self.last_failure = reason

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.beat()
                except (OSError, sqlite3.Error, ValueError) as exc:  # a disk or spool hiccup
                    log.warning("%s: heartbeat skipped (%s)", self.status.instrument_id, exc)
                stop.wait(self.interval)
        finally:
            if self._db is not None:
                self._db.close()

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="heartbeat", daemon=True)
        thread.start()
        return thread
