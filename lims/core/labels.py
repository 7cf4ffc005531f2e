"""Human labels for stored enum values, marked for translation in one place. (The words for
audit event actions and payload fields are in ``lims.audit.labels``.)"""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

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
    # sample actions (lifecycle transitions; audit event names)
    "receive": _l("Receive"),
    "reject": _l("Reject"),
    "cancel": _l("Cancel"),
    "start_analysis": _l("Start analysis"),
    "return_to_queue": _l("Return to queue"),
    "submit_for_review": _l("Submit for review"),
    "send_back": _l("Send back"),
    "verify": _l("Verify"),
    "report": _l("Report"),
    "amend": _l("Amend result"),
    # kinds
    "urine": _l("Urine"),
    "salt": _l("Salt"),
    # rejection reasons
    "insufficient_volume": _l("Insufficient volume (below 0.8 mL)"),
    "leaking": _l("Leaking"),
    "unlabelled": _l("Unlabelled"),
    "too_old": _l("Too old"),
    "contaminated": _l("Contaminated"),
    "cold_chain": _l("Cold chain broken in transport"),
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
    # runs, results, readings, report jobs, QC targets (statuses shown in audit trails too)
    "open": _l("Open"),
    "measured": _l("Measured"),
    "calculated": _l("Calculated"),
    "held": _l("Held"),
    "preliminary": _l("Preliminary"),
    "repeat": _l("Repeat"),
    "superseded": _l("Superseded"),
    "attached": _l("Attached"),
    "unmatched": _l("Unmatched"),
    "pending": _l("Pending"),
    "claimed": _l("Claimed by a run"),
    "discarded": _l("Discarded"),
    "queued": _l("Queued"),
    "running": _l("Running"),
    "done": _l("Done"),
    "failed": _l("Failed"),
    "set": _l("Set by hand"),
    "established": _l("Established from runs"),
    "manual": _l("Manual entry"),
    "file": _l("File import"),
    "driver": _l("Instrument driver"),
    "ln_linear": _l("Linear in ln(concentration)"),
    "linear": _l("Linear"),
    "quadratic": _l("Quadratic"),
    "4pl": _l("Four-parameter logistic"),
    "low_volume": _l("Volume below the minimum"),
    "changed": _l("changed"),
    # equipment (lims.equipment)
    "in_service": _l("In service"),
    "out_of_service": _l("Out of service"),
    "verification": _l("Verification"),
    "maintenance": _l("Maintenance"),
    "calibration": _l("Calibration"),
    "pass": _l("Passed"),
    "fail": _l("Failed"),
    # shipments (lims.logistics): statuses and discrepancy kinds
    "in_transit": _l("In transit"),
    "receiving": _l("Being received"),
    "missing": _l("Missing"),
    "extra": _l("Extra (not on the manifest)"),
    "damaged": _l("Damaged"),
    # EQA (lims.eqa)
    "dispatched": _l("Dispatched"),
    "uic": _l("Urinary iodine"),
    "salt_iodine": _l("Salt iodine"),
    "percent": _l("Percentage of the assigned value"),
    "robust": _l("Robust s* of the participants"),
    "reference": _l("Reference value"),
    "formulation": _l("Formulation value"),
    "consensus": _l("Robust consensus (Algorithm A)"),
    "sk_microplate": _l("Sandell–Kolthoff, microplate"),
    "ammonium_persulfate": _l("Ammonium persulfate"),
    "icp_ms": "ICP-MS",
    "titration": _l("Iodometric titration"),
    "satisfactory": _l("Satisfactory"),
    "questionable": _l("Questionable"),
    "unsatisfactory": _l("Unsatisfactory"),
    "z_prime": "z′",
    "provider_upload": _l("Uploaded by the provider"),
    "lab_report": _l("Laboratory report"),
    "certificate": _l("Certificate of participation"),
    "summary": _l("Round summary"),
    # roles
    "technician": _l("Technician"),
    "reviewer": _l("Reviewer"),
    "ministry": _l("Ministry"),
    "admin": _l("Administrator"),
    "eqa_participant": _l("EQA participant"),
}


def label(value: object) -> str:
    key = value.value if isinstance(value, Enum) else value
    if key is None:
        return ""
    return str(LABELS.get(str(key), key))


def choices(enum_cls: type[Enum]) -> list[tuple[str, str]]:
    return [(m.value, label(m)) for m in enum_cls]


def options(enum_cls: type[Enum], *, blank: str | None = None) -> list[SelectChoice]:
    """``choices`` as WTForms ``SelectChoice``s (tuple choices are deprecated in WTForms 3.3),
    led by an empty option labelled ``blank`` when given. Call it per request (e.g. in a
    form's ``__init__``) so the labels follow the user's language."""
    leading = [SelectChoice("", blank)] if blank is not None else []
    return [*leading, *(SelectChoice(value, text) for value, text in choices(enum_cls))]
