"""EQA documents (issue 15, item 6): the per-laboratory report, the round summary and the
certificate, in ru, kk and en, read back as a reader sees them (pypdf) and checked for the codes,
scores, classes, x_pt and σ_pt as printed; the charts with awkward data.

The round is made up here from seeded numbers, its scores computed in the test with the ISO 13528
formulas, so the documents are checked against figures they did not compute themselves.
"""

from __future__ import annotations

import dataclasses
import io
import math
import random
import re
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from reports import eqa_charts
from reports.eqa_charts import (
    HistoryMark,
    YoudenPoint,
    history_chart,
    kde_bandwidth,
    kernel_density,
    results_chart,
    youden_chart,
)
from reports.eqa_report import (
    Certificate,
    HistoryPoint,
    IssueInfo,
    LabReport,
    LabResult,
    Material,
    MethodGroupStats,
    RoundInfo,
    RoundSummary,
    certificate_pdf,
    lab_report_pdf,
    round_summary_pdf,
    sigma_rule_text,
)
from reports.monitoring_report import number
from reports.texts import translator
from tests.reports.catalogues import catalogue, english_words
from tests.reports.test_languages import pdffonts

LANGS = ("ru", "kk", "en")
CLASS_WORDS = {
    "en": {"satisfactory": "satisfactory", "questionable": "questionable",
           "unsatisfactory": "unsatisfactory"},
    "ru": {"satisfactory": "удовлетворительно", "questionable": "сомнительно",
           "unsatisfactory": "неудовлетворительно"},
    "kk": {"satisfactory": "қанағаттанарлық", "questionable": "күмәнді",
           "unsatisfactory": "қанағаттанарлықсыз"},
}
ROUND = RoundInfo(
    programme_code="UIC-EQA", programme_name="Йод в моче / Urinary iodine", measurand="uic",
    unit="µg/L", round_code="UI-2026-2", dispatch_date=date(2026, 10, 5),
    deadline=date(2026, 11, 2), assigned_value_method="consensus", sigma_kind="percent",
    sigma_percent=10, provider="Национальный референс-центр по йоду")
ISSUE = IssueInfo(version=2, issued_at=datetime(2026, 12, 8, 9, 30, tzinfo=UTC),
                  issued_by="А. Серікова", audit_seal="#4711 9f2c01ab",
                  revision_note="Исправлена опечатка в комментарии")
METHODS = ("sk_microplate", "ammonium_persulfate", "icp_ms")


def classify(score: float) -> str:
    return ("satisfactory" if abs(score) <= 2 else
            "questionable" if abs(score) < 3 else "unsatisfactory")


def round_data() -> tuple[tuple[Material, ...], tuple[LabResult, ...]]:
    """Two materials, 18 laboratories, one far-out result and one lab without uncertainty;
    material B's assigned value is uncertain enough to be scored with z′."""
    rng = random.Random(15)
    a = Material("UP-101", "низкий", x_pt=98.4, u_x_pt=1.9, sigma_pt=9.84, source="consensus",
                 uses_z_prime=False, p=18, homogeneity_passed=True, stability_passed=True)
    b = Material("UP-102", "высокий", x_pt=247.5, u_x_pt=9.1, sigma_pt=24.75, source="reference",
                 uses_z_prime=True, source_note="ICP-MS", homogeneity_passed=True)
    assert a.u_x_pt <= 0.3 * a.sigma_pt and b.u_x_pt > 0.3 * b.sigma_pt
    results = []
    for i in range(1, 19):
        code = f"L{i:02d}"
        for m, sd in ((a, 7.0), (b, 18.0)):
            value = round(m.x_pt + rng.gauss(0, sd), 1)
            if code == "L07" and m is a:
                value = 310.0  # a unit mix-up: far beyond ±6σ_pt
            u_x = None if code == "L03" else round(0.05 * value, 1)
            z = (value - m.x_pt) / m.sigma_pt
            z_prime = (value - m.x_pt) / math.hypot(m.sigma_pt, m.u_x_pt)
            zeta = None if u_x is None else (value - m.x_pt) / math.hypot(u_x, m.u_x_pt)
            # E_n where the laboratory also stated a coverage factor (k = 2; even codes)
            en = (value - m.x_pt) / math.hypot(2 * u_x, 2 * m.u_x_pt) \
                if u_x is not None and i % 2 == 0 else None
            judged = z_prime if m.uses_z_prime else z
            results.append(LabResult(
                lab_code=code, material=m.code, value=value, u_x=u_x,
                method=METHODS[i % 3], z=z, z_prime=z_prime, zeta=zeta,
                score_class=classify(judged),  # type: ignore[arg-type]
                zeta_class=None if zeta is None else classify(zeta),  # type: ignore[arg-type]
                en=en, en_class=None if en is None else (
                    "satisfactory" if abs(en) <= 1 else "unsatisfactory"),
                sample_code=f"S-{i:02d}{'AB'[m is b]}", late=code == "L11"))
    return (a, b), tuple(results)


