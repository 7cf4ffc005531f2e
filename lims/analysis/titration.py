"""Salt iodine by iodometric titration (domain.md §3.1).

One iodate-iodine atom gives 3 I₂, which take 6 thiosulfate, so each mmol of thiosulfate stands
for 126.90/6 mg of iodine (DERIVED in domain.md):

    iodine (mg/kg) = V (mL) × C (mol/L) × 126.90/6 × 1000 / m (g)

With 0.005 M titrant and 10 g salt this is 10.58 × V. The actual titrant molarity comes from its
standardisation (per lot), never from the nominal 0.005: a missing molarity is an error, not a
default. Results are "mg iodine per kg salt"; a result is the mean of two parallels, and parallels
differing by more than the repeatability limit (GOST R 51575: 5.4 mg/kg) are flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from lims.analysis.labels import decimal
from lims.core.errors import ValidationError

__all__ = ["IODINE_MG_PER_MMOL_THIOSULFATE", "salt_iodine_mg_per_kg", "DuplicateCheck",
           "check_duplicates", "GOST_REPEATABILITY_MG_PER_KG"]

IODINE_ATOMIC_MASS = 126.90
#: mg iodine per mmol thiosulfate for iodate salt: 21.15
IODINE_MG_PER_MMOL_THIOSULFATE = IODINE_ATOMIC_MASS / 6
GOST_REPEATABILITY_MG_PER_KG = 5.4


def _required(value: float | None, name: str, missing: str, not_positive: str) -> float:
    """``value`` as a float; ``missing`` / ``not_positive`` are the (translated) sentences that
    refuse it, the latter with a ``%(value)s`` placeholder."""
    if value is None:
        raise ValidationError(missing, field=name)
    if not value > 0:
        raise ValidationError(not_positive % {"value": value}, field=name)
    return float(value)


def salt_iodine_mg_per_kg(volume_ml: float | None, molarity: float | None,
                          mass_g: float | None) -> float:
    """Iodine (mg/kg salt) from titrant volume (mL), thiosulfate molarity (mol/L), salt mass (g).

    A zero volume is a valid result (no iodine); a missing or non-positive molarity or mass is a
    `ValidationError` naming the value (`field` = the parameter name).
    """
    if volume_ml is None:
        raise ValidationError(_("The titrant volume is missing; it is needed to compute the "
                                "iodine content."), field="volume_ml")
    if volume_ml < 0:
        raise ValidationError(_("The titrant volume cannot be negative, got %(value)s.",
                                value=volume_ml), field="volume_ml")
    c = _required(molarity, "molarity",
                  _("The thiosulfate molarity is missing; it is needed to compute the iodine "
                    "content."), _("The thiosulfate molarity must be positive, got %(value)s."))
    m = _required(mass_g, "mass_g",
                  _("The salt sample mass is missing; it is needed to compute the iodine "
                    "content."), _("The salt sample mass must be positive, got %(value)s."))
    return float(volume_ml) * c * IODINE_MG_PER_MMOL_THIOSULFATE * 1000.0 / m


@dataclass(frozen=True)
class DuplicateCheck:
    mean: float
    difference: float
    limit: float

    @property
    def acceptable(self) -> bool:
        return self.difference <= self.limit

    @property
    def message(self) -> str:
        if self.acceptable:
            return ""
        return _("Parallel determinations differ by %(difference)s mg/kg, more than the "
                 "repeatability limit %(limit)s mg/kg: repeat.",
                 difference=decimal(self.difference, ".2f"),
                 limit=decimal(self.limit, "g"))


def check_duplicates(results: Sequence[float],
                     limit: float = GOST_REPEATABILITY_MG_PER_KG) -> DuplicateCheck:
    """Mean of the parallels and whether they agree within `limit` (largest − smallest)."""
    if len(results) < 2:
        raise ValueError("a duplicate check needs at least two parallel results")
    return DuplicateCheck(sum(results) / len(results), max(results) - min(results), limit)
