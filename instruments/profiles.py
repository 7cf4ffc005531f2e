"""Instrument profiles: what a driver needs to know about one instrument, read from TOML.

A profile names the instrument (its `instrument_id` is what the LIMS knows it by), the protocol
spoken on its cable, the serial line settings, the protocol's options (which test code is which
analyte) and where its spool lives. Profiles are validated whole when loaded, with the file, the
instrument and the key in every message, because a typo found at 3 a.m. by a silent driver costs
results; unknown keys are errors for the same reason.

File layout (see ``config/instruments.example.toml``)::

    [[instrument]]
    name = "icpms"                 # what `lims-driver run --profile icpms` selects
    instrument_id = "ICPMS-01"
    protocol = "astm"              # astm | biorad | metrohm | mtsics
    port = "/dev/ttyUSB0"          # optional default for --port
    spool = "/var/lib/iodinelims/icpms.spool"
    batch_size = 200
    [instrument.serial]   # baudrate bytesize parity stopbits xonxoff rtscts timeout write_timeout
    [instrument.astm]     # or [instrument.metrohm] / [instrument.mtsics], matching `protocol`
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from instruments.errors import ConfigurationError
from instruments.wire import MAX_BATCH

__all__ = [
    "PROTOCOLS",
    "SerialSettings",
    "AstmOptions",
    "MetrohmOptions",
    "MtSicsOptions",
    "Profile",
    "parse_profile",
    "load_profiles",
    "load_profile",
]

PROTOCOLS = ("astm", "biorad", "metrohm", "mtsics")
_PARITIES = ("N", "E", "O", "M", "S")


@dataclass(frozen=True)
class SerialSettings:
    """pyserial port settings. `timeout` is the read timeout: also how often the driver's loop
    wakes to run protocol timers, so it is kept short."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False
    timeout: float = 0.1
    write_timeout: float = 5.0


@dataclass(frozen=True)
class AstmOptions:
    """ASTM E1381/E1394: `test_codes` maps the instrument's code (R-3) to a LIMS analyte; `units`
    gives the unit to record for an analyte when the instrument sends none; timers in seconds.

    `always_sends_r13` declares that the instrument stamps every result with R-13 (test
    completed): a result without it is then a problem on the reading (held in the LIMS's inbox),
    since without a time its key cannot tell a re-send from a repeat of the same value."""

    test_codes: Mapping[str, str]
    units: Mapping[str, str] = field(default_factory=dict)
    specimen_fields: tuple[int, ...] = (3,)
    decimal_comma: bool = False
    frame_timeout: float = 15.0
    idle_timeout: float = 30.0
    max_naks: int = 6
    always_sends_r13: bool = False


@dataclass(frozen=True)
class MetrohmOptions:
    """Metrohm PC/LIMS reports: {report quantity (EP1, sample_size, a result name): analyte}."""

    analytes: Mapping[str, str]


@dataclass(frozen=True)
class MtSicsOptions:
    """MT-SICS balance: the analyte of a stable mass, and optionally a command to poll with.

    Without `poll_command` the balance is in print mode (each Print key press is one weighing).
    With it (``"S"``), the driver asks every `poll_interval` seconds and records a stable mass
    only when it differs from the previous one and is not zero, since an unchanged pan answers
    every poll with the same weight.
    """

    analyte: str = "salt_mass"
    poll_command: str | None = None
    poll_interval: float = 1.0


Options = AstmOptions | MetrohmOptions | MtSicsOptions | None


@dataclass(frozen=True)
class Profile:
    name: str
    instrument_id: str
    protocol: str
    serial: SerialSettings = SerialSettings()
    options: Options = None
    port: str | None = None
    spool: Path | None = None
    batch_size: int = 200
    source: str = ""

    @property
    def astm(self) -> AstmOptions:
        assert isinstance(self.options, AstmOptions)
        return self.options

    @property
    def metrohm(self) -> MetrohmOptions:
        assert isinstance(self.options, MetrohmOptions)
        return self.options

    @property
    def mtsics(self) -> MtSicsOptions:
        assert isinstance(self.options, MtSicsOptions)
        return self.options


