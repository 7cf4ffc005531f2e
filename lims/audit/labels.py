"""Human words for the audit trail: every event action and every field its payloads carry.

The trail stores stable English identifiers (``result_verified``, ``temperature_c``) so it can
be queried and exported; timelines show these labels instead, in the reader's language. A
service that records a new action or payload key adds its label here (a test checks that the
actions recorded anywhere in ``lims/`` all have one).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, object] = {
    # samples: registration and lifecycle (``SampleAction`` values)
    "registered": _l("Sample registered"),
    "intake_file_registered": _l("Intake file registered"),
    "receive": _l("Sample received"),
    "reject": _l("Sample rejected"),
    "cancel": _l("Registration cancelled"),
    "start_analysis": _l("Analysis started"),
    "return_to_queue": _l("Returned to the queue"),
    "submit_for_review": _l("Submitted for review"),
    "send_back": _l("Sent back for re-analysis"),
    "verify": _l("Result verified"),
    "report": _l("Reported"),
    "amend": _l("Result amended"),
    "sample_corrected": _l("Registration corrected"),
    # instrument readings
    "reading_attached": _l("Reading attached by hand"),
    "reading_discarded": _l("Reading discarded"),
    "reading_entered": _l("Reading entered by hand"),
    "plate_imported": _l("Plate file imported"),
    "plate_claimed": _l("Plate taken into a run"),
    # analytical runs and results
    "run_created": _l("Run created"),
    "plate_attached": _l("Plate attached to the run"),
    "values_entered": _l("Values entered"),
    "run_calculated": _l("Run calculated"),
    "run_qc_overridden": _l("QC failure overridden"),
    "run_accepted": _l("Run accepted"),
    "run_rejected": _l("Run rejected"),
    "result_entered": _l("Result entered"),
    "result_recorded": _l("Result recorded"),
    "result_verified": _l("Result verified"),
    "result_amended": _l("Result amended"),
    "result_sent_back": _l("Result sent back"),
    "demo_past_analysis": _l("Analysed (demonstration data)"),
    # methods, reagents, quality control
    "method_version_added": _l("Method version added"),
    "reagent_lot_added": _l("Reagent lot added"),
    "control_lot_added": _l("Control lot added"),
    "control_target_set": _l("Control target set"),
    # instruments
    "instrument_registered": _l("Instrument registered"),
    "instrument_updated": _l("Instrument changed"),
    # equipment records (lims.equipment)
    "equipment_registered": _l("Equipment registered"),
    "equipment_status_changed": _l("Equipment status changed"),
    "calibration_recorded": _l("Calibration recorded"),
    "maintenance_recorded": _l("Verification or maintenance recorded"),
    "instrument_token_issued": _l("Instrument token issued"),
    # EQA scheme (lims.eqa)
    "eqa_programme_created": _l("EQA programme created"),
    "eqa_round_created": _l("EQA round created"),
    "eqa_round_status_changed": _l("EQA round status changed"),
    "eqa_material_added": _l("EQA material added"),
    "eqa_homogeneity_recorded": _l("Homogeneity study recorded"),
    "eqa_stability_recorded": _l("Stability study recorded"),
    "eqa_laboratory_registered": _l("EQA laboratory registered"),
    "eqa_laboratory_enrolled": _l("Laboratory enrolled in an EQA round"),
    "eqa_shipment_recorded": _l("EQA shipment recorded"),
    "eqa_value_assigned": _l("Assigned value set"),
    "eqa_round_scored": _l("EQA round scored"),
    "eqa_document_issued": _l("EQA document issued"),
    # EQA participants' results (lims.eqa.submissions)
    "eqa_result_submitted": _l("EQA result submitted"),
    "eqa_result_corrected": _l("EQA result corrected"),
    "eqa_correction_requested": _l("EQA correction sent after the deadline"),
    "eqa_correction_accepted": _l("Late EQA correction accepted"),
    "eqa_correction_refused": _l("Late EQA correction refused"),
    "eqa_results_uploaded": _l("EQA results uploaded by the provider"),
    "eqa_account_linked": _l("Participant account linked to an EQA laboratory"),
    # reference data and surveys
    "region_seeded": _l("Region loaded"),
    "region_updated": _l("Region changed"),
    "district_created": _l("District created"),
    "district_updated": _l("District changed"),
    "population_group_updated": _l("Population group changed"),
    "sample_kind_updated": _l("Sample kind changed"),
    "programme_created": _l("Programme created"),
    "round_created": _l("Survey round created"),
    "round_status_changed": _l("Survey round status changed"),
    "cluster_created": _l("Cluster created"),
    "stratum_population_set": _l("Stratum population set"),
    # reports
    "report_requested": _l("Report requested"),
    "report_recovered": _l("Report job recovered"),
    "report_issued": _l("Report issued"),
    "dhis2_pushed": _l("Sent to DHIS2"),
    "dhis2_push_failed": _l("Sending to DHIS2 failed"),
    # users and API tokens
    "user_created": _l("User created"),
    "user_updated": _l("User changed"),
    "user_unlocked": _l("Account unlocked"),
    "account_locked": _l("Account locked after failed logins"),
    "password_changed": _l("Password changed by its owner"),
    "language_changed": _l("Language changed"),
    "token_created": _l("API token created"),
    "token_revoked": _l("API token revoked"),
    # lists (lims.core.listing)
    "list_exported": _l("List exported"),
}

FIELD_LABELS: dict[str, object] = {
    # DHIS2 pushes (``lims.reporting.dhis2``)
    "url": _l("Address"),
    "values": _l("Values sent"),
    "attempts": _l("Attempts"),
    "http_status": _l("HTTP status"),
    "error": _l("Error"),
    "dhis2_status": _l("DHIS2 import status"),
    "imported": _l("Imported"),
    "updated": _l("Updated"),
    "ignored": _l("Ignored"),
    "conflicts": _l("Conflicts"),
    # samples
    "status": _l("Status"),
    "received_at": _l("Received at"),
    "receipt_id": _l("Receipt"),
    "decision": _l("Decision"),
    "temperature_c": _l("Temperature (°C)"),
    "volume_ml": _l("Volume (mL)"),
    "container_intact": _l("Container intact"),
    "rejection_reason": _l("Rejection reason"),
    "kind": _l("Kind"),
    "cluster": _l("Cluster"),
    "cluster_id": _l("Cluster"),
    "round": _l("Survey round"),
    "round_id": _l("Survey round"),
    "collected_at": _l("Collected at"),
    "participant_code": _l("Participant"),
    "household_code": _l("Household"),
    "age_months": _l("Age (months)"),
    "sex": _l("Sex"),
    "physiological_status": _l("Pregnancy / lactation"),
    "population_group_code": _l("Population group"),
    "container": _l("Container"),
    "salt_source": _l("Salt source"),
    "brand": _l("Brand"),
    "packaging": _l("Packaging"),
    "iodized_per_label": _l("Iodized per label"),
    "notes": _l("Notes"),
    "note": _l("Note"),
    "intake_batch_id": _l("Intake batch"),
    "new_participant": _l("New participant"),
    "flags": _l("Flags"),
    "sample": _l("Sample"),
    "samples": _l("Samples"),
    "rows": _l("Rows"),
    "sha256": _l("File checksum (SHA-256)"),
    "file": _l("File"),
    # readings, runs, results
    "reading": _l("Reading"),
    "run": _l("Run"),
    "result": _l("Result"),
    "value": _l("Value"),
    "version": _l("Version"),
    "method": _l("Method"),
    "based_on": _l("Based on"),
    "instrument": _l("Instrument"),
    "calibration_model": _l("Calibration model"),
    "reagent_lot": _l("Reagent lot"),
    "molarity": _l("Molarity (mol/L)"),
    "curve_accepted": _l("Calibration curve accepted"),
    "qc_accepted": _l("QC accepted"),
    "problems": _l("Problems"),
    "demo": _l("Demonstration data"),
    # quality control
    "mean": _l("Mean"),
    "sd": _l("Standard deviation"),
    "source": _l("Source"),
    # instruments
    "code": _l("Code"),
    "name": _l("Name"),
    "protocol": _l("Protocol"),
    "model": _l("Model"),
    "serial_number": _l("Serial number"),
    "location": _l("Location"),
    "serial_settings": _l("Serial port settings"),
    "is_active": _l("Active"),
    "token_prefix": _l("Token prefix"),
    # reference data and surveys
    "name_en": _l("Name (English)"),
    "name_kk": _l("Name (Kazakh)"),
    "name_ru": _l("Name (Russian)"),
    "admin_centre": _l("Administrative centre"),
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid to"),
    "programme": _l("Programme"),
    "description": _l("Description"),
    "period_start": _l("Period start"),
    "period_end": _l("Period end"),
    "regions": _l("Regions"),
    "region": _l("Region"),
    "groups": _l("Population groups"),
    "group": _l("Population group"),
    "district": _l("District"),
    "site_type": _l("Site type"),
    "target_count": _l("Target number of samples"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "stratum": _l("Stratum"),
    "design_weight": _l("Design weight"),
    "population": _l("Population"),
    "min_volume_ml": _l("Minimum volume (mL)"),
    # reports
    "params": _l("Parameters"),
    "scope": _l("Scope"),
    "year": _l("Year"),
    "lang": _l("Language"),
    "scheme": _l("Classification"),
    "dataset_sha256": _l("Data checksum (SHA-256)"),
    # users and tokens
    "roles": _l("Roles"),
    "full_name": _l("Full name"),
    "email": _l("E-mail"),
    "password": _l("Password"),
    "locked_until": _l("Locked until"),
    "prefix": _l("Token prefix"),
    "language": _l("Language"),
    # a reading attached by hand although implausible (``lims.capture.plausibility``)
    "confirmed_despite": _l("Attached although (confirmed)"),
    "wrong_kind": _l("the sample is of another kind"),
    "before_collection": _l("measured before collection"),
    "too_old": _l("measured after the sample's maximum age"),
    "has_value": _l("the sample already had a value"),
    # a second value typed for a sample (``lims.analysis.review.enter_direct_result``)
    "added_as_replicate": _l("Added as a replicate"),
    "replaced": _l("Replaced"),
    "data_changed": _l("Data changed"),
    # list exports
    "list": _l("List"),
    "format": _l("File format"),
    "filters": _l("Filters"),
    "sort": _l("Order"),
    # EQA results (``lims.eqa.submissions``)
    "unit": _l("Unit"),
    "uncertainty": _l("Standard uncertainty"),
    "coverage_k": _l("Coverage factor k"),
    "late": _l("Late"),
    "via": _l("Submitted by"),
    "replaces": _l("Replaces result No."),
    "correction_status": _l("Correction"),
    "row": _l("Row"),
    "username": _l("Username"),
    # equipment records (``lims.equipment``)
    "calibrated_on": _l("Calibrated on"),
    "valid_until": _l("Valid until"),
    "outcome": _l("Outcome"),
    "performed_by": _l("Performed by"),
    "certificate_no": _l("Certificate no."),
    "planned_on": _l("Planned for"),
    "done_on": _l("Done on"),
    # EQA scheme (``lims.eqa``)
    "measurand": _l("Measurand"),
    "sigma_kind": _l("σ_pt rule"),
    "sigma_percent": _l("σ_pt, %"),
    "sigma_a": "a",
    "sigma_b": "b",
    "min_p": _l("Fewest results for a consensus (p)"),
    "value_ceiling": _l("Largest plausible result"),
    "dispatch_date": _l("Dispatch date"),
    "deadline": _l("Deadline"),
    "value_source": _l("Assigned value"),
    "override": _l("Dispatched despite a failed check"),
    "sample_codes": _l("Sample codes made"),
    "pool_id": _l("Pool"),
    "level": _l("Level"),
    "units": _l("Units"),
    "grand_mean": _l("Grand mean"),
    "s_s": "s_s",
    "criterion": _l("Criterion (0.3·σ_pt)"),
    "sigma_pt": "σ_pt",
    "passed": _l("Passed"),
    "stability_mean": _l("Stability mean"),
    "difference": _l("Difference"),
    "country": _l("Country"),
    "methods": _l("Methods"),
    "laboratory": _l("Laboratory"),
    "lab_code": _l("Lab code"),
    "shipped_on": _l("Dispatched on"),
    "arrived_on": _l("Arrived on"),
    "x_pt": "x_pt",
    "u_x_pt": "u(x_pt)",
    "s_star": "s*",
    "p": "p",
    "u_x_pt_large": _l("u(x_pt) > 0.3·σ_pt"),
    "scores": _l("Scores"),
    "classes": _l("Classes"),
}

# Values typed by people or codes that identify things: shown exactly as stored, never looked
# up among the enum labels (a brand called "Other" stays "Other").
VERBATIM_FIELDS: frozenset[str] = frozenset({
    "notes", "note", "brand", "name", "full_name", "email", "description", "name_en", "name_kk",
    "name_ru", "admin_centre", "location", "model", "serial_number", "code", "file", "sha256",
    "dataset_sha256", "participant_code", "household_code", "prefix", "token_prefix", "reading",
    "run", "sample", "value", "result", "programme", "district", "region", "regions", "round",
    "cluster", "instrument", "reagent_lot", "method", "based_on", "scheme", "problems",
    "population_group_code", "groups", "group", "list", "format", "sort", "performed_by",
    "certificate_no", "lab_code", "laboratory", "pool_id", "level", "override",
})

# Stored as decimal strings (exact); shown as numbers in the reader's locale (4,5 in ru/kk).
NUMBER_FIELDS: frozenset[str] = frozenset({
    "temperature_c", "volume_ml", "mean", "sd", "molarity", "latitude", "longitude",
    "min_volume_ml", "value_ceiling", "sigma_percent", "sigma_a", "sigma_b", "grand_mean",
    "s_s", "criterion", "sigma_pt", "stability_mean", "difference", "x_pt", "u_x_pt", "s_star",
})

# Stored as ISO dates (no time of day).
DATE_FIELDS: frozenset[str] = frozenset({"valid_from", "valid_to", "period_start", "period_end",
                                        "calibrated_on", "valid_until", "planned_on", "done_on",
                                        "dispatch_date", "deadline", "shipped_on",
                                        "arrived_on"})

# Row ids in payloads, shown as what they identify (``entity`` is the event's entity label).
ID_TITLES: dict[str, object] = {
    "receipt_id": _l("Receipt of %(entity)s"),
    "intake_batch_id": _l("Intake batch No. %(id)s"),
    "cluster_id": _l("Cluster No. %(id)s"),
    "round_id": _l("Survey round No. %(id)s"),
}

LANGUAGE_LABELS: dict[str, object] = {
    "ru": _l("Russian"),
    "kk": _l("Kazakh"),
    "en": _l("English"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))
