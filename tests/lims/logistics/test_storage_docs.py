"""The storage documents without Flask: the pick-list/contents table PDF reads back in order,
with the box's barcode drawn when asked."""

from __future__ import annotations

import io

from pypdf import PdfReader

from reports.storage_docs import table_pdf


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_table_reads_back_in_order_over_pages() -> None:
    rows = [["F1", "R1", f"B{n // 81 + 1}", f"A{n % 9 + 1}", f"U-2026-{n:06d}"]
            for n in range(200)]
    pdf = table_pdf("Pick list: worklist, UIC-SK-PLATE", [("Samples", "200")],
                    ["Freezer", "Rack", "Box", "Position", "Sample"], rows)
    text = _text(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert text.count("Freezer") == len(PdfReader(io.BytesIO(pdf)).pages)  # header repeated
    found = [text.index(r[4]) for r in rows]
    assert found == sorted(found)


def test_barcode_only_when_asked() -> None:
    plain = table_pdf("Box FRZ-1-B1", [], ["Position", "Tube"], [["A1", "S-2026-000001"]])
    coded = table_pdf("Box FRZ-1-B1", [], ["Position", "Tube"], [["A1", "S-2026-000001"]],
                      barcode="FRZ-1-B1")
    assert len(coded) > len(plain)
    assert "S-2026-000001" in _text(coded)
