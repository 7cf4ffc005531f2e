"""The monitoring report PDF: text as a reader sees it (pypdf), Cyrillic, numbers, determinism."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from reports import fonts
from reports.criteria import IGN3
from reports.monitoring_report import (
    ReportParams,
    build_monitoring_report,
    dataset_fingerprint,
    number,
)
from reports.stats import NATIONAL, StatsParams, urine_summary
from reports.texts import region_names_from_frame, translator
from tests.reports.catalogues import catalogue

ROOT = Path(__file__).resolve().parents[2]
NAMES = region_names_from_frame(pd.read_csv(ROOT / "lims" / "data" / "kz-regions.csv"))
QC = {
    "methods": ["Sandell–Kolthoff, ammonium persulfate digestion, 405 nm"],
    "calibration_range": "0–300 µg/L",
    "lod": "10 µg/L",
    "controls": [{"name": "Low", "target": 50, "n": 40, "mean": 51.2, "cv": 4.3}],
    "rejected_runs": [{"run": "R-2024-031", "date": "2024-03-02", "reason": "1-3s control High"}],
    "eqa": ["EQUIP 2024-1: passed"],
    "equipment": [{"equipment": "EQ-READER-1 Bio-Rad 680", "status": "В эксплуатации",
                   "calibration": "калибровка до 2027-01-10"}],
}


def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(12)
    n = 1200
    regions = np.array(["KZ-43", "KZ-75", "KZ-11"])
    uic = rng.lognormal(np.log(140), 0.7, n)
    censored = uic < 10
    urine = pd.DataFrame(
        {
            "region_code": regions[rng.integers(0, 3, n)],
            "group_code": rng.choice(["SAC", "PW"], n),
            "period": "2024",
            "cluster_id": [f"C{c}" for c in rng.integers(0, 10, n)],
            "uic": np.where(censored, np.nan, uic),
            "censored": censored,
            "lod": 10.0,
        }
    )
    previous = urine.assign(period="2019", uic=urine.uic * 0.7)
    m = 300
    method = rng.choice(["titration", "rtk"], m)
    salt = pd.DataFrame(
        {
            "region_code": regions[rng.integers(0, 3, m)],
            "period": "2024",
            "method": method,
            "iodine_mg_kg": np.where(method == "rtk", np.nan, rng.gamma(5, 6, m)),
            "category": np.where(method == "rtk", rng.choice(["none", "at_least_15"], m), None),
            "censored": False,
        }
    )
    return urine, salt, previous


PARAMS = ReportParams(
    issued=datetime.date(2026, 12, 2),
    version="2",
    stats=StatsParams(),
    region_names=NAMES,
    laboratory="KAN reference laboratory",
)


def needs(lang: str):
    """The catalogue a test of Russian or Kazakh words renders with."""
    return catalogue(lang)


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    urine, salt, previous = frames()
    return {
        lang: build_monitoring_report(
            urine, salt, params=PARAMS, lang=lang, catalogue=needs(lang), previous=previous,
            qc_annex=QC
        )
        for lang in ("ru", "kk")
    }


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.mark.parametrize(
    ("lang", "region", "page_word"),
    [("ru", "Кызылординская область", "Стр."), ("kk", "Қызылорда облысы", "беттің")],
)
def test_pdf_text_has_cyrillic_names_numbers_and_page_numbers(
    pdfs, lang: str, region: str, page_word: str
) -> None:
    pages = text_of(pdfs[lang])
    whole = "\n".join(pages)
    assert region in whole
    assert "Алматы" in whole
    urine = frames()[0]
    table = urine_summary(urine, PARAMS.stats).table
    sac = table[(table.region_code == NATIONAL) & (table.group_code == "SAC")].iloc[0]
    tr = translator(lang)
    assert number(sac["median"], tr) == f"{sac['median']:.1f}".replace(".", ",")
    assert (
        f"{number(sac['median'], tr)} ({number(sac.ci_low, tr)}–{number(sac.ci_high, tr)})"
        in whole
    )
    assert number(sac.pct_below_100, tr) in whole
    footer = f"SHA-256 {dataset_fingerprint(urine)[0][:12]} ({len(urine)} "
    assert all(footer in page.replace("\n", " ") for page in pages)  # on every page, with the count
    cover = next(page for page in pages if dataset_fingerprint(urine)[0] in page)
    assert str(len(urine)) in cover and dataset_fingerprint(frames()[2])[0] in cover
    total = len(pages)
    for i, page in enumerate(pages, start=1):
        assert re.search(rf"\b{i}\b", page) and str(total) in page and page_word in page
    assert "1-3s control High" in pages[-1] and "4,3" in pages[-1]
    assert "02.12.2026" in pages[0] and "2026-12-02" not in whole  # DD.MM.YYYY


def test_scheme_named_once_per_section(pdfs) -> None:
    """The classification caption heads each section once (headline, pooled tables, regions,
    charts, map, annex), not every table: three regions' tables add no caption."""
    pages = text_of(pdfs["ru"])
    whole = " ".join(" ".join(pages).split())
    assert "ВОЗ/ЮНИСЕФ/ICCIDD 2007" in " ".join(pages[0].split())
    assert 4 <= whole.count("ВОЗ/ЮНИСЕФ/ICCIDD 2007") <= 8


