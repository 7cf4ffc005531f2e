"""The sealer: chains committed audit events in id order (`lims.audit.chain`), a few seconds
after they commit, from the report worker's loop or ``lims audit seal``. Writers never wait for
it: they insert their event as before, and the seal is written later in a short transaction of
the sealer's own.

Why a horizon is needed. Events must be chained in id order, and once an event is sealed no
event with a smaller id may appear. On SQLite that holds by itself: writers are serialised and
a new row takes the next id after every committed one, so every committed event can be sealed.
On PostgreSQL it does not: ids come from a sequence when the INSERT runs, and transactions
commit in any order, so event 101 can be committed and visible while event 100 is still inside
an open transaction (and may still commit). Sealing 101 then would leave 100 outside the chain
for ever.

The PostgreSQL horizon, the way ``CREATE INDEX CONCURRENTLY`` waits for older transactions:

1. Read the sequence's ``last_value`` H: every id up to H has been handed out.
2. Then list the virtual transaction ids (``pg_locks``, locktype ``virtualxid``) of every
   transaction open now in this database (but those idle without an xid: see `observe`). Each
   transaction holds its virtual id from its first statement to its end, whether or not it has
   a real xid yet; so any transaction that took an id <= H and has not ended is in this list
   (it took the id before step 1 read H).
3. Once none of those virtual ids is held any more, every id <= H belongs to a transaction that
   has ended: committed (and visible to any snapshot taken from then on) or rolled back (a gap,
   never to appear). Events up to H can be sealed in id order, now and for ever.

`PostgresHorizon` keeps the observation of one round and settles it in a later round (the
worker's loop, every few seconds), so it never waits inside a round; ``seal_now`` waits for it
(``lims audit seal``). A transaction left open for hours holds the horizon back: the events
after it stay unsealed meanwhile, which ``lims check`` reports as the unsealed tail, not as a
break.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lims.audit.chain import GENESIS, ChainReport, seal_events, verify_chain
from lims.audit.models import AuditEvent, AuditSeal

log = logging.getLogger(__name__)

#: Events sealed per transaction: keeps each of the sealer's write transactions short.
BATCH = 5000
_EVENTS = AuditEvent.__table__
_SEALS = AuditSeal.__table__
#: Two sealers (the worker and a command) never interleave on PostgreSQL: advisory lock key.
_SEALER_LOCK = 0x10D1_5EA1


@dataclass(frozen=True)
class Horizon:
    """Ids up to ``below_or_at`` may be sealed once the listed transactions have ended."""

    below_or_at: int
    open_transactions: frozenset[str]


class PostgresHorizon:
    """The observe-then-settle horizon of the module docstring, one observation at a time."""

    def __init__(self) -> None:
        self.pending: Horizon | None = None

    @staticmethod
    def observe(conn: sa.Connection) -> Horizon:
        last, called = _sequence_position(conn)
        highest = int(last) if called and last is not None else 0
        # Transactions of this database only (pg_locks lists the whole server's), and not
        # those idle in a transaction without an xid: such a one has written nothing, and since
        # an event's id is drawn by its INSERT (the column default, never a separate nextval),
        # it holds no id yet. A long report build between its reads would otherwise hold
        # sealing back. A session whose state this role may not see (NULL) counts as open.
        open_now = frozenset(conn.exec_driver_sql(
            "SELECT l.virtualxid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'virtualxid' AND a.datname = current_database()"
            " AND l.pid <> pg_backend_pid()"
            " AND (a.backend_xid IS NOT NULL"
            "      OR a.state IS DISTINCT FROM 'idle in transaction')").scalars())
        return Horizon(highest, open_now)

    @staticmethod
    def settled(conn: sa.Connection, horizon: Horizon) -> bool:
        if not horizon.open_transactions:
            return True
        still = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'virtualxid'"
            " AND virtualxid = ANY(%(ids)s)", {"ids": list(horizon.open_transactions)}).scalar()
        return not still

    def advance(self, engine: sa.Engine) -> int | None:
        """The id up to which events may be sealed now (None: not yet); observes anew."""
        with engine.connect() as conn:
            if self.pending is None:  # often settled at once: nothing else was open
                self.pending = self.observe(conn)
            ready = None
            if self.settled(conn, self.pending):
                ready = self.pending.below_or_at
                self.pending = self.observe(conn)
            conn.rollback()
        return ready


def _sequence_position(conn: sa.Connection) -> tuple[int | None, bool]:
    name = conn.exec_driver_sql("SELECT pg_get_serial_sequence('audit_events', 'id')").scalar()
    if name is None:  # an identity column without a sequence name cannot happen; be safe
        raise RuntimeError("audit_events.id has no sequence")
    row = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {name}").one()
    return row[0], bool(row[1])


def _head_query() -> sa.Select[tuple[int, str]]:
    return sa.select(_SEALS.c.event_id, _SEALS.c.seal).order_by(_SEALS.c.event_id.desc()).limit(1)


def head(conn: sa.Connection) -> tuple[int | None, str]:
    """(event id, seal) of the last sealed event; (None, GENESIS) before the first."""
    row = conn.execute(_head_query()).first()
    return (None, GENESIS) if row is None else (int(row[0]), str(row[1]))


def head_text(conn: sa.Connection) -> str:
    """The head as printed in manifests and report colophons: ``#id sha256``."""
    event_id, seal = head(conn)
    return "#0 " + GENESIS if event_id is None else f"#{event_id} {seal}"


