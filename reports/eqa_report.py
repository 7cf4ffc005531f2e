"""EQA documents of a proficiency-testing round (issue 15, item 6): the per-laboratory report, the
round summary for all participants by code, and the certificate of participation.

Plain frozen dataclasses in, PDF bytes out: no Flask, no database, no ``lims`` import. The LIMS
(``lims/eqa``) maps its rows to these dataclasses, with the scores it computed and stored
(``reports.eqa_stats``), so a document prints exactly the stored figures and never recomputes a
score. The words come from the application's gettext catalogues the same way as the monitoring
report's: a builder takes the report's ``lang`` (ru|kk|en) and a ``catalogue`` with
``gettext``/``ngettext`` (Flask-Babel's translations of that language; English without one).

Confidentiality (ISO/IEC 17043): a laboratory is named only on its own certificate; the
reports know laboratories by their random code of the round, and ``LabReport`` refuses results
or history of another code, so a per-laboratory report cannot leak another participant.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.eqa_charts import (
    Figure,
    HistoryMark,
    YoudenPoint,
    history_chart,
    results_chart,
    youden_chart,
)
from reports.fonts import Canvas
from reports.fonts import markup as escape

# The monitoring report's document style (styles, tables, numbered footer, number and date
# formats), shared so every report of the LIMS looks and reads alike.
from reports.monitoring_report import _flatten, _NumberedCanvas, _Styles, _table, date_text, number
from reports.texts import N_, UNITS, Catalogue, Translator, check_language, label, translator

__all__ = ["AssignedSource", "Certificate", "HistoryPoint", "IssueInfo", "LabReport",
           "LabResult", "Material", "MethodGroupStats", "RoundInfo", "RoundSummary", "ScoreClass",
           "ScoreKind", "SigmaKind", "certificate_pdf", "lab_report_pdf", "round_summary_pdf"]

#: Where a material's assigned value x_pt comes from (stated in every report).
AssignedSource = Literal["reference", "formulation", "consensus"]
#: How σ_pt is set for the programme: a percentage of x_pt, a + b·x_pt, or the robust s*.
SigmaKind = Literal["percent", "linear", "robust"]
#: The score a result is judged by: z, or z′ where u(x_pt) > 0.3·σ_pt.
ScoreKind = Literal["z", "z_prime"]
#: ``reports.eqa_stats.ScoreClass`` values (|s| ≤ 2; 2 < |s| < 3; |s| ≥ 3).
ScoreClass = Literal["satisfactory", "questionable", "unsatisfactory"]


@dataclass(frozen=True)
class RoundInfo:
    """The round and its programme, as every EQA document heads it."""

    programme_code: str
    #: The programme's name as the provider wrote it (printed as is, not translated).
    programme_name: str
    #: 'uic' (urinary iodine) or 'salt_iodine' (iodine in salt).
    measurand: Literal["uic", "salt_iodine"]
    #: 'µg/L' or 'mg/kg', as stored; printed in the report's language.
    unit: str
    round_code: str
    dispatch_date: date | None
    deadline: date | None
    #: The round's assigned-value method, stated in the reports.
    assigned_value_method: AssignedSource
    #: The programme's σ_pt rule (configuration): ``percent`` uses ``sigma_percent``; ``linear``
    #: uses ``sigma_a`` + ``sigma_b``·x_pt; ``robust`` is the consensus s*.
    sigma_kind: SigmaKind
    sigma_percent: float | None = None
    sigma_a: float | None = None
    sigma_b: float | None = None
    #: The providing laboratory (the reference laboratory), printed in the header.
    provider: str = ""
    #: Digits the programme's values and assigned values are printed with.
    digits: int = 1


@dataclass(frozen=True)
class Material:
    """One material (pool, level) of the round with its assigned value and σ_pt, the same for
    every participant. ``code`` is the provider's material code (pool id), not a participant's
    randomised sample code."""

    code: str
    #: The level as the provider names it ("low", "high"; printed as is).
    level: str
    x_pt: float
    #: Standard uncertainty of the assigned value, u(x_pt).
    u_x_pt: float
    sigma_pt: float
    source: AssignedSource
    #: True where u(x_pt) > 0.3·σ_pt, so the material's results are scored with z′.
    uses_z_prime: bool
    #: Results behind a consensus value (p of Algorithm A); None for reference/formulation.
    p: int | None = None
    #: What stands behind a reference or formulation value ("ICP-MS, 3 replicates"; as typed).
    source_note: str = ""
    #: Homogeneity and stability verdicts (ISO 13528 Annex B); None when not tested.
    homogeneity_passed: bool | None = None
    stability_passed: bool | None = None


@dataclass(frozen=True)
class LabResult:
    """One laboratory's current result for one material with its stored scores."""

    lab_code: str
    #: ``Material.code`` of the material.
    material: str
    value: float
    #: The laboratory's standard uncertainty u(x), or None when it reported none (no ζ then).
    u_x: float | None
    #: The method group (``EqaMethod``: "sk_microplate", "ammonium_persulfate", "icp_ms",
    #: "titration", "other" are translated; anything else is printed as given).
    method: str
    z: float | None
    z_prime: float | None
    zeta: float | None
    #: The class of the score the result is judged by (z, or z′ for a material with
    #: ``uses_z_prime``).
    score_class: ScoreClass
    #: The class of ζ, when ζ was computed.
    zeta_class: ScoreClass | None = None
    #: E_n (with the coverage factor the laboratory stated) and its class, when computed.
    en: float | None = None
    en_class: ScoreClass | None = None
    #: The laboratory's randomised sample code for this material (per-lab report only).
    sample_code: str = ""
    #: Submitted after the deadline.
    late: bool = False


