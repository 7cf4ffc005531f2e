"""Writing audit events. Every service that changes state calls ``record_event`` in the same
transaction as the change, so the trail can never disagree with the data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent

if TYPE_CHECKING:
    from lims.auth.models import User

SYSTEM_ACTOR = "system"


def to_jsonable(value: Any) -> Any:
    """Audit payloads are JSON: keep values readable and exact (decimals as strings)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    return value


def audit_row(
    *,
    actor: User | None,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: int,
    entity_label: str | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The columns of one audit event; bulk writers insert many of these in one statement."""
    return {
        "occurred_at": now,
        "actor_id": actor.id if actor is not None else None,
        "actor_name": actor.username if actor is not None else SYSTEM_ACTOR,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "entity_label": entity_label,
        "changes": to_jsonable(dict(changes or {})),
        "reason": reason,
    }


def record_event(
    session: Session,
    *,
    actor: User | None,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: int,
    entity_label: str | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    audit = AuditEvent(**audit_row(actor=actor, now=now, action=action, entity_type=entity_type,
                                   entity_id=entity_id, entity_label=entity_label,
                                   changes=changes, reason=reason))
    session.add(audit)
    return audit


def apply_changes(obj: object, updates: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Set attributes and return ``{field: {"before": old, "after": new}}`` for those that changed."""
    changed: dict[str, dict[str, Any]] = {}
    for field, new in updates.items():
        old = getattr(obj, field)
        if old != new:
            changed[field] = {"before": to_jsonable(old), "after": to_jsonable(new)}
            setattr(obj, field, new)
    return changed


def events_for(session: Session, entity_type: str, entity_id: int) -> list[AuditEvent]:
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(stmt))


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _ctx: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditTrailIsAppendOnly("audit events are never changed or deleted")
