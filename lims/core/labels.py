"""Human labels for stored enum values, marked for translation in one place."""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l

LABELS: dict[str, object] = {
    # sample status
    "registered": _l("Registered"),
    "received": _l("Received"),
    "in_analysis": _l("In analysis"),
    "pending_review": _l("Pending review"),
    "verified": _l("Verified"),
    "reported": _l("Reported"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    # kinds
    "urine": _l("Urine"),
    "salt": _l("Salt"),
    # rejection reasons
    "insufficient_volume": _l("Insufficient volume (below 0.8 mL)"),
    "leaking": _l("Leaking"),
    "unlabelled": _l("Unlabelled"),
    "too_old": _l("Too old"),
    "contaminated": _l("Contaminated"),
    "other": _l("Other"),
    # containers and salt
    "screw_cap_tube": _l("Screw-cap tube"),
    "cryovial": _l("Cryovial"),
    "urine_cup": _l("Urine cup"),
    "household": _l("Household"),
    "retail": _l("Retail"),
    "production": _l("Production"),
    "sealed_plastic": _l("Sealed plastic bag"),
    "open_plastic": _l("Open plastic bag"),
    "paper": _l("Paper pack"),
    "bulk": _l("Bulk / loose"),
    # sites, rounds, people
    "school": _l("School"),
    "settlement": _l("Settlement"),
    "clinic": _l("Clinic"),
    "planned": _l("Planned"),
    "active": _l("Active"),
    "closed": _l("Closed"),
    "none": _l("Neither"),
    "pregnant": _l("Pregnant"),
    "lactating": _l("Lactating"),
    "F": _l("Female"),
    "M": _l("Male"),
    "accepted": _l("Accepted"),
    # roles
    "technician": _l("Technician"),
    "reviewer": _l("Reviewer"),
    "ministry": _l("Ministry"),
    "admin": _l("Administrator"),
}


def label(value: object) -> str:
    key = value.value if isinstance(value, Enum) else value
    if key is None:
        return ""
    return str(LABELS.get(str(key), key))


def choices(enum_cls: type[Enum]) -> list[tuple[str, str]]:
    return [(m.value, label(m)) for m in enum_cls]