@dataclass(frozen=True)
class MethodGroupStats:
    """``reports.eqa_stats.GroupStats`` of one material: build it as
    ``MethodGroupStats(material=m.code, **dataclasses.asdict(group_stats))``."""

    material: str
    method: str
    n: int
    median: float
    mean: float
    sd: float | None
    x_star: float | None
    s_star: float | None


@dataclass(frozen=True)
class HistoryPoint:
    """One of a laboratory's scores in a round (this round or an earlier one), for its history
    chart. Only the laboratory's own scores: the chart carries no other laboratory."""

    round_code: str
    #: The round's dispatch date: the points are ordered by it.
    round_date: date
    material: str
    score: float
    kind: ScoreKind
    #: The score's class, for the share of satisfactory scores; None leaves the share unprinted.
    score_class: ScoreClass | None = None


@dataclass(frozen=True)
class IssueInfo:
    """The issued version of a document (issued versions are frozen, like monitoring reports)."""

    version: int
    issued_at: datetime
    #: The person who issued it (name as stored).
    issued_by: str
    #: The audit chain's head at issue ("#id seal"), printed so the trail can be checked later.
    audit_seal: str = ""
    #: What changed since the previous version, in the report's language (empty for version 1).
    revision_note: str = ""


@dataclass(frozen=True)
class LabReport:
    """Everything a participant's own report prints. ``results`` and ``history`` must carry
    ``lab_code`` only: building the report refuses anything else (``ValueError``)."""

    round: RoundInfo
    lab_code: str
    materials: tuple[Material, ...]
    results: tuple[LabResult, ...]
    history: tuple[HistoryPoint, ...]
    #: The provider's comments to this laboratory (as typed, not translated).
    comments: tuple[str, ...]
    issue: IssueInfo
    #: Number of participating laboratories with results (a count, never their codes).
    participants: int


@dataclass(frozen=True)
class RoundSummary:
    """The round summary for all participants, by code only."""

    round: RoundInfo
    materials: tuple[Material, ...]
    #: Every participant's current result (laboratory codes only).
    results: tuple[LabResult, ...]
    method_groups: tuple[MethodGroupStats, ...]
    issue: IssueInfo
    #: Two ``Material.code`` values for the Youden plot; None when the round has fewer than two.
    youden_pair: tuple[str, str] | None = None
    comments: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Certificate:
    """A certificate of participation of one laboratory in one round."""

    round: RoundInfo
    lab_name: str
    country: str
    lab_code: str
    #: Materials the laboratory received and reported (counts).
    materials_received: int
    materials_reported: int
    issue: IssueInfo
    #: Who signs for the provider (name, position; as typed).
    signatory: str = ""


# --- words ----------------------------------------------------------------------------------------

