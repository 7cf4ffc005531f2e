"""Metrohm Titrando / Ti-Touch "PC/LIMS report" → `TitrationReport` (and `Reading`s).

The report is tab-separated text in nested sections (``$S <name> [V<n>]`` … ``$E``), usually
written as a file, on older Titrinos also sent over RS-232 (instruments.md §3.2, checked against
two real reports). Why a generic section tree first: the report carries many sections we do not
need today (devices, method, sensor calibration) and vendors add sections between versions; a
tree keeps all of it (for audit and later use) and the few values the lab needs are picked out of
it by name:

* ``Sample data``: ID1, ID2, sample size, unit (first line);
* ``EP`` (under ``DETERM``): one line per end point — volume (mL), potential (mV), then further
  columns whose meaning is not documented (kept as text);
* ``Results``: calculated results. Their line layout is **not documented** and the captures seen
  had an empty section; this decoder assumes *name, value, unit* (taking the first numeric field
  after the name as the value and the field after it as the unit) and keeps every field raw.
* ``DETERM/Props``: determination ID and date/time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from instruments.codecs._common import LineSplitter, decode_text, parse_number
from instruments.records import Quarantined, Reading

__all__ = ["Section", "EndPoint", "TitrationResult", "TitrationReport", "MetrohmReportDecoder",
           "parse_report"]

_VERSION = re.compile(r"V\d+(?:\.\d+)*")


@dataclass(frozen=True)
class Section:
    """One ``$S`` … ``$E`` section: its header fields, data lines (split on TAB) and children."""

    name: str
    version: str = ""
    header: tuple[str, ...] = ()
    lines: tuple[tuple[str, ...], ...] = ()
    children: tuple[Section, ...] = ()

    def walk(self) -> Iterator[Section]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, name: str) -> Section | None:
        """The first section (depth first, this one included) with this name."""
        return next((s for s in self.walk() if s.name == name), None)

    def find_all(self, name: str) -> list[Section]:
        return [s for s in self.walk() if s.name == name]


def _section_header(line: str) -> tuple[str, str, tuple[str, ...]]:
    fields = tuple(line[2:].strip(" ").split("\t"))
    version = ""
    if len(fields) > 1 and _VERSION.fullmatch(fields[-1].strip()):
        version = fields[-1].strip()
        name = fields[0].strip()
    else:
        words = fields[0].strip().rsplit(" ", 1)
        if len(words) == 2 and _VERSION.fullmatch(words[1]):
            name, version = words
        else:
            name = fields[0].strip()
    return name, version, fields


@dataclass(frozen=True)
class EndPoint:
    volume_ml: float | None
    potential_mv: float | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class TitrationResult:
    name: str
    raw_value: str
    value: float | None
    unit: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class TitrationReport:
    """The values the lab needs from one report, plus the whole section tree and raw text."""

    instrument_id: str
    sample_id: str
    sample_id2: str
    sample_size: float | None
    sample_size_raw: str
    sample_unit: str
    endpoints: tuple[EndPoint, ...]
    results: tuple[TitrationResult, ...]
    determination_id: str
    determined_at: datetime | None
    root: Section
    raw: str
    problems: tuple[str, ...] = ()

    @property
    def endpoint_volume_ml(self) -> float | None:
        """Volume of the first end point (the one an iodometric titration uses)."""
        return self.endpoints[0].volume_ml if self.endpoints else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument_id": self.instrument_id, "sample_id": self.sample_id, "sample_id2": self.sample_id2,
            "sample_size": self.sample_size, "sample_size_raw": self.sample_size_raw,
            "sample_unit": self.sample_unit, "endpoint_volume_ml": self.endpoint_volume_ml,
            "endpoints": [{"volume_ml": e.volume_ml, "potential_mv": e.potential_mv, "fields": list(e.fields)}
                          for e in self.endpoints],
            "results": [{"name": r.name, "raw_value": r.raw_value, "value": r.value, "unit": r.unit}
                        for r in self.results],
            "determination_id": self.determination_id,
            "determined_at": self.determined_at.isoformat() if self.determined_at else None,
            "raw": self.raw, "problems": list(self.problems),
        }

    def readings(self, analytes: Mapping[str, str]) -> list[Reading]:
        """One `Reading` per quantity named in `analytes` ({report name: LIMS analyte}).

        Names: ``"EP1"``, ``"EP2"`` … (end point volumes, mL), ``"sample_size"``, or a result
        name from the Results section. Results not in the mapping are still returned (analyte
        None, with a problem note), so nothing the titrator computed is lost.
        """
        out: list[Reading] = []
        common = dict(instrument_id=self.instrument_id, sample_id=self.sample_id or None,
                      measured_at=self.determined_at, raw=self.raw)
        base_problems = self.problems + (() if self.sample_id else ("no sample ID (ID1)",))
        for i, ep in enumerate(self.endpoints, 1):
            name = f"EP{i}"
            if name in analytes:
                out.append(Reading(analyte=analytes[name], test_code=name, raw_value=ep.fields[0] if ep.fields else "",
                                   value=ep.volume_ml, unit="mL", problems=base_problems, **common))
        if "sample_size" in analytes:
            out.append(Reading(analyte=analytes["sample_size"], test_code="sample_size",
                               raw_value=self.sample_size_raw, value=self.sample_size, unit=self.sample_unit,
                               problems=base_problems, **common))
        for r in self.results:
            analyte = analytes.get(r.name)
            problems = base_problems + (() if analyte else (f"unknown result name {r.name!r}",))
            if r.value is None:
                problems += (f"non-numeric value {r.raw_value!r}",)
            out.append(Reading(analyte=analyte, test_code=r.name, raw_value=r.raw_value, value=r.value,
                               unit=r.unit, problems=problems, **common))
        return out


def _report(instrument_id: str, root: Section, raw: str) -> TitrationReport:
    problems: list[str] = []
    sample = root.find("Sample data")
    sid = sid2 = size_raw = unit = ""
    size: float | None = None
    if sample is None or not sample.lines:
        problems.append("no Sample data section")
    else:
        f = sample.lines[0] + ("", "", "", "")
        sid, sid2, size_raw, unit = f[0].strip(), f[1].strip(), f[2].strip(), f[3].strip()
        number = parse_number(size_raw)
        size = number.value
        if number.problem:
            problems.append(f"sample size: {number.problem}")
    determ = root.find("DETERM")
    endpoints: list[EndPoint] = []
    results: list[TitrationResult] = []
    det_id = ""
    det_at: datetime | None = None
    if determ is None:
        problems.append("no DETERM section")
    else:
        for ep in determ.find_all("EP"):
            for f in ep.lines:
                vol = parse_number(f[0]) if f else None
                mv = parse_number(f[1]) if len(f) > 1 else None
                endpoints.append(EndPoint(vol.value if vol else None, mv.value if mv else None, f))
        for res in determ.find_all("Results"):
            for f in res.lines:
                name = f[0].strip()
                idx = next((i for i in range(1, len(f)) if parse_number(f[i]).value is not None), None)
                raw_value = f[idx].strip() if idx is not None else (f[1].strip() if len(f) > 1 else "")
                res_unit = f[idx + 1].strip() if idx is not None and idx + 1 < len(f) else ""
                value = parse_number(raw_value)
                results.append(TitrationResult(name, raw_value, value.value, res_unit, f))
        props = determ.find("Props")
        if props is not None and props.lines:
            f = props.lines[0]
            det_id = f[2].strip() if len(f) > 2 else ""
            if len(f) > 4 and f[4].strip():
                try:
                    det_at = datetime.strptime(f[4].strip(), "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    problems.append(f"bad determination date {f[4]!r}")
    if not endpoints:
        problems.append("no end point (EP) found")
    return TitrationReport(instrument_id, sid, sid2, size, size_raw, unit, tuple(endpoints), tuple(results),
                           det_id, det_at, root, raw, tuple(problems))


@dataclass
class _Open:
    name: str
    version: str
    header: tuple[str, ...]
    lines: list[tuple[str, ...]] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def close(self) -> Section:
        return Section(self.name, self.version, self.header, tuple(self.lines), tuple(self.children))


class MetrohmReportDecoder:
    """Incremental decoder: ``feed(bytes) -> list[TitrationReport | Quarantined]``.

    A report is complete when its outermost section closes. Text outside any report, or a
    report cut off by the end of input (`flush()`), is returned as `Quarantined`.
    """

    def __init__(self, instrument_id: str) -> None:
        self.instrument_id = instrument_id
        self._lines = LineSplitter()
        self._stack: list[_Open] = []
        self._raw: list[str] = []

    def feed(self, data: bytes) -> list[TitrationReport | Quarantined]:
        out: list[TitrationReport | Quarantined] = []
        for raw_line, overlong in self._lines.feed(data):
            self._line(decode_text(raw_line), overlong, out)
        return out

    def flush(self) -> list[TitrationReport | Quarantined]:
        out: list[TitrationReport | Quarantined] = []
        rest = self._lines.flush()
        if rest:
            self._line(decode_text(rest), False, out)
        if self._raw:
            out.append(Quarantined("incomplete report at end of input", "\n".join(self._raw) + "\n", "framing_error"))
        self._stack, self._raw = [], []
        return out

    def _line(self, line: str, overlong: bool, out: list[TitrationReport | Quarantined]) -> None:
        if overlong:
            out.append(Quarantined("overlong line", line, "framing_error"))
            return
        if line.startswith("$S"):
            name, version, header = _section_header(line)
            self._stack.append(_Open(name, version, header))
            self._raw.append(line)
        elif line.strip() == "$E":
            if not self._stack:
                out.append(Quarantined("$E without a section", line, "framing_error"))
                return
            self._raw.append(line)
            section = self._stack.pop().close()
            if self._stack:
                self._stack[-1].children.append(section)
            else:
                raw = "\n".join(self._raw) + "\n"
                self._raw = []
                out.append(_report(self.instrument_id, section, raw))
        elif self._stack:
            self._raw.append(line)
            self._stack[-1].lines.append(tuple(line.split("\t")))
        elif line.strip():
            out.append(Quarantined("text outside a report", line, "framing_error"))


def parse_report(text: str | bytes, instrument_id: str = "") -> TitrationReport:
    """Parse one whole report (e.g. a ``PC_LIMS_Report-*.txt`` file); `ValueError` if it is not one."""
    decoder = MetrohmReportDecoder(instrument_id)
    data = text.encode("utf-8") if isinstance(text, str) else text
    items = decoder.feed(data) + decoder.flush()
    reports = [i for i in items if isinstance(i, TitrationReport)]
    if len(reports) != 1:
        raise ValueError(f"expected one report, found {len(reports)} ({[i for i in items if not isinstance(i, TitrationReport)]})")
    return reports[0]