class _Reader:
    """Typed access to one TOML table that records which keys were used, to reject the rest."""

    def __init__(self, table: Mapping[str, Any], where: str) -> None:
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where}: expected a table")
        self.table = table
        self.where = where
        self.used: set[str] = set()

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        choices: tuple[Any, ...] | None = None,
    ) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is ...:
                raise ConfigurationError(f"{self.where}: missing required key {key!r}")
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigurationError(f"{self.where}.{key}: expected {_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise ConfigurationError(f"{self.where}.{key}: expected {_names(kinds)}, got {value!r}")
        if isinstance(value, str) and not value.strip():
            raise ConfigurationError(f"{self.where}.{key}: must not be empty")
        if min_value is not None and value < min_value:
            raise ConfigurationError(
                f"{self.where}.{key}: must be at least {min_value}, got {value!r}"
            )
        if max_value is not None and value > max_value:
            raise ConfigurationError(
                f"{self.where}.{key}: must be at most {max_value}, got {value!r}"
            )
        if choices is not None and value not in choices:
            raise ConfigurationError(
                f"{self.where}.{key}: must be one of {list(choices)}, got {value!r}"
            )
        return value

    def text_map(self, key: str, default: Any = ...) -> dict[str, str]:
        table = self.get(key, dict, default)
        bad = {k: v for k, v in table.items() if not isinstance(v, str) or not v.strip()}
        if bad:
            raise ConfigurationError(
                f"{self.where}.{key}: values must be non-empty strings, got {bad!r}"
            )
        return dict(table)

    def sub(self, key: str) -> _Reader:
        self.used.add(key)
        return _Reader(self.table.get(key, {}), f"{self.where}.{key}")

    def check_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise ConfigurationError(f"{self.where}: unknown key(s) {unknown}")


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _serial(r: _Reader) -> SerialSettings:
    s = SerialSettings(
        baudrate=r.get("baudrate", int, 9600, min_value=50, max_value=4_000_000),
        bytesize=r.get("bytesize", int, 8, choices=(5, 6, 7, 8)),
        parity=r.get("parity", str, "N", choices=_PARITIES),
        stopbits=r.get("stopbits", (int, float), 1, choices=(1, 1.5, 2)),
        xonxoff=r.get("xonxoff", bool, False),
        rtscts=r.get("rtscts", bool, False),
        timeout=float(r.get("timeout", (int, float), 0.1, min_value=0.001, max_value=5)),
        write_timeout=float(
            r.get("write_timeout", (int, float), 5.0, min_value=0.001, max_value=120)
        ),
    )
    r.check_unknown()
    return s


def _astm(r: _Reader) -> AstmOptions:
    codes = r.text_map("test_codes")
    if not codes:
        raise ConfigurationError(f"{r.where}.test_codes: map at least one test code to an analyte")
    fields = r.get("specimen_fields", list, [3])
    if not fields or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 2 for n in fields
    ):
        raise ConfigurationError(
            f"{r.where}.specimen_fields: a list of O field numbers (>= 2), got {fields!r}"
        )
    options = AstmOptions(
        test_codes=MappingProxyType(codes),
        units=MappingProxyType(r.text_map("units", {})),
        specimen_fields=tuple(fields),
        decimal_comma=r.get("decimal_comma", bool, False),
        frame_timeout=float(r.get("frame_timeout", (int, float), 15.0, min_value=0.01)),
        idle_timeout=float(r.get("idle_timeout", (int, float), 30.0, min_value=0.01)),
        max_naks=r.get("max_naks", int, 6, min_value=1),
        always_sends_r13=r.get("always_sends_r13", bool, False),
    )
    unknown_units = sorted(set(options.units) - set(codes.values()))
    if unknown_units:
        raise ConfigurationError(f"{r.where}.units: {unknown_units} are not analytes of test_codes")
    r.check_unknown()
    return options