SOURCE_LABELS: dict[str, str] = {
    "reference": N_("reference value measured by the provider"),
    "formulation": N_("formulation value"),
    "consensus": N_("robust consensus of participants (ISO 13528, Algorithm A)"),
}
CLASS_LABELS: dict[str, str] = {
    "satisfactory": N_("satisfactory"),
    "questionable": N_("questionable"),
    "unsatisfactory": N_("unsatisfactory"),
}
#: Method groups (issue 15); a method not listed is printed as the LIMS gives it.
METHOD_LABELS: dict[str, str] = {
    "sk_microplate": N_("Sandell–Kolthoff, microplate"),
    "ammonium_persulfate": N_("ammonium persulfate digestion"),
    "icp_ms": N_("ICP-MS"),
    "titration": N_("titration"),
    "other": N_("other method"),
}
MEASURAND_LABELS: dict[str, str] = {
    "uic": N_("urinary iodine concentration"),
    "salt_iodine": N_("iodine content of salt"),
}
SCORE_NAMES: dict[str, str] = {"z": "z", "z_prime": "z′"}
DASH = "—"


# --- formatting -----------------------------------------------------------------------------------


def _unit(round_: RoundInfo, tr: Translator) -> str:
    return label(UNITS, round_.unit, tr)


def _value(value: float | None, round_: RoundInfo, tr: Translator) -> str:
    return DASH if value is None else number(value, tr, round_.digits)


def _spread(value: float, round_: RoundInfo, tr: Translator) -> str:
    """σ_pt and u(x_pt) with one decimal more than the values: the limits x_pt ± 2σ_pt a reader
    works out from them then agree with the charts' to the values' precision."""
    return number(value, tr, round_.digits + 1)


def _score(value: float | None, tr: Translator) -> str:
    """A score as every EQA document prints it: two decimals (ISO 13528 reports)."""
    return DASH if value is None else number(value, tr, 2)


def _class(value: str | None, tr: Translator) -> str:
    return DASH if value is None else label(CLASS_LABELS, value, tr)


def _verdict(passed: bool | None, tr: Translator) -> str:
    if passed is None:
        return tr.gettext("not tested")
    return tr.gettext("meets the criterion") if passed else \
        tr.gettext("does not meet the criterion")


def _moment(when: datetime, tr: Translator) -> str:
    """The issue time as the documents print it: date (DD.MM.YYYY in ru/kk) and HH:MM with the
    zone it was given in."""
    zone = when.strftime("%Z")
    return f"{date_text(when.date(), tr)} {when:%H:%M}" + (f" {zone}" if zone else "")


def _day(day: date | None, tr: Translator) -> str:
    return DASH if day is None else date_text(day, tr)


def _parameter(value: float, tr: Translator) -> str:
    """A configured parameter as typed (no rounding), with the decimal comma in ru/kk."""
    text = format(value, "g")
    return text.replace(".", ",") if tr.kz_conventions else text


def sigma_rule_text(round_: RoundInfo, tr: Translator) -> str:
    """The programme's σ_pt rule in words (configuration, printed in every report). A rule
    without its parameters is an error, never printed as another rule."""
    if round_.sigma_kind == "robust":
        return tr.gettext("robust standard deviation s* of the participants' results "
                          "(ISO 13528, Algorithm A)")
    if round_.sigma_kind == "percent" and round_.sigma_percent is not None:
        return tr.gettext("%(percent)s %% of the assigned value (fitness for purpose)",
                          percent=_parameter(round_.sigma_percent, tr))
    if round_.sigma_kind == "linear" and round_.sigma_a is not None \
            and round_.sigma_b is not None:
        return tr.gettext("%(a)s %(unit)s + %(b)s × xₚₜ (fitness for purpose)",
                          a=_parameter(round_.sigma_a, tr), b=_parameter(round_.sigma_b, tr),
                          unit=_unit(round_, tr))
    raise ValueError(f"the σ_pt rule {round_.sigma_kind!r} lacks its parameters")


def _heading(round_: RoundInfo, tr: Translator) -> str:
    return tr.gettext("%(programme)s, round %(round)s", programme=round_.programme_name,
                      round=round_.round_code)


