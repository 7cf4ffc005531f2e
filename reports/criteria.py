"""WHO/UNICEF/ICCIDD 2007 and IGN epidemiological cut-offs and salt thresholds, as data.

One place for every number a report classifies with, so that a change of criteria is a change of
data, and the scheme's name travels with every table (domain.md §1, §3.4, §5.1). All UIC class
intervals are half-open, ``[lower, upper)``, as domain.md §1.2 prescribes (so 300 µg/L is
"excessive", 100 µg/L is "adequate").

Population groups are mapped to a *criteria kind* because the WHO tables differ by physiology,
not by survey label: school-age children and non-pregnant, non-lactating adults share one table;
pregnant women, and lactating women with children under 2 years, have their own
(domain.md §1.3–1.4).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    GENERAL = "general"  # school-age children (≥ 6 y) and non-pregnant, non-lactating adults
    PREGNANT = "pregnant"
    LACTATING = "lactating"  # lactating women
    UNDER2 = "under2"  # children < 2 years
    UNCLASSIFIED = "unclassified"  # a group no WHO table covers: statistics, but no class


#: Default mapping of the LIMS population-group codes to criteria kinds; a report may pass its own.
#: "C6-59" (children 6–59 months) is reported but not classified: domain.md gives a table for
#: < 2 years only, the group mixes under-2s with 2–5-year-olds, and which table applies to the
#: latter needs a domain expert's choice. Its median, CI and "% of samples below" are printed, and
#: its class reads "no WHO criteria for this group" rather than a guess.
DEFAULT_GROUP_KINDS: dict[str, Kind] = {
    "SAC": Kind.GENERAL,
    "WRA": Kind.GENERAL,
    "ADULT": Kind.GENERAL,
    "PW": Kind.PREGNANT,
    "LW": Kind.LACTATING,
    "U2": Kind.UNDER2,
    "C6-59": Kind.UNCLASSIFIED,
}


@dataclass(frozen=True)
class ClassTable:
    """Classes of a population median: ``breaks`` are the lower bounds of the 2nd, 3rd… class."""

    breaks: tuple[float, ...]
    classes: tuple[str, ...]  # keys of texts.CLASS_LABELS, lowest class first

    def __post_init__(self) -> None:
        if len(self.classes) != len(self.breaks) + 1 or list(self.breaks) != sorted(self.breaks):
            raise ValueError("a class table needs ascending breaks and one class more than breaks")

    def classify(self, median: float) -> str:
        return self.classes[bisect.bisect_right(self.breaks, median)]


@dataclass(frozen=True)
class Indicators:
    """The proportions reported next to the median for one criteria kind (domain.md §5.1)."""

    below: tuple[float, ...]  # "% of samples below x µg/L"
    at_or_above: tuple[float, ...]  # "% of samples at or above x µg/L"


INDICATORS: dict[Kind, Indicators] = {
    Kind.GENERAL: Indicators(below=(20.0, 50.0, 100.0), at_or_above=(300.0,)),
    Kind.PREGNANT: Indicators(below=(20.0, 50.0, 150.0), at_or_above=(500.0,)),
    Kind.LACTATING: Indicators(below=(20.0, 50.0, 100.0), at_or_above=()),
    Kind.UNDER2: Indicators(below=(20.0, 50.0, 100.0), at_or_above=()),
    Kind.UNCLASSIFIED: Indicators(below=(20.0, 50.0, 100.0), at_or_above=()),
}

#: The groups the supplementary criterion below is defined for: school-age children (domain.md
#: §1.5). Adults share the SAC class table, not this criterion; a report may configure its own.
DEFAULT_FLAG_GROUPS: frozenset[str] = frozenset({"SAC"})

#: The supplementary criterion of domain.md §1.5: median ≥ 100 µg/L and ≤ 20 % of samples < 50 µg/L.
FLAG_MEDIAN_AT_LEAST = 100.0
FLAG_CUTOFF = 50.0
FLAG_MAX_PERCENT = 20.0

WHO_SAC = ClassTable(
    (20.0, 50.0, 100.0, 200.0, 300.0),
    ("severe", "moderate", "mild", "adequate", "above", "excessive"),
)
IGN_SAC = ClassTable((100.0, 300.0), ("insufficient", "adequate", "excessive"))
WHO_PREGNANT = ClassTable((150.0, 250.0, 500.0), ("insufficient", "adequate", "above", "excessive"))
WHO_LACTATING = ClassTable((100.0,), ("insufficient", "adequate"))
#: One class for a group no table covers, so that every median still gets a printed class.
NO_CRITERIA = ClassTable((), ("no_criteria",))


@dataclass(frozen=True)
class Scheme:
    """A named classification: one class table per criteria kind. ``name`` is printed on tables."""

    code: str
    name: str
    tables: dict[Kind, ClassTable]

    def table(self, kind: Kind) -> ClassTable:
        return self.tables[kind]


WHO2007 = Scheme(
    "WHO2007",
    "WHO/UNICEF/ICCIDD 2007: SAC/adults 6 classes "
    "(<20, 20–49, 50–99, 100–199, 200–299, ≥300 µg/L); "
    "pregnant <150, 150–249, 250–499, ≥500; lactating and <2 y <100, ≥100",
    {
        Kind.GENERAL: WHO_SAC,
        Kind.PREGNANT: WHO_PREGNANT,
        Kind.LACTATING: WHO_LACTATING,
        Kind.UNDER2: WHO_LACTATING,
        Kind.UNCLASSIFIED: NO_CRITERIA,
    },
)
IGN3 = Scheme(
    "IGN3",
    "IGN 3-class: SAC/adults <100, 100–299, ≥300 µg/L; pregnant, lactating and <2 y per WHO 2007",
    {
        Kind.GENERAL: IGN_SAC,
        Kind.PREGNANT: WHO_PREGNANT,
        Kind.LACTATING: WHO_LACTATING,
        Kind.UNDER2: WHO_LACTATING,
        Kind.UNCLASSIFIED: NO_CRITERIA,
    },
)
SCHEMES: dict[str, Scheme] = {s.code: s for s in (WHO2007, IGN3)}

#: Colours per class key for charts and the map: deficiency red → yellow, adequate green,
#: excess blue/purple.
CLASS_COLOURS: dict[str, str] = {
    "severe": "#b2182b",
    "moderate": "#e6550d",
    "mild": "#fdae6b",
    "insufficient": "#e6550d",
    "adequate": "#31a354",
    "above": "#6baed6",
    "excessive": "#6a51a3",
    "indeterminate": "#bdbdbd",
    "no_criteria": "#d9d9d9",
    "no_data": "#ffffff",
    "salt_target_met": "#31a354",  # > 90 % of samples ≥ 15 mg/kg (USI target)
    "salt_below_target": "#fdae6b",
}


# --- salt ---------------------------------------------------------------------------------------


class SaltMethod(StrEnum):
    TITRATION = "titration"
    WYD = "wyd"
    RTK = "rtk"


QUANTITATIVE_METHODS = frozenset({SaltMethod.TITRATION, SaltMethod.WYD})
#: The method column of salt samples collected but not analysed (pending or rejected): they have
#: no method yet and are counted on a line of their own, never under a method.
NOT_ANALYSED = "not_analysed"

#: Rapid-test-kit ordinal categories (domain.md §3.3, DHS coding): categories, never numbers.
RTK_CATEGORIES: tuple[str, ...] = ("none", "below_15", "at_least_15")
RTK_NO_IODINE = "none"


@dataclass(frozen=True)
class SaltCriteria:
    """Household salt thresholds in mg iodine per kg salt (domain.md §3.4–3.5).

    ``national_range`` is inclusive at both ends (25–55 mg/kg means 40 ± 15); it is UNCONFIRMED
    for current Kazakh law, hence a parameter. ``household_range`` is the WHO household range
    (15–40 mg/kg, inclusive), reported beside the national one. ``non_iodized_below`` (5 mg/kg) is UNCONFIRMED as a
    formal WHO cut-off. "Any iodine" is > 0 mg/kg (UNICEF/MICS, RTK) — a result below the LOD is
    not known to be.
    """

    adequate_at_least: float = 15.0
    non_iodized_below: float = 5.0
    national_range: tuple[float, float] = (25.0, 55.0)
    household_range: tuple[float, float] = (15.0, 40.0)
    name: str = field(default="")

    def __post_init__(self) -> None:
        for what, (low, high) in (("national", self.national_range),
                                  ("household", self.household_range)):
            if not 0 <= low < high:
                raise ValueError(f"{what} salt range must be 0 ≤ low < high, got {(low, high)}")

    @property
    def label(self) -> str:
        low, high = self.national_range
        return self.name or (
            f"WHO ≥{self.adequate_at_least:g} mg/kg; <{self.non_iodized_below:g} mg/kg; "
            f"national standard {low:g}–{high:g} mg/kg"
        )


DEFAULT_SALT = SaltCriteria()
