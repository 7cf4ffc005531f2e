"""A virtual Bio-Rad Model 680 microplate reader (Sandell–Kolthoff plates at 415 nm).

Plates come from a seed: standards in column 1–2 rising from 0.1 to ~2.0 absorbance (the
iodide-catalysed reaction leaves less yellow colour with more iodine, so absorbance *falls*
with concentration; the simulator does not care), samples elsewhere, and one over-range well
per plate to exercise ``*.***``. It pushes the plates, or with `respond` answers ``RPLATE``
(read and send the next plate) and ``RTPLATE`` (send the last one again).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from instruments.codecs.plate_reader import format_plate
from instruments.records import WELLS
from instruments.simulators.base import Port
from instruments.simulators.lines import LineInstrument

__all__ = ["PlateReader", "seeded_plate"]


def seeded_plate(seed: int) -> dict[str, float | None]:
    rng = random.Random(seed)
    wells: dict[str, float | None] = {w: round(rng.uniform(0.08, 2.4), 3) for w in WELLS}
    wells[rng.choice(WELLS)] = None  # over range
    return wells


class PlateReader(LineInstrument):
    def __init__(self, port: Port, *, count: int = 1, seed: int = 680, **kwargs: object) -> None:
        start = datetime(2026, 5, 14, 9, 0, 0)
        self.plates = [
            format_plate(seeded_plate(seed + i), measured_at=start + timedelta(minutes=10 * i))
            for i in range(count)
        ]
        super().__init__(port, self.plates, **kwargs)  # type: ignore[arg-type]
        self._last: int | None = None

    def corrupt(self, block: bytes) -> bytes:
        lines = block.split(b"\r")
        i = lines.index(b".begin") + 9
        lines[i] = b"%d" % ((int(lines[i]) + 1) % 256)
        return b"\r".join(lines)

    def answer(self, command: str) -> bytes | None:
        if command == "RPLATE":
            if self.sent >= len(self.blocks):
                return b"ERE 01 no plate\r"
            self._last = self.sent
            self.send_block(self.sent)
            self.sent += 1
            return None
        if command == "RTPLATE":
            if self._last is None:
                return b"ERE 02 no plate read yet\r"
            self.line.write(self.blocks[self._last])
            return None
        return b"ERE 00 unknown command\r" if command else None
