"""Human labels of the capture enums (reading status, type, source, data connection).

Kept here rather than in `lims.core.labels` because their values clash with other rooms'
("pending", "file", "manual" mean something else elsewhere); the core `label` is the fallback.
"""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l

from lims.capture.models import Protocol, ReadingSource, ReadingStatus, ReadingType
from lims.core.labels import label

#: Per enum class: StrEnum members equal their values, so ReadingSource.FILE == Protocol.FILE.
CAPTURE_LABELS: dict[type[Enum], dict[str, object]] = {
    ReadingStatus: {
        "attached": _l("attached"),
        "unmatched": _l("unmatched"),
        "pending": _l("plate waiting for a run"),
        "claimed": _l("plate used by a run"),
        "discarded": _l("discarded"),
    },
    ReadingType: {
        "result": _l("result"),
        "plate": _l("plate"),
        "quarantine": _l("unreadable data (quarantined)"),
    },
    ReadingSource: {
        "driver": _l("sent by the driver"),
        "manual": _l("keyed in"),
        "file": _l("uploaded file"),
    },
    Protocol: {
        "astm": "ASTM E1381/E1394",
        "biorad": "Bio-Rad",
        "metrohm": "Metrohm PC/LIMS",
        "mtsics": "MT-SICS",
        "manual": _l("keyed in (no data port)"),
        "file": _l("export files"),
    },
}


def reading_label(value: Enum | None) -> str:
    """The label of a capture enum member in the reader's language."""
    if value is None:
        return ""
    found = CAPTURE_LABELS.get(type(value), {}).get(value.value)
    return str(found) if found is not None else label(value)
