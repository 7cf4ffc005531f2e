"""Every document in one language, every font embedded.

A Russian or Kazakh document carries no English word outside ``ALLOWED_LATIN`` (the text a
reader sees, extracted with pypdf), and ``pdffonts`` lists every font as embedded: a viewer
without the PDF base-14 fonts must show no blank for "≥" or a Cyrillic letter.
"""

from __future__ import annotations

import datetime
import io
import os
import shutil
import subprocess

import openpyxl
import pytest
from pypdf import PdfReader

from reports import fonts
from reports.exports import monitoring_workbook
from reports.labels import LabelData, render_labels
from reports.monitoring_report import (
    ReportParams,
    build_monitoring_report,
    prepare_monitoring_data,
)
from reports.qc_charts import calibration_chart
from reports.run_report import plate_map_pdf, run_report_pdf
from reports.stats import StatsParams
from tests.reports.catalogues import (
    catalogue,
    english_words,
)
from tests.reports.test_monitoring_report import NAMES, frames

LANGS = ("ru", "kk")
#: What the LIMS passes in, already in the reader's language (as its views translate them).
CALLER = {
    "ru": {"title": "Протокол аналитической серии RUN-17", "method": "Метод", "status": "Статус",
           "verified": "Верифицирован", "unit": "мкг/л", "kind": "МОЧА",
           "qc": ["Контроль качества пройден", "Правило 1₃s не нарушено"],
           "annex": {"methods": ["Реакция Санделла–Кольтгофа, 405 нм"],
                     "calibration_range": "0–300 мкг/л", "lod": "10 мкг/л",
                     "controls": [{"name": "Низкий", "target": 50, "n": 40, "mean": 51.2,
                                   "cv": 4.3}],
                     "rejected_runs": [{"run": "RUN-31", "date": "2024-03-02",
                                        "reason": "нарушено правило 1₃s"}],
                     "eqa": ["EQUIP 2024-1: удовлетворительно"]}},
    "kk": {"title": "RUN-17 аналитикалық сериясының хаттамасы", "method": "Әдіс",
           "status": "Күйі", "verified": "Верификацияланды", "unit": "мкг/л", "kind": "ЗӘР",
           "qc": ["Сапаны бақылаудан өтті", "1₃s ережесі бұзылмады"],
           "annex": {"methods": ["Сандел–Кольтгоф реакциясы, 405 нм"],
                     "calibration_range": "0–300 мкг/л", "lod": "10 мкг/л",
                     "controls": [{"name": "Төмен", "target": 50, "n": 40, "mean": 51.2,
                                   "cv": 4.3}],
                     "rejected_runs": [{"run": "RUN-31", "date": "2024-03-02",
                                        "reason": "1₃s ережесі бұзылды"}],
                     "eqa": ["EQUIP 2024-1: қанағаттанарлық"]}},
}
PARAMS = ReportParams(issued=datetime.date(2026, 12, 2), version="2",
                      stats=StatsParams(), region_names=NAMES)


def monitoring(lang: str, cat: object) -> bytes:
    urine, salt, previous = frames()
    return build_monitoring_report(urine, salt, params=PARAMS, lang=lang, catalogue=cat,
                                   previous=previous, qc_annex=CALLER[lang]["annex"])


def run_report(lang: str, cat: object) -> bytes:
    words = CALLER[lang]
    chart = calibration_chart([(0.0, 1.2), (100.0, 0.7), (300.0, 0.25)],
                              [(x * 30.0, 1.2 - x * 0.095) for x in range(11)], catalogue=cat)
    return run_report_pdf(
        words["title"], [(words["method"], "UIC-SK-PLATE v1"), (words["status"], "≥ 2")],
        chart=chart, problems=["r² ≥ 0,995"], qc_lines=words["qc"], catalogue=cat,
        header=[words["method"], words["unit"], words["status"]],
        rows=[["U-2026-000001", "123,4 ± 2,1 µ", words["verified"]]])


def plate_map(lang: str, cat: object) -> bytes:
    words = CALLER[lang]
    wells = {"A1": ("blank", "B0"), "A2": ("calibrator", "S1 ≥ 50"),
             "B1": ("sample", "U-2026-000001 r1 ×2")}
    return plate_map_pdf(words["title"], wells, facts=[(words["method"], "UIC-SK-PLATE v1")])