def _facts(pairs: Sequence[tuple[str, str]], st: _Styles) -> Table:
    table = Table([[Paragraph(escape(k), st.body), Paragraph(escape(v), st.body)]
                   for k, v in pairs], colWidths=[55 * mm, 125 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), st.font),  # else Helvetica, unembedded, is listed
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
    ]))
    return table


def _round_facts(round_: RoundInfo, issue: IssueInfo, tr: Translator) -> list[tuple[str, str]]:
    pairs = [
        (tr.gettext("Programme"), f"{round_.programme_name} ({round_.programme_code})"),
        (tr.gettext("Measurand"),
         f"{label(MEASURAND_LABELS, round_.measurand, tr)}, {_unit(round_, tr)}"),
        (tr.gettext("Round"), round_.round_code),
        (tr.gettext("Dispatch date"), _day(round_.dispatch_date, tr)),
        (tr.gettext("Result deadline"), _day(round_.deadline, tr)),
        (tr.gettext("Assigned value"), label(SOURCE_LABELS, round_.assigned_value_method, tr)),
        (tr.gettext("Standard deviation for proficiency assessment σₚₜ"),
         sigma_rule_text(round_, tr)),
    ]
    if round_.provider:
        pairs.insert(0, (tr.gettext("Proficiency testing provider"), round_.provider))
    return pairs + _issue_facts(issue, tr)


def _issue_facts(issue: IssueInfo, tr: Translator) -> list[tuple[str, str]]:
    pairs = [(tr.gettext("Issued"), _moment(issue.issued_at, tr)),
             (tr.gettext("Version"), str(issue.version)),
             (tr.gettext("Issued by"), issue.issued_by)]
    if issue.revision_note:
        pairs.append((tr.gettext("Changes since the previous version"), issue.revision_note))
    if issue.audit_seal:
        pairs.append((tr.gettext("Audit trail at issue (last sealed event, SHA-256 seal)"),
                      issue.audit_seal))
    return pairs


def _material_name(material: Material) -> str:
    return f"{material.code} ({material.level})" if material.level else material.code


def _assigned_table(round_: RoundInfo, materials: Sequence[Material], st: _Styles,
                    tr: Translator) -> list:
    unit = _unit(round_, tr)
    rows = [[tr.gettext("Material"), tr.gettext("xₚₜ, %(unit)s", unit=unit),
             tr.gettext("u(xₚₜ), %(unit)s", unit=unit), tr.gettext("σₚₜ, %(unit)s", unit=unit),
             tr.gettext("Source of the assigned value"), tr.gettext("Scored with"),
             tr.gettext("Homogeneity"), tr.gettext("Stability")]]
    for m in materials:
        source = label(SOURCE_LABELS, m.source, tr)
        if m.p is not None:
            source += f", p = {m.p}"
        if m.source_note:
            source += f"; {m.source_note}"
        rows.append([_material_name(m), _value(m.x_pt, round_, tr), _spread(m.u_x_pt, round_, tr),
                     _spread(m.sigma_pt, round_, tr), source,
                     SCORE_NAMES["z_prime" if m.uses_z_prime else "z"],
                     _verdict(m.homogeneity_passed, tr), _verdict(m.stability_passed, tr)])
    story: list = [_table(rows, [24 * mm, 18 * mm, 18 * mm, 18 * mm, 52 * mm, 14 * mm,
                                 18 * mm, 18 * mm], st)]
    for m in materials:
        if m.uses_z_prime:
            story.append(Paragraph(escape(tr.gettext(
                "Material %(material)s: the uncertainty of the assigned value is large, u(xₚₜ) "
                "= %(u)s > 0.3σₚₜ = %(limit)s %(unit)s, so its results are scored with z′, "
                "which takes it into account.", material=m.code, u=_spread(m.u_x_pt, round_, tr),
                limit=number(0.3 * m.sigma_pt, tr, round_.digits + 1), unit=unit)), st.body))
    return story