MATERIALS, RESULTS = round_data()
GROUPS = (MethodGroupStats("UP-101", "icp_ms", 6, 98.9, 99.4, 5.1, None, None),
          MethodGroupStats("UP-101", "sk_microplate", 6, 97.2, 132.0, 86.0, None, None),
          MethodGroupStats("UP-102", "ammonium_persulfate", 6, 251.0, 249.3, 14.2, None, None))


def lab_report(code: str = "L06", **changes: object) -> LabReport:
    history = tuple(HistoryPoint(f"UI-202{year}-{half}", date(2020 + year, 4 + 6 * (half - 1), 1),
                                 material, score, "z", classify(score))  # type: ignore[arg-type]
                    for year, half, material, score in
                    ((4, 1, "UP-091", 0.4), (4, 2, "UP-095", -2.3), (5, 1, "UP-097", 1.1),
                     (5, 2, "UP-099", 3.4), (6, 1, "UP-100", -0.6)))
    own = tuple(r for r in RESULTS if r.lab_code == code)
    report = LabReport(round=ROUND, lab_code=code, materials=MATERIALS, results=own,
                       history=history, comments=("Результат по UP-102 проверен повторно.",),
                       issue=ISSUE, participants=18)
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def summary() -> RoundSummary:
    return RoundSummary(round=ROUND, materials=MATERIALS, results=RESULTS, method_groups=GROUPS,
                        issue=ISSUE, youden_pair=("UP-101", "UP-102"),
                        comments=("Материал UP-102 хранить при 4 °C.",))


def certificate() -> Certificate:
    return Certificate(round=ROUND, lab_name="Республиканская СЭС «Тест»", country="Кыргызстан",
                       lab_code="L05", materials_received=2, materials_reported=2, issue=ISSUE,
                       signatory="Д. Ахметов, руководитель программы")


def cat(lang: str) -> object | None:
    return None if lang == "en" else catalogue(lang)


def text_of(pdf: bytes) -> str:
    """The document's text, one space between words (a table cell may break inside a line)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
                    .split())


def printed(value: float, lang: str, digits: int) -> str:
    return number(value, translator(lang), digits)


def has_word(word: str, text: str) -> bool:
    """``word`` as a whole word ("удовлетворительно" is not found in "неудовлетворительно")."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


