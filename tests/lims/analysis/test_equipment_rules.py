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
    from lims.reporting.data import ReportScope
    from lims.reporting.qa import qa_sections

    reader = service.register_equipment(session, actor=lab["admin"], now=FIXED_NOW,
                                        code="EQ-READER-2", name="Bio-Rad 680",
                                        instrument=lab["reader"])
    service.record_calibration(session, actor=lab["admin"], now=FIXED_NOW, equipment=reader,
                               calibrated_on=date(2026, 1, 10), valid_until=date(2030, 1, 9),
                               performed_by="KazStandard", outcome=CalibrationOutcome.PASS)
    samples = received(2)
    scope = ReportScope(round_id=samples[0].round_id)

    def equipment_rows() -> list[tuple[Any, ...]]:
        sections = qa_sections(session, scope, [lab["plate_method"].id], lang="en")
        [found] = [s for s in sections if s.title == "Equipment used"]
        return [tuple(row) for row in found.rows]

    # no run has analysed the scope's samples yet: no equipment to name
    assert equipment_rows() == []
    runs.create_run(session, actor=lab["tech"], now=FIXED_NOW, method_version=lab["plate_method"],
                    instrument=lab["reader"], candidates=[runs.Candidate(s) for s in samples])
    assert ("EQ-READER-2 Bio-Rad 680", "In service", "calibrated until 2030-01-09") \
        in equipment_rows()
    assert date.today() < date(2030, 1, 9)