def _score_definitions(st: _Styles, tr: Translator) -> list:
    lines = [
        tr.gettext("z = (x − xₚₜ) / σₚₜ; z′ = (x − xₚₜ) / √(σₚₜ² + u(xₚₜ)²), used where "
                   "u(xₚₜ) > 0.3σₚₜ; ζ = (x − xₚₜ) / √(u(x)² + u(xₚₜ)²), given where the "
                   "laboratory reported its standard uncertainty u(x); Eₙ = (x − xₚₜ) / "
                   "√(U(x)² + U(xₚₜ)²) with the expanded uncertainties U, given where it also "
                   "stated its coverage factor (|Eₙ| ≤ 1 satisfactory)."),
        tr.gettext("Classes (ISO 13528): |score| ≤ 2 satisfactory; 2 < |score| < 3 "
                   "questionable; |score| ≥ 3 unsatisfactory."),
    ]
    return [Paragraph(escape(line), st.small) for line in lines]


def _results_rows(round_: RoundInfo, results: Sequence[LabResult], tr: Translator, *,
                  first: str, first_value: Callable[[LabResult], str]) -> list[list[str]]:
    unit = _unit(round_, tr)
    rows = [[first, tr.gettext("Material"), tr.gettext("Method"),
             tr.gettext("Result, %(unit)s", unit=unit), tr.gettext("u(x), %(unit)s", unit=unit),
             "z", "z′", "ζ", "Eₙ", tr.gettext("Class"), tr.gettext("Class of ζ / Eₙ")]]
    for r in results:
        uncertain = (DASH if r.zeta_class is None and r.en_class is None else
                     f"{_class(r.zeta_class, tr)} / {_class(r.en_class, tr)}")
        rows.append([first_value(r), r.material, label(METHOD_LABELS, r.method, tr),
                     _value(r.value, round_, tr) + (" †" if r.late else ""),
                     _value(r.u_x, round_, tr), _score(r.z, tr), _score(r.z_prime, tr),
                     _score(r.zeta, tr), _score(r.en, tr), _class(r.score_class, tr), uncertain])
    return rows


_RESULT_WIDTHS = [16 * mm, 17 * mm, 24 * mm, 17 * mm, 14 * mm, 12 * mm, 12 * mm, 12 * mm,
                  12 * mm, 22 * mm, 22 * mm]


def _late_note(results: Sequence[LabResult], st: _Styles, tr: Translator) -> list:
    if not any(r.late for r in results):
        return []
    return [Paragraph(escape(tr.gettext("† Submitted after the result deadline.")), st.small)]


def _figure(figure: Figure, st: _Styles, tr: Translator) -> list:
    """A chart with its alternative text printed under it."""
    return [figure.drawing, Paragraph(escape(tr.gettext("Chart description: %(text)s",
                                                        text=figure.alt)), st.small),
            Spacer(1, 3 * mm)]


def _comments(comments: Sequence[str], st: _Styles, tr: Translator) -> list:
    if not comments:
        return []
    return [Paragraph(escape(tr.gettext("Comments")), st.h1),
            *[Paragraph(escape(c), st.body) for c in comments]]


def _document(buffer: io.BytesIO, title: str, page: tuple[float, float]) -> SimpleDocTemplate:
    return SimpleDocTemplate(buffer, pagesize=page, invariant=1, leftMargin=15 * mm,
                             rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=16 * mm,
                             title=title, author="IodineLIMS", creator="IodineLIMS")


def _build(story: list, *, title: str, footer: str, tr: Translator) -> bytes:
    """An A4 document with the monitoring report's footer: ``footer`` and "page X of Y"."""
    buffer = io.BytesIO()
    canvas_class = type("EqaCanvas", (_NumberedCanvas,), {"footer": (tr, footer)})
    _document(buffer, title, A4).build(_flatten(story), canvasmaker=canvas_class)
    return buffer.getvalue()


def _footer(round_: RoundInfo, issue: IssueInfo, tr: Translator, who: str = "") -> str:
    parts = [round_.programme_code, round_.round_code, *([who] if who else []),
             f"{tr.gettext('Version')} {issue.version}", date_text(issue.issued_at.date(), tr)]
    return " · ".join(parts)


# --- the per-laboratory report --------------------------------------------------------------------


def _share_satisfactory(points: Sequence[HistoryPoint], tr: Translator) -> str | None:
    if not points or any(p.score_class is None for p in points):
        return None
    good = sum(p.score_class == "satisfactory" for p in points)
    return tr.gettext("Satisfactory scores over these rounds: %(good)s of %(total)s "
                      "(%(pct)s %%).", good=good, total=len(points),
                      pct=number(100 * good / len(points), tr, 0))


