"""A virtual Metrohm Ti-Touch sending PC/LIMS reports for salt iodate titrations.

One report per accession: sample mass ~10 g, thiosulfate end-point volume from a seed, and the
iodine content the titrator would compute (0.005 mol/L thiosulfate: 1 mL ≙ 21.15 mg/kg for 10 g).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from instruments.simulators.base import Port
from instruments.simulators.lines import LineInstrument

__all__ = ["Titrator", "format_report"]


def format_report(
    sample_id: str,
    mass_g: float,
    ep_ml: float,
    determined_at: datetime,
    *,
    region: str = "Kostanay",
) -> bytes:
    """A PC/LIMS report (structure of instruments.md §3.2), tab-separated, LF line ends."""
    iodine = ep_ml * 21.15 * 10.0 / mass_g
    stamp = determined_at.strftime("%Y-%m-%d %H:%M:%S")
    det_id = f"{sample_id}-{determined_at:%Y%m%d-%H%M%S}"
    lines = [
        "$S PC/LIMS V1",
        "$S Devices V1",
        "$S device 916 Ti-Touch Titrator V1",
        "P 5.916.0041\tS 33760",
        "$E",
        "$E",
        "$S Sample data V1",
        f"{sample_id}\t{region}\t{mass_g:.4f}\tg",
        "$E",
        "$S DETERM V1",
        "$S Props V2.1",
        f"Iodate thio\tsaved\t{det_id}\t337601584450208838\t{stamp}\toriginal"
        "\tRegular without errors",
        "$E",
        "$S Results V1",
        f"RS01\tIodine\t{iodine:.1f}\tmg/kg",
        "$E",
        "$S Mode 1\t01\tDET U\tV2.0",
        "$S EP V1",
        f"{ep_ml:.4f}\t147.055\t25.203\t55.0\t21.9\t1",
        "$E",
        "$E",
        "$E",
        "$S Titrant V1",
        "Na2S2O3\t0.005\tmol/L\t1.000",
        "$E",
        "$E",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class Titrator(LineInstrument):
    def __init__(
        self, port: Port, accessions: Sequence[str], *, seed: int = 916, **kwargs: object
    ) -> None:
        rng = random.Random(seed)
        start = datetime(2026, 5, 14, 10, 0, 0)
        self.samples = [
            (a, round(rng.uniform(9.8, 10.2), 4), round(rng.uniform(0.4, 2.4), 4))
            for a in accessions
        ]
        reports = [
            format_report(a, mass, ep, start + timedelta(minutes=5 * i))
            for i, (a, mass, ep) in enumerate(self.samples)
        ]
        super().__init__(port, reports, seed=seed, **kwargs)  # type: ignore[arg-type]
