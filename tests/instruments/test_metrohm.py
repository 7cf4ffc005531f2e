"""Metrohm PC/LIMS reports: section tree, sample data, end point, results; split input."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from instruments.codecs.metrohm import MetrohmReportDecoder, TitrationReport, parse_report
from instruments.records import Quarantined

from .chunking import chunkings, read

REPORT = read("metrohm_pc_lims.txt")


def decode(chunks: list[bytes]) -> list:
    d = MetrohmReportDecoder("TT-916")
    out: list = []
    for c in chunks:
        out += d.feed(c)
    return out + d.flush()


def test_report_fields() -> None:
    report = parse_report(REPORT, "TT-916")
    assert report.sample_id == "SALT-25-0042" and report.sample_id2 == "Kostanay"
    assert report.sample_size == 10.0123 and report.sample_unit == "g" and report.sample_size_raw == "10.0123"
    assert report.endpoint_volume_ml == 2.3715 and report.endpoints[0].potential_mv == 147.055
    assert [(r.name, r.value, r.unit) for r in report.results] == [("RS01", 32.4, "mg/kg"), ("RS02", 54.6, "mg/kg")]
    assert report.determination_id == "SALT-25-0042-20250314-103000"
    assert report.determined_at == datetime(2025, 3, 14, 10, 30)
    assert report.problems == ()
    assert report.root.name == "PC/LIMS" and report.root.version == "V1"
    mode = report.root.find("Mode 1")
    assert mode is not None and mode.header == ("Mode 1", "01", "DET U", "V1.0") and mode.version == "V1.0"
    assert report.root.find("916 Rührer") is not None  # UTF-8 kept
    assert json.loads(json.dumps(report.to_dict()))["endpoint_volume_ml"] == 2.3715


def test_readings() -> None:
    report = parse_report(REPORT, "TT-916")
    got = report.readings({"EP1": "thio_volume", "sample_size": "salt_mass", "RS01": "iodine_salt"})
    assert [(r.analyte, r.value, r.unit) for r in got] == [
        ("thio_volume", 2.3715, "mL"), ("salt_mass", 10.0123, "g"), ("iodine_salt", 32.4, "mg/kg"),
        (None, 54.6, "mg/kg")]
    assert all(r.sample_id == "SALT-25-0042" for r in got)
    assert got[3].problems == ("unknown result name 'RS02'",)


def test_same_result_for_every_chunking() -> None:
    expected = [r.to_dict() for r in decode([REPORT])]
    assert len(expected) == 1
    for label, chunks in chunkings(REPORT, every_offset=False):
        assert [r.to_dict() for r in decode(chunks)] == expected, label


def test_crlf_and_latin1_reports() -> None:
    data = REPORT.decode("utf-8").encode("cp1252").replace(b"\n", b"\r\n")
    (report,) = decode([data])
    assert isinstance(report, TitrationReport) and report.root.find("916 Rührer") is not None


def test_truncated_and_stray_text_is_quarantined() -> None:
    cut = REPORT[: REPORT.index(b"$S DETERM")]
    out = decode([b"hello\n$E\n", cut])
    assert [type(x) for x in out] == [Quarantined, Quarantined, Quarantined]
    assert out[2].reason == "incomplete report at end of input" and out[2].raw.startswith("$S PC/LIMS")


def test_missing_pieces_are_problems_not_crashes() -> None:
    report = parse_report("$S PC/LIMS V1\n$S Sample data V1\nX1\t\tabc\tg\n$E\n$E\n")
    assert report.sample_id == "X1" and report.sample_size is None
    assert "no DETERM section" in report.problems and "no end point (EP) found" in report.problems
    assert any(p.startswith("sample size") for p in report.problems)
    got = report.readings({"sample_size": "salt_mass"})
    assert got[0].value is None


def test_parse_report_needs_exactly_one() -> None:
    with pytest.raises(ValueError):
        parse_report(b"")
    with pytest.raises(ValueError):
        parse_report(REPORT + REPORT)