def lab_report_pdf(report: LabReport, *, lang: str,
                   catalogue: Catalogue | None = None) -> bytes:
    """The per-laboratory report as PDF bytes in ``lang`` (ru|kk|en): its results per material
    with the assigned values (uncertainty, source), σ_pt, z/z′/ζ and classes, its scores over
    rounds, and the provider's comments. Refuses results or history of another laboratory."""
    tr = translator(check_language(lang), catalogue)
    strangers = sorted({r.lab_code for r in report.results} - {report.lab_code})
    if strangers:
        raise ValueError(f"a laboratory's report carries only its own results, got other codes "
                         f"{strangers}")
    materials = {m.code for m in report.materials}
    unknown = sorted({r.material for r in report.results} - materials)
    if unknown:
        raise ValueError(f"results for materials not in the round: {unknown}")
    st, round_ = _Styles(), report.round
    title = tr.gettext("Proficiency testing: report for laboratory %(code)s",
                       code=report.lab_code)
    story: list = [
        Paragraph(escape(tr.gettext("External quality assessment")), st.h2),
        Paragraph(escape(title), st.title),
        Paragraph(escape(_heading(round_, tr)), st.h2),
        Paragraph(escape(tr.gettext(
            "Confidential: this report is addressed to the laboratory with code %(code)s only. "
            "Other participants are not named; each knows only its own code.",
            code=report.lab_code)), st.body),
        _facts(_round_facts(round_, report.issue, tr) + [
            (tr.gettext("Laboratory code"), report.lab_code),
            (tr.gettext("Participating laboratories"), str(report.participants))], st),
        Paragraph(escape(tr.gettext("Assigned values")), st.h1),
        *_assigned_table(round_, report.materials, st, tr),
        Paragraph(escape(tr.gettext("Your results and scores")), st.h1),
    ]
    order = {m.code: i for i, m in enumerate(report.materials)}
    results = sorted(report.results, key=lambda r: order[r.material])
    if results:
        rows = _results_rows(round_, results, tr, first=tr.gettext("Sample code"),
                             first_value=lambda r: r.sample_code or DASH)
        story += [_table(rows, _RESULT_WIDTHS, st), *_late_note(results, st, tr)]
    else:
        story.append(Paragraph(escape(tr.gettext("The laboratory reported no results in this "
                                                 "round.")), st.body))
    story += _score_definitions(st, tr)
    story.append(Paragraph(escape(tr.gettext("Scores over rounds")), st.h1))
    history = sorted(report.history, key=lambda p: p.round_date)
    if history:
        marks = [HistoryMark(p.round_code, p.material, p.score) for p in history]
        story += _figure(history_chart(
            marks, tr=tr, title=tr.gettext("Laboratory %(code)s: scores by round",
                                           code=report.lab_code),
            score_name=tr.gettext("z or z′ score")), st, tr)
        share = _share_satisfactory(history, tr)
        if share:
            story.append(Paragraph(escape(share), st.body))
    else:
        story.append(Paragraph(escape(tr.gettext("No scores yet.")), st.body))
    story += _comments(report.comments, st, tr)
    return _build(story, title=title, tr=tr,
                  footer=_footer(round_, report.issue, tr, report.lab_code))


# --- the round summary ----------------------------------------------------------------------------


