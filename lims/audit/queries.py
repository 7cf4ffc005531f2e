"""The audit trail as a list of the list machinery (``lims.core.listing``): every event, newest
first over ``(occurred_at, id)``, filtered by who, what action, what kind of record and when,
each filter with an index ``(filter, occurred_at, id)`` in front of the order (migration 0016)."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l

from lims.audit.labels import ACTION_LABELS, action_label
from lims.audit.models import AuditEvent
from lims.core.listing import Column, Filter, ListSpec, choice_parser, date_range_filters, text_parser


def _action_choices() -> list[tuple[str, str]]:
    return sorted(((a, action_label(a)) for a in ACTION_LABELS), key=lambda item: item[1])


def _changes_text(changes: Any) -> str:
    return json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else ""


AUDIT_LIST = ListSpec(
    name="audit",
    title=_l("Audit trail"),
    source=AuditEvent,
    id=AuditEvent.id,
    columns=(
        Column("event", "#", AuditEvent.id, kind="int", sortable=True, unique=True),
        Column("occurred", _l("When"), AuditEvent.occurred_at, kind="datetime", sortable=True),
        Column("actor", _l("Who"), AuditEvent.actor_name),
        Column("action", _l("Action"), AuditEvent.action, display=action_label),
        Column("entity_type", _l("Record type"), AuditEvent.entity_type),
        Column("entity_id", _l("Record id"), AuditEvent.entity_id, kind="int"),
        Column("entity", _l("Record"), AuditEvent.entity_label),
        Column("reason", _l("Reason"), AuditEvent.reason),
        Column("changes", _l("Changes"), AuditEvent.changes, display=_changes_text),
    ),
    filters=(
        Filter("actor", _l("Who"), text_parser(80), lambda v: AuditEvent.actor_name == v,
               kind="text"),
        Filter("action", _l("Action"), choice_parser(ACTION_LABELS),
               lambda v: AuditEvent.action == v, choices=_action_choices),
        Filter("entity_type", _l("Record type"), text_parser(64),
               lambda v: AuditEvent.entity_type == v, kind="text"),
        *date_range_filters(AuditEvent.occurred_at, "occurred", _l("From"), _l("To")),
    ),
    default_sort="-occurred",
)
