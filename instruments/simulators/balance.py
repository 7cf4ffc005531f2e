"""A virtual Mettler Toledo balance speaking MT-SICS.

The pan holds seeded masses (~10 g salt samples), changing to the next one every `interval`
seconds. Commands: ``S`` (stable weight), ``SI`` (immediate: ``S D`` right after a change, then
stable), ``Z`` (``Z A``), ``I4`` (serial number), anything else ``ES``. In print mode it also
sends one stable-weight line per mass, as if the Print key were pressed.
"""

from __future__ import annotations

import random

from instruments.codecs.mtsics import format_weight
from instruments.simulators.base import Port
from instruments.simulators.lines import LineInstrument

__all__ = ["Balance"]


class Balance(LineInstrument):
    def __init__(
        self,
        port: Port,
        *,
        count: int = 3,
        seed: int = 204,
        print_mode: bool = True,
        **kwargs: object,
    ) -> None:
        rng = random.Random(seed)
        self.masses = [round(rng.uniform(9.5, 10.5), 4) for _ in range(count)]
        self.print_mode = print_mode
        super().__init__(
            port,
            [format_weight(m) for m in self.masses],
            respond=not print_mode,
            seed=seed,
            **kwargs,
        )  # type: ignore[arg-type]
        self._pan = 0
        self._changed_at = self.clock()
        self._settled = False

    def _current(self) -> float:
        if not self.print_mode and self.interval > 0:
            step = int((self.clock() - self._changed_at) / self.interval)
            if step:
                self._pan = min(len(self.masses) - 1, self._pan + step)
                self._changed_at += step * self.interval
                self._settled = False
        return self.masses[self._pan] if self.masses else 0.0

    def answer(self, command: str) -> bytes | None:
        if command == "S":
            self._settled = True
            return format_weight(self._current())
        if command == "SI":
            mass = self._current()
            stable, self._settled = self._settled, True
            return format_weight(mass, stable=stable)
        if command == "Z":
            return b"Z A\r\n"
        if command == "I4":
            return b'I4 A "SIM0000204"\r\n'
        return b"ES\r\n" if command else None
