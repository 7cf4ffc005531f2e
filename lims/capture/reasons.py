"""Why a reading waits in the inbox: a stable code with its parameters, worded at display time.

The reason is stored in `InstrumentReading.reason` as a small JSON object
(``{"code": "no_sample", "accession": "U-2026-000123"}``), not as a sentence, so every reader
sees it in their own language. The same code has one English sentence (its msgid), which is
what the driver API answers whatever the language of a page, so drivers and their logs keep
the wording they always had.

Rows written before reasons were coded are recognised when their sentence has no parameters, as
is the "used by <run>" that an analytical run writes on the plate it claims; any other free text
is shown as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l

from lims.core.labels import label


def N_(text: str) -> str:  # the conventional name, which babel extracts by default
    """Mark a msgid for extraction without translating it here (it is worded at display)."""
    return text


#: Each code's sentence, with named placeholders; the msgid is also the API's English wording.
TEXTS: dict[str, str] = {
    "no_sample_id": N_("the instrument sent no sample ID"),
    "not_a_number": N_("no numeric value: the instrument sent %(raw)s"),
    "unknown_analyte": N_("unknown analyte %(analyte)s"),
    "unmapped_test_code": N_("test code %(test_code)s is not mapped to an analyte in the"
                             " instrument profile"),
    "wrong_unit": N_("unit %(sent_unit)s is not a unit of %(analyte)s (expected %(unit)s)"),
    "out_of_range": N_("%(value)s %(unit)s is outside the possible range for %(analyte)s"
                       " (%(low)s–%(high)s %(unit)s)"),
    "no_sample": N_("no sample with accession %(accession)s"),
    # the sample named is of the other kind (there are two: urine and salt)
    "salt_sample": N_("%(analyte)s is measured in urine samples, but %(accession)s is a salt sample"),
    "urine_sample": N_("%(analyte)s is measured in salt samples, but %(accession)s is a urine sample"),
    "sample_status": N_("%(accession)s is %(status)s; readings attach to received samples or"
                        " samples in analysis"),
    "duplicate": N_("same value and time as reading #%(reading)s already attached to"
                    " %(accession)s (a duplicate?)"),
    "driver_problems": N_("the driver noted problems with this reading"),
    "plate_waiting": N_("plate waiting for an analytical run"),
    "quarantined": N_("quarantined by the driver: %(problem)s"),
    "claimed_by_run": N_("used by %(run)s"),
    # equipment records (lims.equipment): the instrument may not be used on the measurement day
    "equipment_out_of_service": N_("%(equipment)s was out of service on %(day)s: %(reason)s"),
    "equipment_calibration_lapsed": N_("%(equipment)s had no valid calibration on %(day)s (the"
                                       " last one ended on %(valid_until)s)"),
    "equipment_not_calibrated": N_("%(equipment)s has no calibration on record covering"
                                   " %(day)s"),
}

#: What a driver's quarantine ``error_code`` (instruments.errors) means, for the inbox.
QUARANTINE_PROBLEMS: dict[str, Any] = {
    "checksum_error": _l("bad checksum"),
    "framing_error": _l("malformed frame or line"),
    "oversize_frame": _l("frame too long"),
    "truncated_frame": _l("incomplete frame"),
    "sequence_error": _l("frame out of sequence"),
    "record_error": _l("record could not be read"),
    "plate_file_error": _l("plate file could not be read"),
    "device_error": _l("the instrument reported an error"),
    "timeout": _l("the instrument stopped answering"),
    "transport_error": _l("connection problem"),
    "configuration_error": _l("driver configuration error"),
}
#: Any other (or no) error code.
UNREADABLE = _l("unreadable data")
#: The analytes' units (lims.capture.analytes) as each language writes them.
UNITS: dict[str, Any] = {"µg/L": _l("µg/L"), "mg/kg": _l("mg/kg"), "mL": _l("mL"), "g": _l("g")}

#: Parameters that are numbers (written in the reader's locale).
_NUMBERS = frozenset({"value", "low", "high"})
#: Parameters that are text from the instrument, quoted in the API's English.
_QUOTED = frozenset({"test_code", "sent_unit", "raw"})
#: Old stored sentences without parameters, recognised so they are translated too.
_LEGACY = {text: code for code, text in TEXTS.items() if "%(" not in text}
_CLAIMED_PREFIX = "used by "


@dataclass(frozen=True)
class Reason:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: The driver's own English detail (quarantine message, codec notes), for the API answer
    #: only: it is not stored here, the reading's payload keeps it for the reading page.
    detail: str = ""

    def dump(self) -> str:
        """What is stored in the ``reason`` column."""
        return json.dumps({"code": self.code, **self.params}, ensure_ascii=False)

    def english(self) -> str:
        """The fixed English sentence for the driver API (no translation, no locale)."""
        values = {k: _english_value(k, v) for k, v in self.params.items()}
        if self.code == "quarantined":
            values["problem"] = self.detail or str(self.params.get("error_code") or "")
        text = TEXTS[self.code] % values
        if self.detail and self.code != "quarantined":
            text = f"{text} ({self.detail})"
        return text

    def text(self) -> str:
        """The sentence in the reader's language."""
        values = {k: _display_value(k, v) for k, v in self.params.items()}
        if self.code == "quarantined":
            values["problem"] = str(QUARANTINE_PROBLEMS.get(str(self.params.get("error_code")),
                                                            UNREADABLE))
        return gettext(TEXTS[self.code], **values)


def _english_value(key: str, value: Any) -> str:
    if key in _NUMBERS and isinstance(value, int | float):
        return f"{value:g}"
    if key in _QUOTED:
        return repr(str(value))
    return str(value).replace("_", " ") if key == "status" else str(value)


def _display_value(key: str, value: Any) -> str:
    if key in _NUMBERS and isinstance(value, int | float):
        return format_decimal(value)
    if key == "unit":
        return str(UNITS.get(str(value), value))
    return label(value).lower() if key == "status" else str(value)


def load(stored: str | None) -> Reason | None:
    """The coded reason of a stored value, or None for free text (shown as it is)."""
    if not stored:
        return None
    if stored in _LEGACY:
        return Reason(_LEGACY[stored])
    if stored.startswith(_CLAIMED_PREFIX):  # as lims.analysis.runs writes it when claiming a plate
        return Reason("claimed_by_run", {"run": stored.removeprefix(_CLAIMED_PREFIX)})
    if not stored.startswith("{"):
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("code") not in TEXTS:
        return None
    code = data.pop("code")
    return Reason(code, data)


def describe(stored: str | None) -> str:
    """A stored reason as a sentence in the reader's language (free text as it is)."""
    reason = load(stored)
    if reason is None:
        return stored or ""
    try:
        return reason.text()
    except (KeyError, TypeError, ValueError):  # a hand-edited row must not break the inbox
        return stored or ""
