"""How a transport may chunk a byte stream: the codecs must give the same result for all of these."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).parent / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def chunkings(data: bytes, *, every_offset: bool = True, seed: int = 1381) -> Iterator[tuple[str, list[bytes]]]:
    """Yield (label, chunks): whole, split in two at every offset (or ~40 offsets), byte by byte,
    and a few seeded random chunkings."""
    yield "whole", [data]
    offsets = range(1, len(data)) if every_offset else sorted({*range(1, len(data), max(1, len(data) // 40)), len(data) - 1})
    for i in offsets:
        yield f"split@{i}", [data[:i], data[i:]]
    yield "bytewise", [data[i:i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    for n in range(5):
        chunks, i = [], 0
        while i < len(data):
            step = rng.randint(1, 17)
            chunks.append(data[i:i + step])
            i += step
        yield f"random{n}", chunks
