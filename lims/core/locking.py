"""The one way a state-changing service makes its check and its write atomic.

Several gunicorn workers over PostgreSQL (READ COMMITTED) may run the same transition on the
same row within milliseconds. A service that reads a status, checks the rule and then writes lets
both sides through. So before the rule is checked, the row that decides is re-read under a row
lock (``SELECT … FOR UPDATE``): a second transaction waits at the lock until the first commits,
then sees the committed status and is refused by the *same* rule check, with the same
``ConflictError`` a sequential second click gets. Nothing is sprinkled per view: every
transition service calls :func:`lock` on its deciding row.

On SQLite ``FOR UPDATE`` is not emitted; a transaction takes the database write lock at its
first write or row-locking read (``lims.extensions``), which serialises writers anyway.

Partial unique indexes are the last line behind the locks (migration 0007); a violation that
still reaches the database becomes :func:`conflict_from_integrity` — a 409, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lims.core.errors import ConflictError

log = logging.getLogger(__name__)

T = TypeVar("T")

_LOCKED_KEY = "lims_locked_rows"


def lock(session: Session, instance: T) -> T:
    """Re-read ``instance``'s row under a row lock held until the transaction ends, and return
    it with every attribute (collections too) as committed by whoever held the lock before.

    Pending changes are flushed first, so nothing of the caller's is lost by the re-read.
    A row already locked in this transaction is not read again (a receipt locks its sample;
    the transition it then applies does not re-read it).
    """
    state = sa.inspect(instance)
    locked: set[object] = session.info.setdefault(_LOCKED_KEY, set())
    if state.key in locked:
        return instance
    session.flush()
    session.expire(instance)
    session.refresh(instance, with_for_update=True)
    locked.add(state.key)
    return instance


def lock_all(session: Session, instances: Sequence[T]) -> list[T]:
    """:func:`lock` for many rows of one model at once: one ``SELECT … FOR UPDATE`` in id
    order, instead of one query per row.

    The order is the point: two reviewers bulk-verifying overlapping sets both take the locks
    lowest id first, so the second waits at the first row they share instead of each holding a
    row the other needs (a deadlock). Rows already locked in this transaction are skipped; the
    others are re-read with what was committed before the lock was granted.
    """
    locked: set[object] = session.info.setdefault(_LOCKED_KEY, set())
    todo = [item for item in instances if sa.inspect(item).key not in locked]
    if todo:
        model = type(todo[0])
        if any(type(item) is not model for item in todo):
            raise TypeError("lock_all locks rows of one model at a time")
        session.flush()
        key = sa.inspect(model).primary_key[0]
        ids = sorted({sa.inspect(item).identity[0] for item in todo})
        for item in todo:
            session.expire(item)
        session.execute(sa.select(model).where(key.in_(ids)).order_by(key)
                        .with_for_update().execution_options(populate_existing=True)).all()
        locked.update(sa.inspect(item).key for item in todo)
    return list(instances)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction: sa.orm.SessionTransaction) -> None:
    """Row locks end with the database transaction, and a savepoint rolled back releases the
    locks taken inside it: the record is dropped when either ends (a flush's inner span is
    neither). At worst a row is locked twice, which costs one query."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LOCKED_KEY, None)


def conflict_from_integrity(error: IntegrityError) -> ConflictError:
    """What a user is told when the database refused a write the locks should have stopped:
    someone else did the same thing at the same moment, and nothing of theirs was saved."""
    log.warning("write refused by a database constraint: %s", error.orig)
    return ConflictError(_("Someone else changed this record at the same moment, so nothing "
                           "was saved. Reload the page to see its current state."))
