"""Method versions: everything a run needs to know about how an analyte is measured, as data.

A method version is frozen: once results were computed with it, its calibrators, curve criteria,
limits and QC rules must never change under them, so a change is a new version. Versions are
plain values with `to_dict()` / `from_dict()` so the web app can keep them as JSON in a table.

The defaults in `default_catalogue()` follow domain.md §2–4. Where domain.md marks a value
UNCONFIRMED, or gives none, the value is a default the lab must sign off; each version names those
fields in `unconfirmed` so a page can show which numbers still need that sign-off.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from flask_babel import gettext as _

from lims.qc.westgard import parse_rule

__all__ = [
    "Matrix", "ResultScale", "CalibrationModel", "ResponseDirection", "ControlLevel",
    "ToleranceKind",
    "CurveAcceptance", "CalibrationSpec", "DilutionRule", "ControlMaterial", "DuplicateTolerance",
    "PlateSpec", "TitrationSpec", "MethodVersion", "default_catalogue", "RTK_CATEGORIES",
    "WESTGARD_N2", "WESTGARD_N3",
]


class Matrix(enum.StrEnum):
    URINE = "urine"
    SALT = "salt"


class ResultScale(enum.StrEnum):
    QUANTITATIVE = "quantitative"
    ORDINAL = "ordinal"  # rapid test kits: categories, never numbers (domain.md §3.3)


class CalibrationModel(enum.StrEnum):
    LN_LINEAR = "ln_linear"  # ln(response) = a + b·C — the S-K default (domain.md §2.4)
    LINEAR = "linear"
    QUADRATIC = "quadratic"
    FOUR_PL = "4pl"


class ResponseDirection(enum.StrEnum):
    """How the response moves as concentration rises; S-K absorbance falls (domain.md §2.1)."""

    DECREASING = "decreasing"
    INCREASING = "increasing"


class ControlLevel(enum.StrEnum):
    LOW = "low"
    MID = "mid"
    HIGH = "high"


class ToleranceKind(enum.StrEnum):
    CV_PCT = "cv_pct"  # UIC replicates: coefficient of variation, %
    ABS_DIFF = "abs_diff"  # salt: largest minus smallest, in the method's unit (GOST R 51575)


@dataclass(frozen=True)
class CurveAcceptance:
    """When a run's standard curve may be used.

    `min_points` counts distinct calibrator concentrations with a usable reading (replicates of
    one standard are one point). Back-calculated recovery is checked on non-zero standards only:
    the zero standard has no recovery. Defaults are UNCONFIRMED; the ±15 % / ±20 % at the lowest
    standard pair is the usual bioanalytical convention.
    """

    min_points: int = 5
    r2_min: float = 0.99
    recovery_tolerance_pct: float = 15.0
    lowest_recovery_tolerance_pct: float = 20.0
    require_monotonic: bool = True


@dataclass(frozen=True)
class CalibrationSpec:
    concentrations: tuple[float, ...]
    model: CalibrationModel = CalibrationModel.LN_LINEAR
    direction: ResponseDirection = ResponseDirection.DECREASING
    acceptance: CurveAcceptance = field(default_factory=CurveAcceptance)

    def __post_init__(self) -> None:
        if list(self.concentrations) != sorted(set(self.concentrations)):
            raise ValueError(_("calibrator concentrations must be distinct and ascending"))

    @property
    def top(self) -> float:
        return self.concentrations[-1]


@dataclass(frozen=True)
class DilutionRule:
    """Samples above the top calibrator are diluted, re-assayed and multiplied back (§2.4).

    `factors` are the dilutions the SOP allows, ascending; the smallest that brings an estimate
    under `target_fraction` of the top calibrator is suggested.
    """

    diluent: str = "iodine-free water"
    factors: tuple[float, ...] = (2.0, 5.0, 10.0)
    target_fraction: float = 0.8

    def suggest(self, estimate: float, top: float) -> float:
        """The dilution factor for a sample estimated at `estimate` (largest allowed if unknown)."""
        for factor in self.factors:
            if estimate / factor <= self.target_fraction * top:
                return factor
        return self.factors[-1]


@dataclass(frozen=True)
class ControlMaterial:
    """A control level run with every plate or batch; its target comes from data (lims.qc.stats)."""

    level: ControlLevel
    name: str
    nominal: float | None = None


@dataclass(frozen=True)
class DuplicateTolerance:
    kind: ToleranceKind
    limit: float


@dataclass(frozen=True)
class PlateSpec:
    """How a 96-well plate is filled for this method (see `lims.analysis.plate_layout`)."""

    blanks: int = 2
    calibrator_replicates: int = 2
    control_replicates: int = 1
    sample_replicates: int = 2
    column_wise: bool = True  # A1, B1, … H1, A2 …: how 8-channel pipettes fill a plate


@dataclass(frozen=True)
class TitrationSpec:
    """Nominal reagent and portion (domain.md §3.1); the actual molarity is kept per titrant lot."""

    nominal_molarity: float = 0.005
    sample_mass_g: float = 10.0


@dataclass(frozen=True)
class MethodVersion:
    code: str
    version: int
    name: str
    matrix: Matrix
    analyte: str
    unit: str
    scale: ResultScale = ResultScale.QUANTITATIVE
    calibration: CalibrationSpec | None = None
    lod: float | None = None
    loq: float | None = None
    reportable_range: tuple[float, float] | None = None
    dilution: DilutionRule | None = None
    controls: tuple[ControlMaterial, ...] = ()
    westgard_rules: tuple[str, ...] = ()
    replicates: int = 1
    duplicate_tolerance: DuplicateTolerance | None = None
    plate: PlateSpec | None = None
    titration: TitrationSpec | None = None
    categories: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if self.scale is ResultScale.ORDINAL:
            if not self.categories:
                raise ValueError(_("%(method)s: an ordinal method needs its categories",
                                   method=self.code))
            if self.calibration or self.lod is not None or self.reportable_range:
                raise ValueError(_("%(method)s: an ordinal method has no curve, LOD or numeric "
                                   "range", method=self.code))
        elif self.categories:
            raise ValueError(_("%(method)s: categories belong to ordinal methods only",
                               method=self.code))
        if self.lod is not None and self.loq is not None and self.loq < self.lod:
            raise ValueError(_("%(method)s: LOQ %(loq)s is below LOD %(lod)s", method=self.code,
                               loq=self.loq, lod=self.lod))
        if self.replicates < 1:
            raise ValueError(_("%(method)s: replicates must be at least 1", method=self.code))
        if self.plate is not None and self.calibration is None:
            raise ValueError(_("%(method)s: a plate method needs a calibration", method=self.code))
        for rule in self.westgard_rules:
            parse_rule(rule)

    @property
    def key(self) -> str:
        return f"{self.code}@v{self.version}"

    def category(self, text: str) -> str:
        """Check a rapid-test reading against the method's categories; never returns a number."""
        value = text.strip()
        if value not in self.categories:
            raise ValueError(_("%(method)s: %(text)s is not one of the categories %(categories)s",
                               method=self.code, text=repr(text),
                               categories=", ".join(self.categories)))
        return value

    def new_version(self, **changes: Any) -> MethodVersion:
        """The next version with some fields changed; this one stays as it was."""
        return replace(self, version=self.version + 1, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (enums as their values, tuples as lists)."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MethodVersion:
        d = dict(data)
        cal = d.get("calibration")
        if cal is not None:
            cal = CalibrationSpec(
                concentrations=tuple(cal["concentrations"]), model=CalibrationModel(cal["model"]),
                direction=ResponseDirection(cal["direction"]),
                acceptance=CurveAcceptance(**cal["acceptance"]))
        dil = d.get("dilution")
        dup = d.get("duplicate_tolerance")
        rng = d.get("reportable_range")
        return cls(
            code=d["code"], version=d["version"], name=d["name"], matrix=Matrix(d["matrix"]),
            analyte=d["analyte"], unit=d["unit"], scale=ResultScale(d["scale"]), calibration=cal,
            lod=d.get("lod"), loq=d.get("loq"),
            reportable_range=(rng[0], rng[1]) if rng is not None else None,
            dilution=DilutionRule(dil["diluent"], tuple(dil["factors"]), dil["target_fraction"])
            if dil is not None else None,
            controls=tuple(ControlMaterial(ControlLevel(c["level"]), c["name"], c.get("nominal"))
                           for c in d.get("controls", ())),
            westgard_rules=tuple(d.get("westgard_rules", ())), replicates=d.get("replicates", 1),
            duplicate_tolerance=DuplicateTolerance(ToleranceKind(dup["kind"]), dup["limit"])
            if dup is not None else None,
            plate=PlateSpec(**d["plate"]) if d.get("plate") is not None else None,
            titration=TitrationSpec(**d["titration"]) if d.get("titration") is not None else None,
            categories=tuple(d.get("categories", ())), unconfirmed=tuple(d.get("unconfirmed", ())),
            notes=d.get("notes", ""),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# -- the default catalogue (domain.md §2–4) ------------------------------------------------------

#: Westgard's full multirule set for two control levels; 1-2s only warns (domain.md §4.1).
WESTGARD_N2 = ("1-2s", "1-3s", "2-2s", "R-4s", "4-1s", "10x")
#: Westgard's set for three levels per run (low/mid/high UIC pools).
WESTGARD_N3 = ("1-2s", "1-3s", "2of3-2s", "R-4s", "3-1s", "6x")
#: DHS-style coding of rapid test kits (domain.md §3.3).
RTK_CATEGORIES = ("0", "<15", "≥15")

_SK_STANDARDS = (0.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0)  # UNCONFIRMED series (§2.4)
_UIC_CONTROLS = (  # UNCONFIRMED levels bracketing the decision limits (§4.2)
    ControlMaterial(ControlLevel.LOW, "Urine pool low", 50.0),
    ControlMaterial(ControlLevel.MID, "Urine pool mid", 150.0),
    ControlMaterial(ControlLevel.HIGH, "Urine pool high", 300.0),
)
_SALT_CONTROLS = (  # UNCONFIRMED: domain.md names no salt control levels
    ControlMaterial(ControlLevel.LOW, "Salt control low", 15.0),
    ControlMaterial(ControlLevel.HIGH, "Salt control high", 40.0),
)
_UIC_CV = DuplicateTolerance(ToleranceKind.CV_PCT, 15.0)  # UNCONFIRMED; intra-assay CV ≤ 10 %
_SALT_DIFF = DuplicateTolerance(ToleranceKind.ABS_DIFF, 5.4)  # GOST R 51575 repeatability (§3.1)
_SK_LOD = 14.0  # Ohashi 2 SD above the zero calibrator; Pino DERIVED (§2.2, §2.3)
_SK_LOQ = 42.0  # UNCONFIRMED: 3 × LOD (§2.4)
_CURVE_UNCONFIRMED = ("calibration.concentrations", "calibration.model", "calibration.acceptance",
                      "loq", "dilution", "controls", "duplicate_tolerance")


def default_catalogue() -> tuple[MethodVersion, ...]:
    """Version 1 of every method the lab runs, with domain.md's values as defaults."""
    return (
        MethodVersion(
            code="UIC-SK-PLATE", version=1, name="Urinary iodine, S-K microplate (Ohashi 2000)",
            matrix=Matrix.URINE, analyte="UIC", unit="µg/L",
            calibration=CalibrationSpec(_SK_STANDARDS), lod=_SK_LOD, loq=_SK_LOQ,
            reportable_range=(_SK_LOD, _SK_STANDARDS[-1]), dilution=DilutionRule(),
            controls=_UIC_CONTROLS, westgard_rules=WESTGARD_N3, replicates=2,
            duplicate_tolerance=_UIC_CV, plate=PlateSpec(),
            unconfirmed=_CURVE_UNCONFIRMED + ("plate",),
            notes="APS digestion 110 °C 60 min in plate; S-K 25 °C 30 min; read 405 nm.",
        ),
        MethodVersion(
            code="UIC-SK-TUBE", version=1, name="Urinary iodine, S-K tubes (WHO Method A)",
            matrix=Matrix.URINE, analyte="UIC", unit="µg/L",
            calibration=CalibrationSpec(_SK_STANDARDS), lod=_SK_LOD, loq=_SK_LOQ,
            reportable_range=(_SK_LOD, _SK_STANDARDS[-1]), dilution=DilutionRule(),
            controls=_UIC_CONTROLS, westgard_rules=WESTGARD_N3, replicates=2,
            duplicate_tolerance=_UIC_CV, unconfirmed=_CURVE_UNCONFIRMED,
            notes="APS digestion; ceric additions staggered at fixed intervals; read 420 nm. "
                  "Record read time and addition interval per run.",
        ),
        MethodVersion(
            code="UIC-ICPMS", version=1, name="Urinary iodine, ICP-MS (reference method)",
            matrix=Matrix.URINE, analyte="UIC", unit="µg/L",
            calibration=CalibrationSpec((0.0, 25.0, 50.0, 100.0, 200.0, 400.0),
                                        model=CalibrationModel.LINEAR,
                                        direction=ResponseDirection.INCREASING),
            dilution=DilutionRule(), controls=_UIC_CONTROLS, westgard_rules=WESTGARD_N3,
            duplicate_tolerance=_UIC_CV,
            unconfirmed=("calibration.concentrations", "calibration.acceptance", "lod", "loq",
                         "dilution", "controls", "duplicate_tolerance"),
            notes="1:49 in TMAH with Te internal standard; response = 127I/130Te ratio. No LOD "
                  "in domain.md: the lowest non-zero calibrator is the reporting limit until set.",
        ),
        MethodVersion(
            code="SALT-TITR", version=1, name="Salt iodine, iodometric titration",
            matrix=Matrix.SALT, analyte="salt_iodine", unit="mg/kg",
            controls=_SALT_CONTROLS, westgard_rules=WESTGARD_N2, replicates=2,
            duplicate_tolerance=_SALT_DIFF, titration=TitrationSpec(),
            unconfirmed=("controls",),
            notes="10 g in 50 mL; 1 mL 2 N H2SO4 + 5 mL 10 % KI; 10 min dark; thiosulfate to "
                  "colourless with starch. Result = mean of 2 parallels (GOST R 51575).",
        ),
        MethodVersion(
            code="SALT-WYD", version=1, name="Salt iodine, WYD Iodine Checker",
            matrix=Matrix.SALT, analyte="salt_iodine", unit="mg/kg", reportable_range=(0.0, 100.0),
            controls=_SALT_CONTROLS, westgard_rules=WESTGARD_N2, duplicate_tolerance=_SALT_DIFF,
            unconfirmed=("reportable_range", "controls", "duplicate_tolerance"),
            notes="585 nm, direct read-out in mg/kg. Record device serial, reagent lot and "
                  "zero/calibration check.",
        ),
        MethodVersion(
            code="SALT-RTK", version=1, name="Salt iodine, rapid test kit",
            matrix=Matrix.SALT, analyte="salt_iodine_rtk", unit="", scale=ResultScale.ORDINAL,
            categories=RTK_CATEGORIES,
            notes="Reliable for presence vs absence only; never stored as a number.",
        ),
    )