def test_population_wording_only(pdfs) -> None:
    whole = "\n".join(text_of(pdfs["ru"])).lower()
    assert "% проб" in whole
    assert "% дефицит" not in whole and "распространённость дефицита" not in whole.replace(
        "не являются распространённостью дефицита", ""
    )


def test_same_inputs_same_bytes_and_the_scheme_changes_them(pdfs) -> None:
    urine, salt, previous = frames()
    again = build_monitoring_report(
        urine, salt, params=PARAMS, lang="ru", catalogue=catalogue("ru"), previous=previous,
        qc_annex=QC
    )
    assert again == pdfs["ru"]
    ign = ReportParams(
        issued=PARAMS.issued, stats=StatsParams(scheme=IGN3), region_names=NAMES
    )
    text = "\n".join(text_of(build_monitoring_report(urine, salt, params=ign, lang="en")))
    assert "IGN, 3 classes: school-age children and adults" in text.replace("\n", " ")
    assert "Page 1 of" in text and "Kyzylorda Region" in text


def test_region_names_from_columns() -> None:
    urine, salt, _ = frames()
    named = urine.assign(name_ru="Тестовая", name_kk="Сынақ өңірі", name_en="Test")
    named.loc[named.region_code != "KZ-43", ["name_ru", "name_kk", "name_en"]] = [
        "Другая",
        "Басқа",
        "Other",
    ]
    params = ReportParams(issued=PARAMS.issued, stats=StatsParams())
    text = "\n".join(text_of(build_monitoring_report(named, salt, params=params, lang="kk")))
    assert "Сынақ өңірі" in text  # the name from the data, with or without a catalogue


def test_fingerprint_ignores_row_and_column_order_but_not_values() -> None:
    urine, _, _ = frames()
    digest, rows = dataset_fingerprint(urine)
    assert rows == len(urine)
    assert (
        dataset_fingerprint(urine.sample(frac=1, random_state=3)[urine.columns[::-1]])[0] == digest
    )
    changed = urine.copy()
    changed.loc[changed.index[5], "uic"] = 999.0
    assert dataset_fingerprint(changed)[0] != digest


def test_unknown_language_is_refused() -> None:
    urine, salt, _ = frames()
    with pytest.raises(ValueError, match="unknown report language"):
        build_monitoring_report(urine, salt, params=PARAMS, lang="de")


def test_font_has_kazakh_letters_and_missing_font_is_an_error(monkeypatch) -> None:
    assert fonts.register_fonts() == fonts.FONT
    import fontpkg

    def gone(*args, **kwargs):
        raise fontpkg.FamilyNotInstalled("Noto Sans")

    monkeypatch.setattr(fontpkg, "path", gone)
    with pytest.raises(fonts.FontMissingError, match="pip install fontpkg-noto-sans"):
        fonts.font_path()
    with pytest.raises(fonts.FontMissingError, match="pip install fontpkg-pt-sans"):
        fonts.font_path(fonts.SYMBOL_FONT)


