"""The one fast-entry screen (issue 13, item 7): WYD readings, rapid-test categories and values
from devices without a data port. Each Enter answers "saved: S-… 24.6 mg/kg" in a polite live
region; a sample that already has a value is asked about (add as replicate / replace with a
reason / cancel), never given a second value silently; the old salt entry address redirects."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lims.analysis import catalogue, review
from lims.analysis.models import Result, ResultStatus
from lims.audit.service import events_for
from lims.capture.models import Protocol
from lims.capture.service import InstrumentFields, create_instrument
from lims.core.errors import BusinessRuleViolation, ConfirmationRequired, ValidationError
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW as NOW


def _current(session, sample) -> list[Result]:
    return list(session.scalars(sa.select(Result).where(Result.sample_id == sample.id,
                                                        Result.is_current)))


def test_a_second_value_asks_then_becomes_a_replicate_or_a_replacement(session, lab, received):
    sample, = received(1, SampleKind.SALT)
    wyd = catalogue.current_version(session, "SALT-WYD")
    first = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=sample,
                                       method_version=wyd, values=[24.6], instrument="WYD-01")
    assert first.details["instrument"] == "WYD-01"
    assert sample.status is SampleStatus.PENDING_REVIEW
    with pytest.raises(ConfirmationRequired, match="already has a value: 24.6 mg/kg"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=sample,
                                   method_version=wyd, values=[26.0])
    assert _current(session, sample) == [first]

    both = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=sample,
                                      method_version=wyd, values=[26.0], existing="replicate")
    assert both.details["replicates"] == [24.6, 26.0] and both.value == pytest.approx(25.3)
    assert _current(session, sample) == [both] and first.status is ResultStatus.SUPERSEDED

    with pytest.raises(ValidationError, match="Say why"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=sample,
                                   method_version=wyd, values=[31.0], existing="replace",
                                   reason=" ")
    fixed = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=sample,
                                       method_version=wyd, values=[31.0], existing="replace",
                                       reason="first reading on a wet sample")
    assert fixed.value == 31.0 and fixed.details["replicates"] == [31.0]
    assert any("first reading on a wet sample" in f for f in fixed.flags)
    [event] = events_for(session, "result", fixed.id)
    assert event.reason == "first reading on a wet sample"
    assert event.changes["value"] == {"before": "25.3", "after": "31.0"}
    assert event.changes["replaced"] is True
    assert sample.status is SampleStatus.PENDING_REVIEW


def test_a_verified_value_and_a_rapid_test_replicate_are_refused(session, lab, received):
    wyd_sample, rtk_sample = received(2, SampleKind.SALT)
    wyd = catalogue.current_version(session, "SALT-WYD")
    rtk = catalogue.current_version(session, "SALT-RTK")
    done = review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=wyd_sample,
                                      method_version=wyd, values=[30.0])
    review.verify_result(session, actor=lab["reviewer"], now=NOW, result=done)
    with pytest.raises(BusinessRuleViolation, match="amendment"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=wyd_sample,
                                   method_version=wyd, values=[29.0])
    with pytest.raises(BusinessRuleViolation, match="amendment"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=wyd_sample,
                                   method_version=wyd, values=[29.0], existing="replicate")
    review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=rtk_sample,
                               method_version=rtk, category="<15")
    with pytest.raises(BusinessRuleViolation, match="no replicates"):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=rtk_sample,
                                   method_version=rtk, category="≥15", existing="replicate")
    with pytest.raises(ValidationError):
        review.enter_direct_result(session, actor=lab["tech"], now=NOW, sample=rtk_sample,
                                   method_version=rtk, category="≥15", existing="both")


def _status(page: str) -> str:
    found = re.search(r'<div id="entry-status"[^>]*role="status" aria-live="polite">(.*?)</div>',
                      page, re.S)
    assert found, "the live region is on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_screen_confirms_each_save_and_asks_about_a_second_value(session, client, login,
                                                                     lab, received):
    sample, = received(1, SampleKind.SALT)
    device = create_instrument(session, actor=lab["admin"], now=NOW, fields=InstrumentFields(
        "WYD-07", "WYD Iodine Checker", Protocol.MANUAL))
    wyd = catalogue.current_version(session, "SALT-WYD")
    session.commit()
    login(lab["tech"])
    page = client.get("/analysis/entry").get_data(as_text=True)
    assert _status(page) == "" and "<script>" not in page and "onclick" not in page
    assert 'src="/static/fast_entry.js"' in page
    saved = client.post("/analysis/entry", data={
        "method": str(wyd.id), "instrument": str(device.id), "accession": f" {sample.accession}\r\n",
        "value": "24.6"})
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert _status(page) == f"Saved: {sample.accession} 24.6 mg/kg"
    assert 'class="just-saved"' in page
    assert f'<option selected value="{device.id}">' in page  # the device stays chosen

    asked = client.post("/analysis/entry", data={
        "method": str(wyd.id), "accession": sample.accession, "value": "26.0"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409 and 'role="alert"' in page
    assert "already has a value: 24.6 mg/kg" in page
    assert 'name="existing" value="replicate"' in page and 'name="existing" value="replace"' in page
    assert len(_current(session, sample)) == 1
    replicate = client.post("/analysis/entry", data={
        "method": str(wyd.id), "accession": sample.accession, "value": "26.0",
        "existing": "replicate"})
    assert replicate.status_code == 302
    page = client.get(replicate.headers["Location"]).get_data(as_text=True)
    assert _status(page) == f"Saved: {sample.accession} 25.3 mg/kg"
    refused = client.post("/analysis/entry", data={
        "method": str(wyd.id), "accession": sample.accession, "value": "20",
        "existing": "replace", "reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    unknown = client.post("/analysis/entry", data={"method": str(wyd.id),
                                                   "accession": "S-2026-999999", "value": "30"})
    assert unknown.status_code == 422 and "No such sample" in unknown.get_data(as_text=True)
    hostile = client.post("/analysis/entry", data={"method": str(wyd.id),
                                                   "accession": sample.accession,
                                                   "value": "nan", "existing": "drop"})
    assert hostile.status_code == 422
