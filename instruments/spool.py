"""The durable local queue between a driver and the LIMS: one SQLite file per instrument.

Why SQLite with WAL and ``synchronous=FULL``: an item is committed *before* the instrument is
acknowledged, and a commit must survive a power cut, otherwise the instrument forgets a result
the LIMS never got. WAL lets the uplink read while the driver writes (also from another process).

Each item keeps its wire envelope (JSON, built once, so the key and payload never change), the
raw bytes it came from (evidence for audit and for quarantine review), its state
(``queued`` → ``sent``, or ``failed`` with the reason: failed items are kept, never deleted, until
a person retries them), the number of send attempts, the last error, and the LIMS's answer
(outcome and reading id).

Dedup: the idempotency key is UNIQUE and items are added with ``INSERT OR IGNORE``, so a message
the instrument retransmits (same content → same key, see `content_key`) is stored once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from instruments.wire import Envelope

__all__ = ["SpoolEntry", "StoredItem", "Spool", "content_key", "random_key", "STATES"]

STATES = ("queued", "sent", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL CHECK (type IN ('result', 'plate', 'quarantine')),
    instrument_id TEXT NOT NULL,
    envelope TEXT NOT NULL,
    raw BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    outcome TEXT CHECK (outcome IS NULL OR outcome IN ('attached', 'unmatched', 'duplicate')),
    reading_id INTEGER,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_items_state_id ON items (state, id);
"""


def content_key(instrument_id: str, item_type: str, *parts: str, form: str = "c") -> str:
    """A key derived from what the instrument sent, so a retransmission gets the same key.

    Parts are length-prefixed before hashing, so ("ab", "c") and ("a", "bc") differ. `form`
    prefixes the key with the rule that made it (``c`` content and place, ``m`` measurement —
    see `instruments.driver`), so a key says how it was derived and the forms never collide.
    """
    h = hashlib.sha256()
    for part in (instrument_id, item_type, *parts):
        data = part.encode("utf-8", "surrogatepass")
        h.update(b"%d:" % len(data))
        h.update(data)
    return f"{form}:" + h.hexdigest()


def random_key() -> str:
    """A key for items no instrument ever resends (balance masses, link-level faults)."""
    return "r:" + uuid.uuid4().hex


@dataclass(frozen=True)
class SpoolEntry:
    """What a driver hands to the spool: the envelope to send and the bytes it came from."""

    envelope: Envelope
    raw: bytes


@dataclass(frozen=True)
class StoredItem:
    id: int
    idempotency_key: str
    type: str
    instrument_id: str
    envelope_json: str
    raw: bytes
    state: str
    attempts: int
    last_error: str | None
    outcome: str | None
    reading_id: int | None
    reason: str | None
    created_at: str
    updated_at: str

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.envelope_json)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Spool:
    """The queue. Thread-safe (one connection behind a lock); other processes may open the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.executemany(sql, rows)
                count = cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return count

    # -- driver side -----------------------------------------------------------------------------

    def add(self, entries: Sequence[SpoolEntry]) -> int:
        """Store entries durably in one transaction; returns how many were new (not duplicates)."""
        if not entries:
            return 0
        now = _now()
        rows = [
            (
                e.envelope.idempotency_key,
                e.envelope.type,
                e.envelope.instrument_id,
                json.dumps(e.envelope.to_dict(), ensure_ascii=False, separators=(",", ":")),
                e.raw,
                now,
                now,
            )
            for e in entries
        ]
        return self._write(
            "INSERT OR IGNORE INTO items (idempotency_key, type, instrument_id, envelope, raw,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # -- uplink side -----------------------------------------------------------------------------

    def pending(self, limit: int) -> list[StoredItem]:
        """The oldest queued items (the order they were spooled in)."""
        return self.items("queued", limit=limit)

    def record_attempt(self, keys: Sequence[str], error: str | None) -> None:
        """Count a send attempt that ended without an answer for these items (they stay queued)."""
        now = _now()
        self._write(
            "UPDATE items SET attempts = attempts + 1, last_error = ?, updated_at = ?"
            " WHERE idempotency_key = ? AND state = 'queued'",
            [(error, now, k) for k in keys],
        )

    def mark_sent(self, answers: Sequence[tuple[str, str, int | None, str | None]]) -> int:
        """Items the LIMS confirmed: (key, outcome, reading_id, reason)."""
        now = _now()
        return self._write(
            "UPDATE items SET state = 'sent', outcome = ?, reading_id = ?, reason = ?,"
            " attempts = attempts + 1, last_error = NULL, sent_at = ?, updated_at = ?"
            " WHERE idempotency_key = ? AND state != 'sent'",
            [
                (outcome, reading_id, reason, now, now, key)
                for key, outcome, reading_id, reason in answers
            ],
        )

    def mark_failed(self, failures: Sequence[tuple[str, str]]) -> int:
        """Items the LIMS refused: (key, reason). Kept with the reason until `retry_failed()`."""
        now = _now()
        return self._write(
            "UPDATE items SET state = 'failed', attempts = attempts + 1, last_error = ?,"
            " updated_at = ?"
            " WHERE idempotency_key = ? AND state = 'queued'",
            [(reason, now, key) for key, reason in failures],
        )

    def retry_failed(self) -> int:
        """Put every failed item back in the queue (after the cause was fixed); returns how many."""
        return self._write(
            "UPDATE items SET state = 'queued', updated_at = ? WHERE state = 'failed'", [(_now(),)]
        )

    # -- reading ---------------------------------------------------------------------------------

    def items(
        self, state: str | None = None, *, limit: int | None = None, item_type: str | None = None
    ) -> list[StoredItem]:
        sql = (
            "SELECT id, idempotency_key, type, instrument_id, envelope, raw, state, attempts,"
            " last_error,"
            " outcome, reading_id, reason, created_at, updated_at FROM items"
        )
        where, args = [], []
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if item_type is not None:
            where.append("type = ?")
            args.append(item_type)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [StoredItem(*row) for row in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{type: {state: n}} for every type and state present."""
        with self._lock:
            rows = self._db.execute(
                "SELECT type, state, count(*) FROM items GROUP BY type, state"
            ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for item_type, state, n in rows:
            out.setdefault(item_type, {})[state] = n
        return out

    def last_error(self) -> tuple[str, str] | None:
        """The most recent error recorded on any item: (updated_at, message)."""
        with self._lock:
            row = self._db.execute(
                "SELECT updated_at, last_error FROM items WHERE last_error IS NOT NULL"
                " ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return (row[0], row[1]) if row else None
