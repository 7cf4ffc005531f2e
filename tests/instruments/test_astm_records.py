"""E1394 records: delimiters from H, escapes, R records → readings (including odd values), and the
formatter → link layer → parser round trip."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from instruments.codecs.astm_link import MessageReceived, Receiver, Sender
from instruments.codecs.astm_records import (
    Delimiters, Record, ResultAssembler, escape, format_record, format_records, parse_datetime,
    parse_record, parse_records, unescape,
)
from instruments.errors import RecordError
from instruments.records import Quarantined, Reading

from .chunking import chunkings, read
from .test_astm_link import pump

UIC = {"UIC": "uic"}


def messages(stream: bytes) -> list[bytes]:
    return [e.text for e in Receiver().feed(stream) if isinstance(e, MessageReceived)]


def readings(items: list) -> list[Reading]:
    return [i for i in items if isinstance(i, Reading)]


def test_delimiters_come_from_the_header() -> None:
    d = Delimiters.from_header("H!~#$!!!Sender")
    assert d == Delimiters(field="!", repeat="~", component="#", escape="$")
    records = parse_records("H!~#$!!!Inst#1\rO!1!S-1!!##UIC\rR!1!###UIC!5$F$1!ug/L\rL!1!N\r")
    assert [r.type for r in records] == ["H", "O", "R", "L"]
    assert records[0].components(5) == ("Inst", "1")
    assert records[2].component(3, 4) == "UIC"
    assert records[2].text(4) == "5!1"


@pytest.mark.parametrize("bad", ["H|\\^", "H|||^&", "Habcd|x"])
def test_bad_delimiter_definitions(bad: str) -> None:
    with pytest.raises(RecordError):
        parse_record(bad)


def test_escapes() -> None:
    d = Delimiters()
    assert unescape("a&F&b&S&c&R&d&E&e", d) == "a|b^c\\d&e"
    assert unescape("&X41424A&", d) == "ABJ"
    assert unescape("&H&bold&N&", d) == "bold"
    assert unescape("odd &Q& and lone & stay", d) == "odd &Q& and lone & stay"
    text = "Na|Cl^x\\y&z"
    assert unescape(escape(text, d), d) == text
    r = parse_record("C|1|I|" + escape("ratio 1^2 | ok", d) + "^second|G")
    assert r.components(4) == ("ratio 1^2 | ok", "second")


def test_records_may_stop_early_or_carry_empty_fields() -> None:
    short = parse_record("R|1|^^^UIC|5")
    assert short.text(9) == "" and short.component(3, 7) == "" and short.raw_field(0) == ""
    assert parse_record("P|1||||||||").text(9) == ""


@pytest.mark.parametrize("bad", ["X|1|2", "9", "R;1;2", "|R|1"])
def test_non_records_raise(bad: str) -> None:
    with pytest.raises(RecordError):
        parse_record(bad)


def test_peer_session_gives_three_readings() -> None:
    asm = ResultAssembler("SK-READER-01", UIC)
    items: list = []
    for m in messages(read("iodine_peer_session.astm")):
        items += asm.feed(m)
    got = readings(items)
    assert [(r.sample_id, r.value, r.flags) for r in got] == [
        ("U25-0001", 142.5, ("N",)), ("U25-0002", 87.3, ("L",)), ("U25-0003", 312.0, ("H",))]
    first = got[0]
    assert first.analyte == "uic" and first.test_code == "UIC" and first.unit == "ug/L"
    assert first.status == "F" and first.measured_at == datetime(2025, 3, 14, 10, 30)
    assert first.raw_value == "142.5" and first.comparator is None and first.problems == ()
    assert first.raw.startswith("R|1|^^^UIC|142.5|")
    assert json.loads(json.dumps(first.to_dict()))["measured_at"] == "2025-03-14T10:30:00"
    assert len([i for i in items if isinstance(i, Record)]) == 9


def test_c111_session_in_one_message() -> None:
    msgs = messages(read("cobas_c111.astm"))
    assert len(msgs) == 1
    asm = ResultAssembler("c111", {"413": "albumin"}, specimen_fields=(3, 4))
    items = asm.feed(msgs[0])
    (reading,) = readings(items)
    assert reading.sample_id == "T20 10134GA D28" and reading.position == "T20 10134GA D28^^6"
    assert reading.analyte == "albumin" and reading.value == 40.13 and reading.unit == "g/L"
    assert reading.measured_at == datetime(2023, 8, 3, 13, 17, 0)
    assert [i.type for i in items if isinstance(i, Record)] == list("HPORCML")
    # with the default profile (O-3 only) the c111's empty O-3 is a problem, not a guess
    (strict,) = readings(ResultAssembler("c111", {"413": "albumin"}).feed(msgs[0]))
    assert strict.sample_id is None and "no specimen ID in O-3" in strict.problems


def r_line(value: str, code: str = "UIC", extra: str = "") -> str:
    return f"R|1|^^^{code}|{value}|ug/L||N||F||||20250314103000{extra}"


HEAD = "H|\\^&|||Sim\rO|1|U25-0009||^^^UIC\r"


@pytest.mark.parametrize("value, expected, comparator, problem", [
    ("<20", 20.0, "<", None),
    ("> 400", 400.0, ">", None),
    ("142.50", 142.5, None, None),
    ("-0.3", -0.3, None, None),
    ("1.2E2", 120.0, None, None),
    ("***", None, None, "non-numeric value '***'"),
    ("12,5", None, None, "non-numeric value '12,5'"),
    ("", None, None, "empty value"),
    ("nan", None, None, "non-numeric value 'nan'"),
    ("<", None, "<", "comparator without a number"),
    ("see comment", None, None, "non-numeric value 'see comment'"),
])
def test_values_are_kept_as_text_and_parsed(value: str, expected, comparator, problem) -> None:
    (r,) = readings(ResultAssembler("x", UIC).feed(HEAD + r_line(value) + "\r"))
    assert r.raw_value == value and r.value == expected and r.comparator == comparator
    assert r.sample_id == "U25-0009"
    assert (problem in r.problems) if problem else r.problems == ()


def test_decimal_comma_only_when_configured() -> None:
    (r,) = readings(ResultAssembler("x", UIC, decimal_comma=True).feed(HEAD + r_line("12,5") + "\r"))
    assert r.value == 12.5 and r.problems == ()
    (r,) = readings(ResultAssembler("x", UIC, decimal_comma=True).feed(HEAD + r_line("1,234.5") + "\r"))
    assert r.value is None


def test_value_with_components_parses_the_first() -> None:
    (r,) = readings(ResultAssembler("x", UIC).feed(HEAD + r_line("87.3^LOW") + "\r"))
    assert r.value == 87.3 and r.raw_value == "87.3^LOW"


def test_unknown_test_code_still_gives_a_reading() -> None:
    (r,) = readings(ResultAssembler("x", UIC).feed(HEAD + r_line("5.1", code="NA") + "\r"))
    assert r.analyte is None and r.test_code == "NA" and r.value == 5.1
    assert r.problems == ("unknown test code 'NA'",)


def test_roche_style_test_id_and_dates() -> None:
    line = "R|1|^^^245^^0|22.50|pmol/l|18.94^27.26|N||F|||20230602184928|20230602190748|"
    (r,) = readings(ResultAssembler("e411", {"245": "ft4"}).feed(HEAD + line + "\r"))
    assert r.analyte == "ft4" and r.value == 22.5 and r.measured_at == datetime(2023, 6, 2, 19, 7, 48)


def test_result_without_order_or_header_or_date() -> None:
    (r,) = readings(ResultAssembler("x", UIC).feed("R|1|^^^UIC|5|ug/L||||F||||2025-03-14\r"))
    assert r.sample_id is None and r.measured_at is None
    assert any("without an order" in p for p in r.problems)
    assert any("no H record" in p for p in r.problems)
    assert any(p.startswith("R-13") for p in r.problems)


def test_multiple_results_per_order_and_flag_repeats() -> None:
    text = HEAD + "R|1|^^^UIC|5|ug/L||L\\<||F\rR|2|^^^CREA|1.1|mmol/L||N||F\rP|2\rR|1|^^^UIC|9\r"
    got = readings(ResultAssembler("x", {"UIC": "uic", "CREA": "creatinine"}).feed(text))
    assert [(r.sample_id, r.analyte, r.flags) for r in got] == [
        ("U25-0009", "uic", ("L", "<")), ("U25-0009", "creatinine", ("N",)), (None, "uic", ())]


def test_non_records_are_quarantined_not_dropped() -> None:
    items = ResultAssembler("x", UIC).feed(HEAD + "garbage line\r" + r_line("5") + "\r")
    q = [i for i in items if isinstance(i, Quarantined)]
    assert len(q) == 1 and q[0].raw == "garbage line" and q[0].error_code == "record_error"
    assert len(readings(items)) == 1


def test_context_survives_across_messages_and_resets_on_header() -> None:
    asm = ResultAssembler("x", UIC)
    asm.feed("H|\\^&\r")
    asm.feed("O|1|S-1\r")
    (r,) = readings(asm.feed(r_line("5") + "\r"))
    assert r.sample_id == "S-1"
    asm.feed("H|\\^&\r")
    (r,) = readings(asm.feed(r_line("5") + "\r"))
    assert r.sample_id is None


def test_parse_datetime() -> None:
    assert parse_datetime("20250314") == datetime(2025, 3, 14)
    assert parse_datetime("202503141030") == datetime(2025, 3, 14, 10, 30)
    assert parse_datetime(" ") is None
    for bad in ("2025-03-14", "20251314103000", "2025031410"):
        with pytest.raises(ValueError):
            parse_datetime(bad)


def test_formatter() -> None:
    assert format_record(["H", None, None, None, ("Sim", "1.0")]) == "H|\\^&|||Sim^1.0\r"
    assert format_record(["R", "1", ("", "", "", "UIC"), "<20", "ug/L", None, ["L", "<"]]) == \
        "R|1|^^^UIC|<20|ug/L||L\\<\r"
    assert format_record(["C", "1", "I", "a|b^c"]) == "C|1|I|a&F&b&S&c\r"
    with pytest.raises(ValueError):
        format_record(["X", "1"])


SESSION = [
    ["H", None, None, None, ("IodineSim", "1.0", "SIM-01"), None, None, None, None, "LIMS", None, "P",
     "LIS2-A2", "20250314103000"],
    ["P", "1"],
    ["O", "1", "U25-0001", None, ("", "", "", "UIC")],
    ["R", "1", ("", "", "", "UIC"), "142.5", "ug/L", "100 to 299", "N", None, "F", None, None, None,
     "20250314103000", "SIM-01"],
    ["R", "2", ("", "", "", "UIC"), "<20", "ug/L", None, "<", None, "F"],
    ["C", "1", "I", "note with | and ^ and & inside " + "x" * 300, "G"],
    ["O", "2", "U25-0002", None, ("", "", "", "UIC")],
    ["R", "1", ("", "", "", "XYZ"), ">400", "ug/L", None, ">", None, "F"],
    ["L", "1", "N"],
]


def test_round_trip_formatter_sender_receiver_parser() -> None:
    texts = [t.encode("latin-1") for t in format_records(SESSION)]
    rx_events, _ = pump(Sender(), Receiver(), texts)
    asm = ResultAssembler("SIM-01", UIC)
    items: list = []
    for e in rx_events:
        if isinstance(e, MessageReceived):
            items += asm.feed(e.text)
    got = readings(items)
    assert [(r.sample_id, r.raw_value, r.value, r.comparator, r.analyte) for r in got] == [
        ("U25-0001", "142.5", 142.5, None, "uic"),
        ("U25-0001", "<20", 20.0, "<", "uic"),
        ("U25-0002", ">400", 400.0, ">", None)]
    comment = next(i for i in items if isinstance(i, Record) and i.type == "C")
    assert comment.text(4) == SESSION[5][3]
    assert got[2].problems == ("unknown test code 'XYZ'",)


def test_readings_do_not_depend_on_chunking() -> None:
    data = read("iodine_peer_session.astm")
    def all_readings(chunks: list[bytes]) -> list[Reading]:
        rx, asm, out = Receiver(), ResultAssembler("p", UIC), []
        for c in chunks:
            for e in rx.feed(c):
                if isinstance(e, MessageReceived):
                    out += readings(asm.feed(e.text))
        return out
    expected = all_readings([data])
    assert len(expected) == 3
    for label, chunks in chunkings(data, every_offset=False):
        assert all_readings(chunks) == expected, label
