"""The audit trail cannot be rewritten: not through the ORM, not with raw SQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lims.audit.models import AuditEvent
from lims.audit.service import AuditTrailIsAppendOnly, events_for, record_event
from tests.conftest import FIXED_NOW


def _event(session, make_user):
    user = make_user()
    event = record_event(session, actor=user, now=FIXED_NOW, action="test", entity_type="thing",
                         entity_id=1, changes={"x": {"before": 1, "after": 2}}, reason="why")
    session.flush()
    return event


def test_event_is_recorded_with_actor_and_changes(session, make_user):
    event = _event(session, make_user)
    [stored] = [e for e in events_for(session, "thing", 1) if e.action == "test"]
    assert stored.id == event.id
    assert stored.actor_name == event.actor_name
    assert stored.changes == {"x": {"before": 1, "after": 2}}
    assert stored.occurred_at == FIXED_NOW


def test_orm_refuses_update(session, make_user):
    event = _event(session, make_user)
    event.reason = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        session.flush()


def test_orm_refuses_delete(session, make_user):
    event = _event(session, make_user)
    session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        session.flush()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET reason = 'rewritten'",
    "DELETE FROM audit_events",
])
def test_database_refuses_raw_rewrites(session, make_user, statement):
    _event(session, make_user)
    nested = session.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    nested.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) >= 1
