"""Audit timelines show human words: every action any service records, and every payload key
they write, has a label; values are rendered for people, never as raw JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from lims.audit.labels import ACTION_LABELS, FIELD_LABELS, ID_TITLES
from lims.core.templating import audit_value
from lims.samples.lifecycle import SampleAction

LIMS = Path(__file__).resolve().parents[2] / "lims"
CALL = re.compile(r"\b(record_event|audit_row|_audit|_audit_update|_created|apply_action)\(")
ACTION = re.compile(r"""["']?action["']?\s*[=:]\s*["'](\w+)["']""")
KEY = re.compile(r"""["'](\w+)["']\s*:""")
KWARG = re.compile(r"\b(\w+)=")
NOT_PAYLOAD = {"before", "after", "actor", "now", "action", "entity_type", "entity_id",
               "entity_label", "changes", "reason", "session", "sample", "label", "occurred_at",
               "actor_id", "actor_name", "values"}


def _calls(source: str) -> list[tuple[str, str]]:
    """The name and argument text of every audit-writing call (balanced parentheses)."""
    found = []
    for match in CALL.finditer(source):
        depth, i = 1, match.end()
        while depth and i < len(source):
            depth += {"(": 1, ")": -1}.get(source[i], 0)
            i += 1
        found.append((match[1], source[match.end():i - 1]))
    return found


def _sources() -> list[str]:
    return [p.read_text() for p in LIMS.rglob("*.py") if "migrations" not in p.parts]


def test_every_recorded_action_has_a_label() -> None:
    actions = {a for text in _sources() for a in ACTION.findall(text)}
    actions |= {a.value for a in SampleAction}
    assert len(actions) > 40
    assert not actions - set(ACTION_LABELS), sorted(actions - set(ACTION_LABELS))


def test_every_payload_key_has_a_label() -> None:
    keys: set[str] = set()
    for text in _sources():
        for name, call in _calls(text):
            keys |= set(KEY.findall(call))
            if name == "apply_action":  # its keyword details become payload keys
                keys |= set(KWARG.findall(call))
    keys -= NOT_PAYLOAD
    missing = keys - set(FIELD_LABELS) - set(ID_TITLES)
    assert not missing, sorted(missing)


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("temperature_c", "-18.0", "-18,0"),
    ("valid_from", "2026-03-14", "14.03.2026"),
    ("received_at", "2026-03-14T03:05:00+00:00", "14.03.2026 08:05"),  # the lab's zone (UTC+5)
    ("notes", "other", "other"),  # typed text is never looked up
    ("receipt_id", 4371, "Приёмка пробы U-2026-000123"),
    ("language", "kk", "Казахский"),
    ("params", {"scope": {"year": 2026, "region": "KZ-11"}, "lang": "ru"},
     "Охват: Год: 2026\nОбласть: KZ-11\nЯзык: Русский"),
    ("status", None, "—"),
])
def test_values_are_shown_for_people(app: Flask, field: str, value: object, expected: str) -> None:
    with app.test_request_context(), force_locale("ru"):
        assert audit_value(field, value, "U-2026-000123") == expected


def test_unknown_values_pass_through(app: Flask) -> None:
    with app.test_request_context():
        assert audit_value("status", "verified") == "Verified"
        assert audit_value("is_active", True) == "yes"
        assert audit_value("flags", ["low_volume"]) == "Volume below the minimum"
        assert audit_value("occurred", datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 00:00:00+00:00"
