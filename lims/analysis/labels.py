"""Human labels for the analysis and QC rooms' stored values (run and result states, curve
models, control levels, units, …), marked for translation here because the shared table in
``lims.core.labels`` belongs to the sample rooms. Pages show these through the
``analysis_label`` template filter; an unknown value is shown as stored."""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l

LABELS: dict[str, object] = {
    # run status
    "open": _l("Open"),
    "measured": _l("Measured"),
    "calculated": _l("Calculated"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    # result status
    "held": _l("Held"),
    "preliminary": _l("Preliminary"),
    "verified": _l("Verified"),
    "repeat": _l("Repeat"),
    "superseded": _l("Superseded"),
    # analytes and matrices
    "uic": _l("Urinary iodine"),
    "salt_iodine": _l("Iodine in salt"),
    "urine": _l("Urine"),
    "salt": _l("Salt"),
    # result scales
    "quantitative": _l("Quantitative"),
    "ordinal": _l("Ordinal (categories)"),
    # curve models
    "ln_linear": _l("ln(A) linear"),
    "linear": _l("Linear"),
    "quadratic": _l("Quadratic"),
    "4pl": _l("4PL"),
    # replicate tolerance
    "cv_pct": _l("CV, %"),
    "abs_diff": _l("Difference"),
    # control levels
    "low": _l("Low"),
    "mid": _l("Medium"),
    "high": _l("High"),
    # control target source
    "set": _l("Entered"),
    "established": _l("Established from runs"),
    # units
    "µg/L": _l("µg/L"),
    "mg/kg": _l("mg/kg"),
}


def analysis_label(value: object) -> str:
    """The label of a stored value (an enum member or its string); ``None`` gives ""."""
    key = value.value if isinstance(value, Enum) else value
    if key is None:
        return ""
    return str(LABELS.get(str(key), key))
