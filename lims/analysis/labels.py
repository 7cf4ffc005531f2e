"""Human labels for the analysis and QC rooms' stored values (run and result states, curve
models, control levels, units, …), marked for translation here because the shared table in
``lims.core.labels`` belongs to the sample rooms. Pages show these through the
``analysis_label`` template filter; an unknown value is shown as stored.

The names and notes of the default method catalogue are keyed by their stored English text: a
method or control the lab renamed is shown as the lab typed it."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from flask_babel import format_decimal, get_locale, pgettext
from flask_babel import lazy_gettext as _l

#: A label is a lazy string, or a function giving the label in the current language: the states
#: of runs and results are translated in a context of their own (``pgettext``), so their words
#: agree with "run" and "result" whatever the samples' states of the same name say.
LABELS: dict[str, object | Callable[[], str]] = {
    # run status
    "open": lambda: pgettext("run status", "Open"),
    "measured": lambda: pgettext("run status", "Measured"),
    "calculated": lambda: pgettext("run status", "Calculated"),
    "accepted": lambda: pgettext("run status", "Accepted"),
    "rejected": lambda: pgettext("run status", "Rejected"),
    # result status
    "held": lambda: pgettext("result status", "Held"),
    "preliminary": lambda: pgettext("result status", "Preliminary"),
    "verified": lambda: pgettext("result status", "Verified"),
    "repeat": lambda: pgettext("result status", "Repeat"),
    "superseded": lambda: pgettext("result status", "Superseded"),
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
    # a result's details (lims.analysis.calibration.SampleResult and the inputs kept with it)
    "outcome": _l("Outcome"),
    "reportable": _l("Reportable"),
    "below_loq": _l("Below LOQ"),
    "below_lod": _l("Below LOD"),
    "below_range": _l("Below the lowest standard"),
    "dilute_and_repeat": _l("Dilute and repeat"),
    "value": _l("Value"),
    "comparator": _l("Comparator"),
    "limit": _l("Limit"),
    "replicates": _l("Replicates"),
    "spread": _l("Spread: CV (%) or difference"),
    "dilution_factor": _l("Dilution factor"),
    "suggested_dilution": _l("Suggested dilution"),
    "reasons": _l("Reasons"),
    "parallels": _l("Parallels (V, mL; m, g)"),
    "molarity": _l("Thiosulfate molarity, mol/L"),
    "category": _l("Category"),
    "amended_from": _l("Amended from"),
    # units
    "µg/L": _l("µg/L"),
    "mg/kg": _l("mg/kg"),
    # the default catalogue (lims.analysis.methods.default_catalogue): method and control names
    "Urinary iodine, S-K microplate (Ohashi 2000)":
        _l("Urinary iodine, S-K microplate (Ohashi 2000)"),
    "Urinary iodine, S-K tubes (WHO Method A)": _l("Urinary iodine, S-K tubes (WHO Method A)"),
    "Urinary iodine, ICP-MS (reference method)": _l("Urinary iodine, ICP-MS (reference method)"),
    "Salt iodine, iodometric titration": _l("Salt iodine, iodometric titration"),
    "Salt iodine, WYD Iodine Checker": _l("Salt iodine, WYD Iodine Checker"),
    "Salt iodine, rapid test kit": _l("Salt iodine, rapid test kit"),
    "Urine pool low": _l("Urine pool low"),
    "Urine pool mid": _l("Urine pool mid"),
    "Urine pool high": _l("Urine pool high"),
    "Salt control low": _l("Salt control low"),
    "Salt control high": _l("Salt control high"),
    # ... their notes
    "APS digestion 110 °C 60 min in plate; S-K 25 °C 30 min; read 405 nm.":
        _l("APS digestion 110 °C 60 min in plate; S-K 25 °C 30 min; read 405 nm."),
    "APS digestion; ceric additions staggered at fixed intervals; read 420 nm. Record read time "
    "and addition interval per run.":
        _l("APS digestion; ceric additions staggered at fixed intervals; read 420 nm. Record "
           "read time and addition interval per run."),
    "1:49 in TMAH with Te internal standard; response = 127I/130Te ratio. No LOD in domain.md: "
    "the lowest non-zero calibrator is the reporting limit until set.":
        _l("1:49 in TMAH with Te internal standard; response = 127I/130Te ratio. No LOD set yet: "
           "the lowest non-zero calibrator is the reporting limit until set."),
    "10 g in 50 mL; 1 mL 2 N H2SO4 + 5 mL 10 % KI; 10 min dark; thiosulfate to colourless with "
    "starch. Result = mean of 2 parallels (GOST R 51575).":
        _l("10 g in 50 mL; 1 mL 2 N H2SO4 + 5 mL 10 % KI; 10 min dark; thiosulfate to colourless "
           "with starch. Result = mean of 2 parallels (GOST R 51575)."),
    "585 nm, direct read-out in mg/kg. Record device serial, reagent lot and zero/calibration "
    "check.":
        _l("585 nm, direct read-out in mg/kg. Record device serial, reagent lot and "
           "zero/calibration check."),
    "Reliable for presence vs absence only; never stored as a number.":
        _l("Reliable for presence vs absence only; never stored as a number."),
    # ... and the fields that still await the lab's sign-off
    "calibration.concentrations": _l("standard concentrations"),
    "calibration.model": _l("curve model"),
    "calibration.acceptance": _l("curve acceptance"),
    "lod": _l("LOD"),
    "loq": _l("LOQ"),
    "dilution": _l("dilution"),
    "controls": _l("controls"),
    "duplicate_tolerance": _l("replicate tolerance"),
    "plate": _l("plate layout"),
    "reportable_range": _l("reportable range"),
}


def short_number(value: float | int | None, digits: int = 3) -> str:
    """A number as the reader's locale writes it with only the decimals it needs (up to
    ``digits``): standards, limits and factors typed as 20, 2.5 or 0.995 read back the same way
    (``|number`` keeps a fixed count, for columns)."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0" + ("." + "#" * digits if digits > 0 else ""))


def decimal(value: float, spec: str) -> str:
    """``format(value, spec)`` with the decimal sign of the reader's language (4,5 in ru/kk), for
    numbers inside messages; outside a request the default language's sign is used."""
    text = format(value, spec)
    locale = get_locale()
    return text if locale is None else text.replace(".", locale.number_symbols["latn"]["decimal"])


def analysis_label(value: object) -> str:
    """The label of a stored value (an enum member or its string); ``None`` gives ""."""
    key = value.value if isinstance(value, Enum) else value
    if key is None:
        return ""
    found = LABELS.get(str(key), key)
    return found() if callable(found) else str(found)
