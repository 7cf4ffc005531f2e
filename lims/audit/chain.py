"""The audit trail's hash chain, pure (no Flask, no database): each event's seal is the SHA-256
of the previous seal and the event's content, so changing, inserting or deleting one event
anywhere below the head changes every seal after it.

Events are chained in id order. The content is a canonical JSON array of the event's columns
(keys of ``changes`` sorted, datetimes as UTC ISO 8601 with microseconds), so the same row read
from SQLite or PostgreSQL, before or after a dump and restore, seals the same. The format is
versioned by ``CHAIN_FORMAT``: a change to it is a new format, never an edit of this one,
because migration 0012 sealed the existing events with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CHAIN_FORMAT = "v1"
#: The "previous seal" of the first event.
GENESIS = "0" * 64
#: The columns sealed, in this order.
SEALED_COLUMNS = ("id", "occurred_at", "actor_id", "actor_name", "action", "entity_type",
                  "entity_id", "entity_label", "changes", "reason")


def _instant(value: datetime) -> str:
    """A datetime as UTC text; a naive one (SQLite stores no zone) is UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_event(event: Mapping[str, Any]) -> bytes:
    """The bytes that stand for one event in the chain."""
    values: list[Any] = []
    for column in SEALED_COLUMNS:
        value = event[column]
        if isinstance(value, datetime):
            value = _instant(value)
        elif column == "changes" and isinstance(value, str):  # JSON text from a raw read
            value = json.loads(value)
        values.append(value)
    return json.dumps([CHAIN_FORMAT, *values], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False).encode("utf-8")


def next_seal(previous: str, event: Mapping[str, Any]) -> str:
    """The seal of ``event`` after the one sealed ``previous``."""
    digest = hashlib.sha256(previous.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_event(event))
    return digest.hexdigest()


def seal_events(previous: str, events: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """(event id, seal) for events given in id order, continuing from ``previous``."""
    sealed: list[tuple[int, str]] = []
    for event in events:
        previous = next_seal(previous, event)
        sealed.append((int(event["id"]), previous))
    return sealed


@dataclass(frozen=True)
class ChainReport:
    """What verifying the chain found: the last good seal, how many events were verified,
    the first broken link (None when intact) and how many events are not yet sealed."""

    verified: int
    head_id: int | None
    head_seal: str
    broken: str | None
    unsealed: int


def verify_chain(rows: Iterable[tuple[int, Mapping[str, Any] | None, str | None]]
                 ) -> ChainReport:
    """Walk (event id, event, seal) in id order, as a full outer join of the events and their
    seals gives them (an event without a seal: seal None; a seal whose event is gone: event
    None), and name the first broken link.

    A sealed event may not follow an unsealed one: the sealer seals in id order, so an unsealed
    event below a sealed one means a seal was removed."""
    previous, verified, head_id, unsealed = GENESIS, 0, None, 0
    first_unsealed: int | None = None
    for event_id, event, seal in rows:
        if event is None:
            return ChainReport(verified, head_id, previous,
                               f"audit event #{event_id} is missing: it was sealed, then deleted",
                               unsealed)
        if seal is None:
            unsealed += 1
            if first_unsealed is None:
                first_unsealed = event_id
            continue
        if first_unsealed is not None:
            return ChainReport(verified, head_id, previous,
                               f"audit event #{first_unsealed} has no seal, but the later event"
                               f" #{event_id} has one: a seal was removed", unsealed)
        if next_seal(previous, event) != seal:
            after = f"after #{head_id}" if head_id is not None else "the first event"
            return ChainReport(verified, head_id, previous,
                               f"audit event #{event_id} ({after}) does not match its seal: it,"
                               " or the link before it, was changed, inserted or deleted",
                               unsealed)
        previous, head_id, verified = seal, event_id, verified + 1
    return ChainReport(verified, head_id, previous, None, unsealed)