def labels(lang: str, cat: object) -> bytes:
    out = io.BytesIO()
    render_labels([LabelData("U-2026-000001", CALLER[lang]["kind"], "C-0012", "2026-05-13")],
                  "L7160", out, catalogue=cat)
    return out.getvalue()


DOCUMENTS = {"monitoring report": monitoring, "run report": run_report, "plate map": plate_map,
             "labels": labels}


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def pdffonts(pdf: bytes, tmp_path) -> list[tuple[str, bool]]:
    """(name, embedded) of each font ``pdffonts`` (poppler-utils) lists."""
    if shutil.which("pdffonts") is None:
        if os.environ.get("CI"):  # .ci/run installs poppler-utils: missing there is a failure
            pytest.fail("pdffonts (poppler-utils) is not installed")
        pytest.skip("pdffonts (poppler-utils) is not installed")
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    # columns: name, type (one or two words), encoding, emb, sub, uni, object ID
    return [(line.split()[0], line.split()[-5] == "yes") for line in lines]


def test_the_check_finds_english_words_and_passes_codes_and_allowed_abbreviations() -> None:
    assert english_words("Результаты Results") == ["Results"]
    assert english_words("Page 2 of 3") == ["Page", "of"]
    assert english_words("SHA-256 KZ-43 U-2026-000001 P25–P75 r1 1₃s RUN-31 S1") == []
    assert english_words("n = 412; CV, % ; RTK и WYD; ICCIDD; «< x»; «a–b»; 12:00 UTC") == []
    assert english_words("мкг/л µg/L") == ["g", "L"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_document_has_no_english_word(document: str, lang: str) -> None:
    cat = catalogue(lang)
    text = text_of(DOCUMENTS[document](lang, cat))
    assert english_words(text) == [], f"{document} ({lang})"
    assert any(c in text.lower() for c in "абвгдежзийклмнопрстуфхцчшщыэюяәғқңөұүһі")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_font_is_embedded_and_the_signs_come_from_one(document: str, tmp_path) -> None:
    listed = pdffonts(DOCUMENTS[document]("ru", catalogue("ru")), tmp_path)
    assert listed and all(embedded for _, embedded in listed), listed
    names = {name.split("+")[-1] for name, _ in listed}
    assert names <= {fonts.FONT, fonts.SYMBOL_FONT, "NotoSans-Regular", "PTSans-Regular"} or \
        all("Noto" in n or "PT" in n for n in names), names
    if document != "labels":  # the labels print no "≥"
        assert any("PT" in n for n in names), names


def test_the_sign_font_has_the_signs_the_text_font_lacks() -> None:
    fonts.register_fonts()
    from reportlab.pdfbase.pdfmetrics import getFont

    text, signs = getFont(fonts.FONT).face.charToGlyph, getFont(fonts.SYMBOL_FONT).face.charToGlyph
    assert all(ord(c) in signs for c in fonts.SYMBOL_CHARS)
    assert all(ord(c) in text for c in fonts.REQUIRED_SIGNS if c not in fonts.SYMBOL_CHARS)


@pytest.mark.parametrize("lang", LANGS)
def test_the_workbook_speaks_the_reports_language(lang: str) -> None:
    cat = catalogue(lang)
    urine, salt, previous = frames()
    data = prepare_monitoring_data(urine, salt, params=PARAMS, previous=previous)
    book = openpyxl.load_workbook(io.BytesIO(monitoring_workbook(data, lang=lang, catalogue=cat)))
    expected = {"ru": ["Основные показатели", "Йод в моче по регионам",
                       "Йод в соли домохозяйств", "Динамика"],
                "kk": ["Негізгі көрсеткіштер", "Зәрдегі йод өңірлер бойынша",
                       "Үй шаруашылығы тұзындағы йод", "Динамика"]}[lang]
    assert book.sheetnames[:4] == expected
    for sheet in book.worksheets:
        headers = [c.value for c in sheet[2]]
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        assert english_words(" ".join(cells)) == [], sheet.title
        assert "region_code" not in headers and all(h for h in headers)
    urine_sheet = book.worksheets[1]
    headers = [c.value for c in urine_sheet[2]]
    median = urine_sheet.cell(3, headers.index("Медиана, мкг/л") + 1)
    assert median.number_format == "0.0" and median.value == round(median.value, 1)