def test_signs_markup_switches_to_the_embedded_sign_font() -> None:
    assert fonts.markup("a ≥ 5 & b") == 'a <font name="PTSans">≥</font> 5 &amp; b'
    assert [f for f, _ in fonts.runs("≥15 мг")] == ["PTSans", fonts.FONT]


def test_report_builds_without_salt_or_without_urine() -> None:
    urine, salt, _ = frames()
    params = ReportParams(
        issued=PARAMS.issued, stats=StatsParams(), region_names=NAMES
    )
    for u, s in ((urine, salt.iloc[:0]), (urine.iloc[:0], salt)):
        pages = text_of(build_monitoring_report(u, s, params=params, lang="ru",
                                                catalogue=needs("ru")))
        assert f"Стр. {len(pages)} из {len(pages)}" in pages[-1]


def test_a_report_on_one_region_labels_its_pooled_rows() -> None:
    urine, salt, _ = frames()
    one = urine[urine.region_code == "KZ-43"]
    params = ReportParams(
        issued=PARAMS.issued,
        stats=StatsParams(),
        region_names=NAMES,
        pooled_label=NAMES["KZ-43"],
    )
    text = "\n".join(text_of(build_monitoring_report(one, salt.iloc[:0], params=params, lang="kk",
                                                      catalogue=needs("kk"))))
    assert "Жиынтық кесте: Қызылорда облысы" in text
    assert "Қазақстан Республикасы" not in text


def test_salt_not_analysed_is_its_own_line_and_never_a_method_in_summary_or_charts() -> None:
    urine, salt, _ = frames()
    waiting = salt.iloc[:7].assign(method=None, iodine_mg_kg=np.nan, category=None,
                                   status="pending")
    salt = pd.concat([salt.assign(status="analysed"), waiting], ignore_index=True)
    params = ReportParams(issued=PARAMS.issued, stats=StatsParams(),
                          region_names=NAMES)
    pages = text_of(build_monitoring_report(urine, salt, params=params, lang="en"))
    text = "".join("\n".join(pages).split())
    assert "notanalysed" in text  # its line in the salt tables
    assert "(notanalysed):" not in text  # not a method of the summary's salt sentences
    assert "·notanalysed" not in text  # nor a bar of the salt chart


def test_the_annex_lists_the_equipment_with_its_calibration_status(pdfs) -> None:
    pages = text_of(pdfs["ru"])
    [annex] = [p for p in pages if "EQ-READER-1" in p]
    assert "Bio-Rad 680" in annex and "калибровка до 2027-01-10" in annex
    assert "В эксплуатации" in annex


def test_only_embedded_fonts_and_no_text_outside_the_page(pdfs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``pdffonts`` lists only embedded fonts; every word poppler places (``pdftotext -bbox``,
    what pdftoppm renders) lies inside its page box."""
    import shutil
    import subprocess

    if not (shutil.which("pdffonts") and shutil.which("pdftotext")):
        pytest.fail("poppler-utils (pdffonts, pdftotext) are needed to check the PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdfs["ru"])
    fonts_listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                                  check=True).stdout.splitlines()[2:]
    assert fonts_listed and all(line.split()[-5] == "yes" for line in fonts_listed), fonts_listed
    layout = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                            text=True, check=True).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', layout, re.S)
    assert len(pages) == len(text_of(pdfs["ru"]))
    for width, height, body in pages:
        for x0, y0, x1, y1 in re.findall(
                r'xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)"', body):
            assert 0 <= float(x0) and float(x1) <= float(width) + 0.5
            assert 0 <= float(y0) and float(y1) <= float(height) + 0.5


def test_the_map_page_draws_the_20_units(pdfs) -> None:
    """Page 2 holds the maps: every region's short name is printed on it."""
    page = " ".join(text_of(pdfs["ru"])[1].split())
    names = pd.read_csv(ROOT / "lims" / "data" / "kz-regions.csv")
    from reports.kzmap import short_names

    for name in short_names(dict(zip(names.iso_code, names.name_ru))).values():
        assert name in page, name
