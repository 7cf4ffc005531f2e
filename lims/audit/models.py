from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lims.core.models import Base, format_repr, intpk


class AuditEvent(Base):
    """One change to one entity. Rows are only ever inserted: the migration installs triggers
    that refuse UPDATE and DELETE on this table, and the ORM refuses them too."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),
        # the audit list's order and its filters in front of it
        sa.Index("ix_audit_events_occurred", "occurred_at", "id"),
        sa.Index("ix_audit_events_actor_occurred", "actor_name", "occurred_at", "id"),
        sa.Index("ix_audit_events_action_occurred", "action", "occurred_at", "id"),
        sa.Index("ix_audit_events_type_occurred", "entity_type", "occurred_at", "id"),
    )

    id: Mapped[intpk]
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[int]
    entity_label: Mapped[str | None] = mapped_column(sa.String(80))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return format_repr(self, "id", "action", "entity_type", "entity_id")


class AuditSeal(Base):
    """The hash-chain seal of one audit event (`lims.audit.chain`), written by the sealer
    (`lims.audit.sealing`) after the event committed, never by the writer of the event.

    A table of its own, because the events' table refuses every UPDATE; append-only like it.
    No foreign key to the event on purpose: a seal whose event was deleted behind the
    application's back is how ``lims check`` names the deleted event."""

    __tablename__ = "audit_seals"

    event_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seal: Mapped[str] = mapped_column(sa.String(64))
    sealed_at: Mapped[datetime]

    def __repr__(self) -> str:
        return format_repr(self, "event_id", "seal")