def _event_columns() -> list[sa.Column[Any]]:
    return [_EVENTS.c[name] for name in ("id", "occurred_at", "actor_id", "actor_name", "action",
                                         "entity_type", "entity_id", "entity_label", "changes",
                                         "reason")]


def seal_up_to(engine: sa.Engine, *, now: datetime, limit: int | None,
               batches: int | None = None) -> int:
    """Seal committed events after the head, up to id ``limit`` (None: every committed one,
    for SQLite), in transactions of `BATCH` events, at most ``batches`` of them (None: until
    done). Returns how many were sealed."""
    sealed = 0
    for _ in itertools.count() if batches is None else range(batches):
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SEALER_LOCK})")
            # Read the head as a write: on SQLite that takes the write lock first (a row-locking
            # read, lims.extensions), so a second sealer (the worker, a backup) waits instead of
            # sealing the same events; on PostgreSQL the advisory lock above does that.
            row = conn.execute(_head_query().with_for_update()).first()
            after, previous = (None, GENESIS) if row is None else (int(row[0]), str(row[1]))
            query = sa.select(*_event_columns()).order_by(_EVENTS.c.id).limit(BATCH)
            if after is not None:
                query = query.where(_EVENTS.c.id > after)
            if limit is not None:
                query = query.where(_EVENTS.c.id <= limit)
            events = [row._asdict() for row in conn.execute(query)]
            if not events:
                return sealed
            seals = seal_events(previous, events)
            conn.execute(sa.insert(_SEALS), [
                {"event_id": event_id, "seal": seal, "sealed_at": now}
                for event_id, seal in seals])
        sealed += len(seals)
        if len(events) < BATCH:
            return sealed
    return sealed


class Sealer:
    """One sealer for a long-running loop: ``run_once`` every few seconds, sealing one batch at
    most, so that a backlog (the first round after a large intake) never holds the loop up for
    long; the rest follows in the next rounds."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.horizon = PostgresHorizon() if engine.dialect.name == "postgresql" else None
        #: a settled horizon whose events are not all sealed yet (PostgreSQL)
        self.backlog_below: int | None = None

    def run_once(self, *, now: datetime) -> int:
        if self.horizon is None:
            return seal_up_to(self.engine, now=now, limit=None, batches=1)
        if self.backlog_below is None:
            self.backlog_below = self.horizon.advance(self.engine)
        if self.backlog_below is None:
            return 0
        sealed = seal_up_to(self.engine, now=now, limit=self.backlog_below, batches=1)
        if sealed < BATCH:  # everything up to that horizon is sealed: take the next one
            self.backlog_below = None
        return sealed


def seal_now(engine: sa.Engine, *, now: datetime, wait: float = 30.0) -> int:
    """Seal every event committed before this call, waiting (up to ``wait`` seconds) on
    PostgreSQL for the transactions that were open to end; ``lims audit seal`` and tests."""
    if engine.dialect.name != "postgresql":
        return seal_up_to(engine, now=now, limit=None)
    with engine.connect() as conn:
        horizon = PostgresHorizon.observe(conn)
        conn.rollback()
        deadline = time.monotonic() + wait
        while not PostgresHorizon.settled(conn, horizon):
            conn.rollback()
            if time.monotonic() > deadline:
                log.warning("audit sealer: a transaction open for more than %.0f s holds the"
                            " horizon back; the events after it stay unsealed for now", wait)
                return 0
            time.sleep(0.1)
        conn.rollback()
    return seal_up_to(engine, now=now, limit=horizon.below_or_at)


def _chain_rows(conn: sa.Connection) -> Iterator[tuple[int, Mapping[str, Any] | None,
                                                          str | None]]:
    """Events and seals merged in id order, streamed (a million events fit no list)."""
    events = conn.execution_options(yield_per=2000).execute(
        sa.select(*_event_columns()).order_by(_EVENTS.c.id))
    seals = conn.execution_options(yield_per=2000).execute(
        sa.select(_SEALS.c.event_id, _SEALS.c.seal).order_by(_SEALS.c.event_id))
    with events, seals:  # closed when the walk stops at a broken link, too
        event = next(events, None)
        seal = next(seals, None)
        while event is not None or seal is not None:
            if seal is None or (event is not None and event.id < seal.event_id):
                yield int(event.id), event._asdict(), None  # type: ignore[union-attr]
                event = next(events, None)
            elif event is None or seal.event_id < event.id:
                yield int(seal.event_id), None, str(seal.seal)
                seal = next(seals, None)
            else:
                yield int(event.id), event._asdict(), str(seal.seal)
                event, seal = next(events, None), next(seals, None)


def verify(engine: sa.Engine) -> ChainReport:
    """Verify the whole chain in one consistent read (`lims check`)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = _chain_rows(conn)
        try:
            return verify_chain(rows)
        finally:
            rows.close()