@pytest.fixture(scope="module", params=LANGS)
def documents(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    lang = request.param
    return lang, {"lab": text_of(lab_report_pdf(lab_report(), lang=lang, catalogue=cat(lang))),
                  "summary": text_of(round_summary_pdf(summary(), lang=lang,
                                                       catalogue=cat(lang))),
                  "certificate": text_of(certificate_pdf(certificate(), lang=lang,
                                                         catalogue=cat(lang)))}


def test_the_lab_report_prints_its_results_scores_and_assigned_values(documents) -> None:
    lang, texts = documents
    text = texts["lab"]
    assert "L06" in text
    own = [r for r in RESULTS if r.lab_code == "L06"]
    assert all(r.en is not None for r in own)  # the seeded lab reports E_n too
    for r in own:
        assert printed(r.en, lang, 2) in text  # type: ignore[arg-type]
        assert r.sample_code in text
        for score in (r.z, r.z_prime, r.zeta):
            assert printed(score, lang, 2) in text, (lang, score)
        assert has_word(CLASS_WORDS[lang][r.score_class], text)
    for m in MATERIALS:
        assert printed(m.x_pt, lang, 1) in text and printed(m.sigma_pt, lang, 2) in text
        assert printed(m.u_x_pt, lang, 2) in text
    assert "UI-2026-2" in text and "#4711 9f2c01ab" in text


def test_the_lab_report_names_no_other_laboratory(documents) -> None:
    _, texts = documents
    others = re.findall(r"L\d\d", texts["lab"])
    assert others and set(others) == {"L06"}
    other_values = {printed(r.value, "en", 1) for r in RESULTS if r.lab_code == "L07"}
    assert not any(v.replace(".", ",") in texts["lab"] or v in texts["lab"]
                   for v in other_values)


def test_the_lab_report_refuses_another_laboratorys_result() -> None:
    stranger = next(r for r in RESULTS if r.lab_code == "L05")
    report = lab_report(results=(*lab_report().results, stranger))
    with pytest.raises(ValueError, match="L05"):
        lab_report_pdf(report, lang="en")


def test_the_summary_lists_every_code_with_its_scores_and_the_z_prime_note(documents) -> None:
    lang, texts = documents
    text = texts["summary"]
    for r in RESULTS:
        assert r.lab_code in text
        assert printed(r.z, lang, 2) in text and printed(r.z_prime, lang, 2) in text
        for score in (r.zeta, r.en):
            assert score is None or printed(score, lang, 2) in text
    for klass in ("satisfactory", "questionable", "unsatisfactory"):
        if any(r.score_class == klass for r in RESULTS):
            assert has_word(CLASS_WORDS[lang][klass], text)
    for m in MATERIALS:
        assert printed(m.x_pt, lang, 1) in text and printed(m.sigma_pt, lang, 2) in text
    assert f"u(xₚₜ) = {printed(MATERIALS[1].u_x_pt, lang, 2)} > {printed(0.3, lang, 1)}σₚₜ" \
        in text
    assert f"u(xₚₜ) = {printed(MATERIALS[0].u_x_pt, lang, 2)} >" not in text
    assert printed(310.0, lang, 1) in text  # the outlier, written at the chart's edge
    assert "x*" in text and "s*" in text


def test_the_summary_names_no_laboratory(documents) -> None:
    _, texts = documents
    assert "Республиканская" not in texts["summary"]


def test_the_certificate_names_the_laboratory_round_and_programme(documents) -> None:
    lang, texts = documents
    text = texts["certificate"]
    for piece in ("Республиканская СЭС «Тест»", "Кыргызстан", "UI-2026-2",
                  "Йод в моче / Urinary iodine", "Д. Ахметов"):
        assert piece in text
    assert ("05.10.2026" if lang != "en" else "2026-10-05") in text


@pytest.mark.parametrize("lang", ("ru", "kk"))
def test_russian_and_kazakh_documents_have_no_english_word(lang: str) -> None:
    for pdf in (lab_report_pdf(lab_report(), lang=lang, catalogue=cat(lang)),
                round_summary_pdf(summary(), lang=lang, catalogue=cat(lang)),
                certificate_pdf(certificate(), lang=lang, catalogue=cat(lang))):
        text = text_of(pdf).replace("Urinary iodine", "")  # the programme's name, as typed
        assert english_words(text) == [], lang


def test_every_font_is_embedded(tmp_path) -> None:
    for pdf in (lab_report_pdf(lab_report(), lang="kk", catalogue=cat("kk")),
                round_summary_pdf(summary(), lang="ru", catalogue=cat("ru")),
                certificate_pdf(certificate(), lang="kk", catalogue=cat("kk"))):
        listed = pdffonts(pdf, tmp_path)
        assert listed and all(embedded for _, embedded in listed), listed
        assert all("Noto" in name or "PT" in name for name, _ in listed), listed


def test_a_round_without_results_or_history_still_gives_its_documents() -> None:
    """A lab that reported nothing and has no earlier round; a summary before any result, with
    one material (no Youden pair) and no method groups: the documents say so."""
    empty = text_of(lab_report_pdf(lab_report(results=(), history=(), comments=()), lang="en"))
    assert "The laboratory reported no results in this round." in empty
    assert "No scores yet." in empty
    bare = RoundSummary(round=ROUND, materials=MATERIALS[:1], results=(), method_groups=(),
                        issue=ISSUE, youden_pair=("UP-101", "UP-102"))
    text = text_of(round_summary_pdf(bare, lang="ru", catalogue=cat("ru")))
    assert "Результаты не представлены." in text and "График Юдена" not in text
    assert "(n = 0)" in text


def test_a_summary_of_identical_results_and_of_a_single_one() -> None:
    same = tuple(dataclasses.replace(r, value=MATERIALS[0].x_pt) for r in RESULTS
                 if r.material == "UP-101")
    one = tuple(r for r in RESULTS if r.material == "UP-102")[:1]
    data = dataclasses.replace(summary(), results=same + one)
    text = text_of(round_summary_pdf(data, lang="en"))
    assert "(n = 18)" in text and "(n = 1)" in text
    assert "Histogram of 1 result with its kernel density" in text


def test_the_sigma_rule_is_stated_as_configured() -> None:
    ru = translator("ru", catalogue("ru"))
    linear = dataclasses.replace(ROUND, sigma_kind="linear", sigma_a=2.5, sigma_b=0.08)
    assert sigma_rule_text(linear, ru) == "2,5 мкг/л + 0,08 × xₚₜ (пригодность для цели)"
    assert sigma_rule_text(ROUND, translator("en")) == \
        "10 % of the assigned value (fitness for purpose)"
    robust = dataclasses.replace(ROUND, sigma_kind="robust", sigma_percent=None)
    assert "s*" in sigma_rule_text(robust, ru)
    with pytest.raises(ValueError, match="linear"):
        sigma_rule_text(dataclasses.replace(ROUND, sigma_kind="linear"), ru)


def test_the_same_data_give_the_same_bytes() -> None:
    assert round_summary_pdf(summary(), lang="en") == round_summary_pdf(summary(), lang="en")


# --- charts ---------------------------------------------------------------------------------------

TR = translator("en")


def test_kernel_density_integrates_to_one_and_the_bandwidth_follows_silverman() -> None:
    values = [90.0, 95.0, 98.0, 100.0, 101.0, 104.0, 120.0]
    s = math.sqrt(sum((v - sum(values) / 7) ** 2 for v in values) / 6)
    iqr = 102.5 - 96.5  # numpy's linear percentiles of the seven values
    assert kde_bandwidth(values, 1.0) == pytest.approx(0.9 * min(s, iqr / 1.34) * 7 ** -0.2)
    grid = [60 + 0.05 * i for i in range(2001)]
    assert sum(kernel_density(values, grid, 3.0)) * 0.05 == pytest.approx(1.0, abs=1e-6)


def test_the_bandwidth_falls_back_where_the_results_have_no_spread() -> None:
    assert kde_bandwidth([100.0], 2.5) == 2.5
    assert kde_bandwidth([100.0] * 6, 2.5) == 2.5


@pytest.mark.parametrize("values", [[100.0], [100.0] * 5, [95.0, 101.0, 104.0, 2000.0], []])
def test_the_results_chart_draws_one_result_identical_results_an_outlier_and_none(
        values: list[float]) -> None:
    figure = results_chart(values, 100.0, 8.0, tr=TR, title="A", unit="µg/L")
    assert figure.drawing.width > 0 and figure.alt
    assert f"{len(values)} result" in figure.alt
    far = [v for v in values if abs(v - 100) > eqa_charts.SPAN_SIGMAS * 8]
    assert ("Off the scale: 2000.0" in figure.alt) == bool(far)


def test_the_results_chart_refuses_a_zero_sigma() -> None:
    with pytest.raises(ValueError):
        results_chart([1.0], 100.0, 0.0, tr=TR, title="A", unit="µg/L")


def test_the_youden_chart_names_the_laboratories_outside_the_box() -> None:
    points = [YoudenPoint("L01", 100.0, 200.0), YoudenPoint("L02", 130.0, 200.0),
              YoudenPoint("L03", 9000.0, -50.0)]
    figure = youden_chart(points, ("A", 100.0, 8.0), ("B", 200.0, 15.0), tr=TR, title="Y",
                          unit="µg/L")
    assert "inside the ±2σₚₜ box for both materials: 1" in figure.alt
    assert "Outside it: L02, L03." in figure.alt
    single = youden_chart(points[:1], ("A", 100.0, 8.0), ("B", 100.0, 8.0), tr=TR, title="Y",
                          unit="µg/L")
    assert "Laboratories: 1" in single.alt


def test_the_history_chart_draws_one_score_and_a_score_far_out() -> None:
    one = history_chart([HistoryMark("R1", "A", 0.5)], tr=TR, title="H", score_name="z")
    assert "R1, A: 0.5" in one.alt
    far = history_chart([HistoryMark("R1", "A", 0.5), HistoryMark("R2", "A", -41.3)], tr=TR,
                        title="H", score_name="z")
    assert "R2, A: -41.3" in far.alt
    with pytest.raises(ValueError):
        history_chart([], tr=TR, title="H", score_name="z")
