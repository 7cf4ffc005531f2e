"""Instrument profiles: the example file loads, and every kind of mistake is named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.errors import ConfigurationError
from instruments.profiles import (
    AstmOptions,
    MetrohmOptions,
    MtSicsOptions,
    load_profile,
    load_profiles,
)
from tests.instruments.harness import EXAMPLE

GOOD = """
[[instrument]]
name = "icpms"
instrument_id = "ICPMS-01"
protocol = "astm"
spool = "icpms.sqlite"
[instrument.astm.test_codes]
"127I" = "uic"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instruments.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_profiles_load() -> None:
    profiles = load_profiles(EXAMPLE)
    assert sorted(profiles) == ["balance", "icpms", "sk-reader", "titrator"]
    icpms = profiles["icpms"]
    assert isinstance(icpms.options, AstmOptions)
    assert icpms.options.test_codes == {"UIC": "uic", "127I": "uic"}
    assert icpms.options.units == {"uic": "µg/L"}
    assert isinstance(profiles["titrator"].options, MetrohmOptions)
    assert profiles["titrator"].options.analytes["EP1"] == "titrant_volume"
    assert isinstance(profiles["balance"].options, MtSicsOptions)
    assert profiles["sk-reader"].options is None and profiles["sk-reader"].batch_size == 50
    assert profiles["sk-reader"].spool == EXAMPLE.parent / "spool" / "sk-reader.sqlite"


def test_defaults_and_lookup(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    profile = load_profile("icpms", path)
    assert (
        profile.serial.baudrate == 9600
        and profile.serial.parity == "N"
        and profile.serial.stopbits == 1
    )
    assert profile.astm.specimen_fields == (3,) and profile.astm.frame_timeout == 15.0
    assert profile.spool == tmp_path / "icpms.sqlite"
    assert load_profile(str(path)) == profile  # a file with one profile needs no name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('protocol = "astm"', 'protocol = "hl7"'), "protocol: must be one of"),
        (('instrument_id = "ICPMS-01"\n', ""), "missing required key 'instrument_id'"),
        (
            ('spool = "icpms.sqlite"', 'spool = "icpms.sqlite"\nbaud = 9600'),
            "unknown key(s) ['baud']",
        ),
        (
            ('spool = "icpms.sqlite"', 'spool = "x"\n[instrument.serial]\nparity = "X"'),
            "serial.parity: must be one of",
        ),
        (
            ('spool = "icpms.sqlite"', 'spool = "x"\n[instrument.serial]\nbaudrate = "9600"'),
            "serial.baudrate: expected int",
        ),
        (
            ('spool = "icpms.sqlite"', 'spool = "x"\nbatch_size = 5000'),
            "batch_size: must be at most 1000",
        ),
        (('"127I" = "uic"', '"127I" = ""'), "values must be non-empty strings"),
        (('[instrument.astm.test_codes]\n"127I" = "uic"', ""), "missing [astm] options table"),
        (
            ('"127I" = "uic"', '"127I" = "uic"\n[instrument.metrohm.analytes]\nEP1 = "v"'),
            "[metrohm] options given but protocol is 'astm'",
        ),
        (
            ('"127I" = "uic"', '"127I" = "uic"\n[instrument.astm.units]\nfoo = "mg"'),
            "not analytes of test_codes",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigurationError) as info:
        load_profiles(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_profiles(write(tmp_path, "[[instrument]\n"))
    with pytest.raises(ConfigurationError, match="two instruments named 'icpms'"):
        load_profiles(write(tmp_path, GOOD + GOOD))
    with pytest.raises(ConfigurationError, match="no instrument named 'nope'"):
        load_profile("nope", write(tmp_path, GOOD))
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_profiles(tmp_path / "missing.toml")
    with pytest.raises(ConfigurationError, match="no --config"):
        load_profile("icpms", None)
