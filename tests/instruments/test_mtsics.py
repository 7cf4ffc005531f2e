"""MT-SICS balance responses: only stable weights become masses."""

from __future__ import annotations

import pytest

from instruments.codecs.mtsics import (
    BalanceError, BalanceResponse, MtSicsDecoder, StableMass, UnstableMass, format_weight, parse_line,
)

from .chunking import chunkings, read

SESSION = read("mtsics_session.txt")


def decode(chunks: list[bytes]) -> list:
    d = MtSicsDecoder()
    return [e for c in chunks for e in d.feed(c)]


def test_session() -> None:
    events = decode([SESSION])
    masses = [e for e in events if isinstance(e, StableMass)]
    assert [(m.value, m.unit, m.raw_value) for m in masses] == [
        (10.0123, "g", "10.0123"), (-0.0004, "g", "-0.0004"), (100.0, "g", "100.00")]
    assert [type(e) for e in events].count(UnstableMass) == 1
    assert [e.code for e in events if isinstance(e, BalanceError)] == ["S I", "S +", "S -", "ES", "ET", "EL"]
    assert [e.raw for e in events if isinstance(e, BalanceResponse)] == ["Z A", 'I4 A "0123456789"']
    assert masses[0].raw == "S S     10.0123 g"


def test_same_result_for_every_chunking() -> None:
    expected = decode([SESSION])
    for label, chunks in chunkings(SESSION):
        assert decode(chunks) == expected, label


@pytest.mark.parametrize("line, kind", [
    ("S S   12.5x g", BalanceError),
    ("S S 10.0123g", BalanceError),
    ("S S <10 g", BalanceError),
    ("S  +", BalanceError),
    ("S D 1.0 g", UnstableMass),
    ("S S\t 1.5 mg", StableMass),
])
def test_odd_lines(line: str, kind: type) -> None:
    assert isinstance(parse_line(line), kind)


def test_bare_cr_or_lf_and_overlong_lines() -> None:
    assert decode([b"S S 1.0 g\rS S 2.0 g\n"]) == [StableMass(1.0, "g", "1.0", "S S 1.0 g"),
                                                  StableMass(2.0, "g", "2.0", "S S 2.0 g")]
    (err,) = decode([b"x" * 1024])
    assert isinstance(err, BalanceError) and err.code == "OVERLONG"


def test_formatter_round_trip() -> None:
    assert format_weight(10.0123) == b"S S    10.0123 g\r\n"
    (mass,) = decode([format_weight(101.8927)])
    assert mass.value == 101.8927
    (dyn,) = decode([format_weight(1.5, stable=False)])
    assert isinstance(dyn, UnstableMass)
