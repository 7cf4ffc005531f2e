"""A run names the equipment it used: the record of its instrument, with its status and its
calibration on the run's day, on the run page and in the PDF run report."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from lims.analysis import runs
from lims.equipment import service
from lims.equipment.models import CalibrationOutcome


def _run(session, lab, received, **kwargs):  # type: ignore[no-untyped-def]
    return runs.create_run(session, actor=lab["tech"], now=lab["admin"].created_at,
                           method_version=lab["plate_method"], instrument=lab["reader"],
                           candidates=[runs.Candidate(s) for s in received(2)], **kwargs)


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
                    .split())


def test_the_run_page_and_report_name_the_equipment_and_its_calibration(
        session, client, login, lab, received) -> None:  # type: ignore[no-untyped-def]
    run = _run(session, lab, received)
    day = run.created_at.date()
    equipment = service.register_equipment(session, actor=lab["admin"], now=run.created_at,
                                           code="EQ-READER-7", name="Multiskan FC",
                                           instrument=lab["reader"])
    service.record_calibration(session, actor=lab["admin"], now=run.created_at,
                               equipment=equipment, calibrated_on=day - timedelta(days=100),
                               valid_until=day + timedelta(days=30), performed_by="KazStandard",
                               outcome=CalibrationOutcome.PASS)
    session.commit()
    login(lab["tech"])
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    until = (day + timedelta(days=30)).isoformat()
    assert f'href="/equipment/{equipment.id}"' in page
    assert "EQ-READER-7 · Multiskan FC" in page and f"calibrated until {until}" in page
    assert "In service" in page
    report = client.get(f"/analysis/runs/{run.id}/report.pdf")
    assert report.status_code == 200
    text = _pdf_text(report.data)
    assert f"EQ-READER-7 Multiskan FC: In service; calibrated until {until}" in text


def test_a_lapsed_calibration_on_the_runs_day_is_shown_as_lapsed(
        session, client, login, lab, received) -> None:  # type: ignore[no-untyped-def]
    run = _run(session, lab, received)
    day = run.created_at.date()
    equipment = service.register_equipment(session, actor=lab["admin"], now=run.created_at,
                                           code="EQ-READER-8", name="Multiskan FC",
                                           instrument=lab["reader"])
    service.record_calibration(session, actor=lab["admin"], now=run.created_at,
                               equipment=equipment, calibrated_on=day - timedelta(days=400),
                               valid_until=day - timedelta(days=35), performed_by="KazStandard",
                               outcome=CalibrationOutcome.PASS)
    service.set_equipment_status(session, actor=lab["admin"], now=run.created_at,
                                 equipment=equipment, in_service=False, reason="lamp failed")
    session.commit()
    login(lab["tech"])
    ended = (day - timedelta(days=35)).isoformat()
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert f"calibration lapsed on {ended}" in page
    assert '<span class="badge rejected">Out of service: lamp failed</span>' in page
    text = _pdf_text(client.get(f"/analysis/runs/{run.id}/report.pdf").data)
    assert "EQ-READER-8 Multiskan FC: Out of service: lamp failed; calibration lapsed" in text
    service.set_equipment_status(session, actor=lab["admin"], now=run.created_at,
                                 equipment=equipment, in_service=True, reason="lamp replaced")
    session.commit()
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert f'<span class="badge rejected">calibration lapsed on {ended}</span>' in page
    text = _pdf_text(client.get(f"/analysis/runs/{run.id}/report.pdf").data)
    assert f"EQ-READER-8 Multiskan FC: In service; calibration lapsed on {ended}" \
        in text


def test_a_run_without_an_equipment_record_names_none(
        session, client, login, lab, received) -> None:  # type: ignore[no-untyped-def]
    run = _run(session, lab, received)
    session.commit()
    login(lab["tech"])
    page = client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    assert 'id="run-equipment"' not in page
    assert "Equipment" not in _pdf_text(client.get(f"/analysis/runs/{run.id}/report.pdf").data)
