"""A run cannot be built on equipment that may not be used (ISO/IEC 17025 §6.4)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from lims.analysis import runs
from lims.core.errors import BusinessRuleViolation
from lims.equipment import service
from lims.equipment.models import CalibrationOutcome
from tests.conftest import FIXED_NOW


def test_no_run_on_an_out_of_service_plate_reader(session, lab: dict[str, Any], received) -> None:
    samples = received(3)
    reader = service.register_equipment(session, actor=lab["admin"], now=FIXED_NOW,
                                        code="EQ-READER-1", name="Bio-Rad 680",
                                        instrument=lab["reader"])
    service.record_calibration(session, actor=lab["admin"], now=FIXED_NOW, equipment=reader,
                               calibrated_on=FIXED_NOW.date() - timedelta(days=100),
                               valid_until=FIXED_NOW.date() + timedelta(days=265),
                               performed_by="KazStandard", outcome=CalibrationOutcome.PASS)
    service.set_equipment_status(session, actor=lab["admin"], now=FIXED_NOW, equipment=reader,
                                 in_service=False, reason="lamp failed")

    def build() -> runs.AnalyticalRun:
        return runs.create_run(session, actor=lab["tech"], now=FIXED_NOW,
                               method_version=lab["plate_method"], instrument=lab["reader"],
                               candidates=[runs.Candidate(s) for s in samples])

    with pytest.raises(BusinessRuleViolation) as refused:
        build()
    assert refused.value.field == "instrument" and "lamp failed" in refused.value.message
    service.set_equipment_status(session, actor=lab["admin"], now=FIXED_NOW, equipment=reader,
                                 in_service=True, reason="lamp replaced, checked with filter plate")
    assert build().instrument_id == lab["reader"].id


def test_the_qa_annex_names_the_equipment_runs_used(session, lab: dict[str, Any], received) -> None:
    from lims.reporting.jobs import qc_annex

    reader = service.register_equipment(session, actor=lab["admin"], now=FIXED_NOW,
                                        code="EQ-READER-2", name="Bio-Rad 680",
                                        instrument=lab["reader"])
    today = FIXED_NOW.date()
    service.record_calibration(session, actor=lab["admin"], now=FIXED_NOW, equipment=reader,
                               calibrated_on=date(2026, 1, 10), valid_until=date(2030, 1, 9),
                               performed_by="KazStandard", outcome=CalibrationOutcome.PASS)
    runs.create_run(session, actor=lab["tech"], now=FIXED_NOW, method_version=lab["plate_method"],
                    instrument=lab["reader"], candidates=[runs.Candidate(s) for s in received(2)])
    annex = qc_annex(session, [lab["plate_method"].id])
    assert {"equipment": "EQ-READER-2 Bio-Rad 680", "status": "In service",
            "calibration": "calibrated until 2030-01-09"} in annex["equipment"]
    assert today < date(2030, 1, 9)
    # a titration method's annex does not list the plate reader
    assert all("EQ-READER-2" not in e["equipment"]
               for e in qc_annex(session, [lab["titration"].id])["equipment"])