def _metrohm(r: _Reader) -> MetrohmOptions:
    analytes = r.text_map("analytes")
    if not analytes:
        raise ConfigurationError(
            f"{r.where}.analytes: map at least one report quantity to an analyte"
        )
    r.check_unknown()
    return MetrohmOptions(MappingProxyType(analytes))


def _mtsics(r: _Reader) -> MtSicsOptions:
    options = MtSicsOptions(
        analyte=r.get("analyte", str, "salt_mass"),
        poll_command=r.get("poll_command", str, None),
        poll_interval=float(r.get("poll_interval", (int, float), 1.0, min_value=0.05)),
    )
    if options.poll_command is not None and not options.poll_command.isascii():
        raise ConfigurationError(f"{r.where}.poll_command: MT-SICS commands are ASCII")
    r.check_unknown()
    return options


_OPTIONS = {"astm": _astm, "metrohm": _metrohm, "mtsics": _mtsics}


def parse_profile(
    table: Mapping[str, Any], *, where: str = "instrument", base: Path | None = None
) -> Profile:
    """Build and validate one profile from its TOML table; a relative spool path is under `base`."""
    r = _Reader(table, where)
    name = r.get("name", str)
    r.where = f"{where} {name!r}"
    protocol = r.get("protocol", str, choices=PROTOCOLS)
    options: Options = None
    for proto in _OPTIONS:
        if proto in r.table and proto != protocol:
            raise ConfigurationError(
                f"{r.where}: [{proto}] options given but protocol is {protocol!r}"
            )
    if protocol in _OPTIONS:
        if protocol not in r.table and protocol != "mtsics":
            raise ConfigurationError(f"{r.where}: missing [{protocol}] options table")
        options = _OPTIONS[protocol](r.sub(protocol))
    spool = r.get("spool", str, None)
    spool_path = Path(spool).expanduser() if spool else None
    if spool_path is not None and not spool_path.is_absolute() and base is not None:
        spool_path = base / spool_path
    profile = Profile(
        name=name,
        instrument_id=r.get("instrument_id", str),
        protocol=protocol,
        serial=_serial(r.sub("serial")),
        options=options,
        port=r.get("port", str, None),
        spool=spool_path,
        batch_size=r.get("batch_size", int, 200, min_value=1, max_value=MAX_BATCH),
        source=where,
    )
    if len(profile.instrument_id) > 200:
        raise ConfigurationError(f"{r.where}.instrument_id: at most 200 characters")
    r.check_unknown()
    return profile


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """All profiles of a TOML file, by name (names must be unique)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from exc
    tables = data.get("instrument")
    if not isinstance(tables, list) or not tables:
        raise ConfigurationError(f"{path}: no [[instrument]] tables")
    unknown = sorted(set(data) - {"instrument"})
    if unknown:
        raise ConfigurationError(f"{path}: unknown top-level key(s) {unknown}")
    profiles: dict[str, Profile] = {}
    for i, table in enumerate(tables, 1):
        profile = parse_profile(table, where=f"{path}: instrument #{i}", base=path.parent)
        if profile.name in profiles:
            raise ConfigurationError(f"{path}: two instruments named {profile.name!r}")
        profiles[profile.name] = profile
    return profiles


def load_profile(name_or_path: str, config: str | Path | None = None) -> Profile:
    """A profile by name from `config`, or the only profile of the file `name_or_path`."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        profiles = load_profiles(candidate)
        if len(profiles) != 1:
            raise ConfigurationError(
                f"{candidate}: holds {len(profiles)} profiles {sorted(profiles)}; "
                "pass --config FILE --profile NAME"
            )
        return next(iter(profiles.values()))
    if config is None:
        raise ConfigurationError(
            f"profile {name_or_path!r}: not a .toml file, and no --config file "
            "(or LIMS_DRIVER_CONFIG) to look the name up in"
        )
    profiles = load_profiles(config)
    if name_or_path not in profiles:
        raise ConfigurationError(
            f"{config}: no instrument named {name_or_path!r} (have {sorted(profiles)})"
        )
    return profiles[name_or_path]