def round_summary_pdf(summary: RoundSummary, *, lang: str,
                      catalogue: Catalogue | None = None) -> bytes:
    """The round summary as PDF bytes in ``lang`` (ru|kk|en), participants by code only: per
    material the distribution of results against x_pt and the ±2σ_pt/±3σ_pt limits, a Youden
    plot of ``youden_pair``, every code's results and scores, method-group statistics and the
    methods used."""
    tr = translator(check_language(lang), catalogue)
    st, round_ = _Styles(), summary.round
    unit = _unit(round_, tr)
    by_code = {m.code: m for m in summary.materials}
    unknown = sorted({r.material for r in summary.results} - set(by_code))
    if unknown:
        raise ValueError(f"results for materials not in the round: {unknown}")
    codes = sorted({r.lab_code for r in summary.results})
    title = tr.gettext("Proficiency testing: round summary")
    story: list = [
        Paragraph(escape(tr.gettext("External quality assessment")), st.h2),
        Paragraph(escape(title), st.title),
        Paragraph(escape(_heading(round_, tr)), st.h2),
        Paragraph(escape(tr.gettext(
            "Participants are identified by their code of this round only; each laboratory "
            "knows only its own code.")), st.body),
        _facts(_round_facts(round_, summary.issue, tr) + [
            (tr.gettext("Participating laboratories"), str(len(codes)))], st),
        Paragraph(escape(tr.gettext("Assigned values")), st.h1),
        *_assigned_table(round_, summary.materials, st, tr),
        Paragraph(escape(tr.gettext("Results by material")), st.h1),
    ]
    for m in summary.materials:
        values = [r.value for r in summary.results if r.material == m.code]
        story.append(Paragraph(escape(tr.gettext("Material %(material)s", material=_material_name(
            m))), st.h2))
        story += _figure(results_chart(
            values, m.x_pt, m.sigma_pt, tr=tr, unit=unit, digits=round_.digits,
            title=tr.gettext("Material %(material)s: results, %(unit)s (n = %(n)s)",
                             material=m.code, unit=unit, n=len(values))), st, tr)
    pair = summary.youden_pair
    if pair is not None and pair[0] in by_code and pair[1] in by_code:
        a, b = by_code[pair[0]], by_code[pair[1]]
        values_a = {r.lab_code: r.value for r in summary.results if r.material == a.code}
        values_b = {r.lab_code: r.value for r in summary.results if r.material == b.code}
        points = [YoudenPoint(code, values_a[code], values_b[code]) for code in codes
                  if code in values_a and code in values_b]
        story.append(Paragraph(escape(tr.gettext("Youden plot")), st.h1))
        story += _figure(youden_chart(
            points, (a.code, a.x_pt, a.sigma_pt), (b.code, b.x_pt, b.sigma_pt), tr=tr, unit=unit,
            digits=round_.digits, title=tr.gettext(
                "Materials %(a)s and %(b)s: each laboratory's pair of results",
                a=a.code, b=b.code)), st, tr)
        story.append(Paragraph(escape(tr.gettext(
            "Points along the dashed diagonal through the assigned values show a systematic "
            "error (both results high or both low); points away from it, a random one.")),
            st.small))
    story.append(Paragraph(escape(tr.gettext("Results and scores of all participants")), st.h1))
    order = {m.code: i for i, m in enumerate(summary.materials)}
    results = sorted(summary.results, key=lambda r: (r.lab_code, order[r.material]))
    if results:
        rows = _results_rows(round_, results, tr, first=tr.gettext("Laboratory code"),
                             first_value=lambda r: r.lab_code)
        story += [_table(rows, _RESULT_WIDTHS, st), *_late_note(results, st, tr)]
    else:
        story.append(Paragraph(escape(tr.gettext("No results were submitted.")), st.body))
    story += _score_definitions(st, tr)
    story.append(Paragraph(escape(tr.gettext("Method-group statistics")), st.h1))
    if summary.method_groups:
        rows = [[tr.gettext("Material"), tr.gettext("Method"), "n",
                 tr.gettext("Median, %(unit)s", unit=unit), tr.gettext("Mean, %(unit)s", unit=unit),
                 tr.gettext("SD, %(unit)s", unit=unit), "x*", "s*"]]
        groups = sorted(summary.method_groups, key=lambda g: (order.get(g.material, 0), g.method))
        rows += [[g.material, label(METHOD_LABELS, g.method, tr), str(g.n),
                  _value(g.median, round_, tr), _value(g.mean, round_, tr),
                  _value(g.sd, round_, tr), _value(g.x_star, round_, tr),
                  _value(g.s_star, round_, tr)] for g in groups]
        story += [_table(rows, [22 * mm, 40 * mm, 10 * mm, 22 * mm, 22 * mm, 22 * mm, 21 * mm,
                                21 * mm], st),
                  Paragraph(escape(tr.gettext(
                      "x* and s*: robust mean and standard deviation of the group (ISO 13528, "
                      "Algorithm A), given where the group has enough results.")), st.small)]
    else:
        story.append(Paragraph(escape(tr.gettext("No method group has results.")), st.body))
    story += [
        Paragraph(escape(tr.gettext("Methods")), st.h1),
        Paragraph(escape(tr.gettext(
            "Assigned value: %(source)s. Standard deviation for proficiency assessment σₚₜ: "
            "%(rule)s.", source=label(SOURCE_LABELS, round_.assigned_value_method, tr),
            rule=sigma_rule_text(round_, tr))), st.body),
        Paragraph(escape(tr.gettext(
            "Consensus values: ISO 13528 Algorithm A (iterated robust mean x* and standard "
            "deviation s*), with standard uncertainty u(xₚₜ) = 1.25·s*/√p for p results.")),
            st.body),
        Paragraph(escape(tr.gettext(
            "Distributions: histogram in intervals of σₚₜ/2 and a Gaussian kernel density "
            "with Silverman's bandwidth h = 0.9·min(s, IQR/1.34)·n^(−1/5) (σₚₜ/4 where the "
            "results have no spread).")), st.body),
    ]
    story += _comments(summary.comments, st, tr)
    return _build(story, title=title, tr=tr, footer=_footer(round_, summary.issue, tr))


