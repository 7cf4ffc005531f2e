"""The analytes an instrument may report, as data: which sample kind each is measured in, the
units accepted for it and the range of values that can be real.

Pure (no Flask, no database) so the inbox's matching rules can be tested alone. Why a plausible
range and not the method's reportable range: this check guards against a wrong sample or a
misconfigured instrument (a titrant volume sent as a mass), not against a sample that needs
dilution — that is the analytical run's business (calibration, reportable range).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from lims.samples.models import SampleKind

__all__ = ["Analyte", "ANALYTES", "analyte", "normalise_unit"]


@dataclass(frozen=True)
class Analyte:
    code: str
    label: str
    kind: SampleKind
    unit: str
    low: float
    high: float
    #: Spellings instruments use for `unit` (ASCII "ug/L", "ppm" for mg/kg …); compared casefolded.
    unit_aliases: tuple[str, ...] = ()

    def accepts_unit(self, unit: str) -> bool:
        """An empty unit is accepted: many instruments (plate readers, balances in print mode)
        send none, and the instrument profile fixes it."""
        wanted = normalise_unit(unit)
        return not wanted or wanted in self.accepted_units

    @cached_property
    def accepted_units(self) -> frozenset[str]:
        return frozenset(normalise_unit(u) for u in (self.unit, *self.unit_aliases))


def normalise_unit(unit: str) -> str:
    return unit.strip().replace("μ", "µ").casefold()


ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte("uic", "Urinary iodine concentration", SampleKind.URINE, "µg/L", 0.0, 5000.0,
                ("ug/L", "mcg/L", "µg/l", "ug/l")),
        Analyte("salt_iodine", "Iodine in salt", SampleKind.SALT, "mg/kg", 0.0, 500.0,
                ("ppm", "µg/g", "ug/g")),
        Analyte("titrant_volume", "Titrant volume at end point", SampleKind.SALT, "mL", 0.0, 100.0,
                ("ml",)),
        Analyte("salt_mass", "Mass of salt weighed", SampleKind.SALT, "g", 0.0, 200.0),
    )
}


def analyte(code: str | None) -> Analyte | None:
    return ANALYTES.get(code or "")