# --- the certificate ------------------------------------------------------------------------------


def certificate_pdf(certificate: Certificate, *, lang: str,
                    catalogue: Catalogue | None = None) -> bytes:
    """The certificate of participation as PDF bytes in ``lang`` (ru|kk|en), one landscape page:
    the laboratory, the round and programme, its dates, and what the laboratory reported. It
    states participation, not performance (the per-laboratory report does that)."""
    tr = translator(check_language(lang), catalogue)
    st, round_, issue = _Styles(), certificate.round, certificate.issue
    centre = ParagraphStyle("centre", parent=st.body, alignment=1, fontSize=12, leading=17)
    big = ParagraphStyle("big", parent=st.title, alignment=1, fontSize=26, leading=32)
    name = ParagraphStyle("name", parent=st.h1, alignment=1, fontSize=18, leading=23)
    title = tr.gettext("Certificate of participation")
    lab = certificate.lab_name + (f", {certificate.country}" if certificate.country else "")
    story: list = [
        Spacer(1, 12 * mm),
        Paragraph(escape(round_.provider), centre) if round_.provider else Spacer(1, 1),
        Paragraph(escape(title), big),
        Spacer(1, 4 * mm),
        Paragraph(escape(tr.gettext("This certifies that the laboratory")), centre),
        Paragraph(escape(lab), name),
        Paragraph(escape(tr.gettext(
            "took part in round %(round)s of the proficiency testing programme «%(programme)s» "
            "(%(measurand)s).", round=round_.round_code, programme=round_.programme_name,
            measurand=label(MEASURAND_LABELS, round_.measurand, tr))), centre),
        Spacer(1, 3 * mm),
        Paragraph(escape(tr.gettext(
            "Materials dispatched on %(dispatch)s; results due by %(deadline)s. Materials "
            "received: %(received)s; reported: %(reported)s.", dispatch=_day(
                round_.dispatch_date, tr), deadline=_day(round_.deadline, tr),
            received=certificate.materials_received,
            reported=certificate.materials_reported)), centre),
        Paragraph(escape(tr.gettext("Laboratory code in this round: %(code)s",
                                    code=certificate.lab_code)), centre),
        Spacer(1, 8 * mm),
        Paragraph(escape(tr.gettext(
            "This certificate confirms participation only; the laboratory's performance is "
            "stated in its report of the round.")), ParagraphStyle(
                "note", parent=st.body, alignment=1)),
        Spacer(1, 10 * mm),
        Paragraph(escape(f"{tr.gettext('Issued')}: {date_text(issue.issued_at.date(), tr)} · "
                         f"{tr.gettext('Version')} {issue.version}"), centre),
    ]
    if certificate.signatory:
        story += [Spacer(1, 12 * mm), Paragraph("_" * 40, centre),
                  Paragraph(escape(certificate.signatory), centre)]
    footer = _footer(round_, issue, tr)

    def draw_footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFont(st.font, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(15 * mm, 9 * mm, footer)

    buffer = io.BytesIO()  # one page: a footer without "page X of Y"
    _document(buffer, title, landscape(A4)).build(story, onFirstPage=draw_footer,
                                                  onLaterPages=draw_footer, canvasmaker=Canvas)
    return buffer.getvalue()
