"""The reports' words, and the translator that renders them in the report's language.

The words are English message ids marked with the no-op ``N_`` (or written as
``tr.gettext(...)`` / ``tr.ngettext(...)`` at the call site), so ``pybabel extract`` finds them
and they are translated in the same gettext catalogues as the application (lims/translations).
A document takes a ``Translator``: the report's language plus a catalogue object with
``gettext``/``ngettext`` — the LIMS passes the Flask-Babel translations of the report's language;
without one a report is in English, so ``reports/`` is tested without catalogues and never
imports Flask-Babel. Population wording only (domain.md §1.1): "% of samples below 100 µg/L",
never "% deficient".

Region names are not kept here: they come with the data (a column) or a mapping passed by the
caller, so the region dimension stays versioned in one place (the LIMS).
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from reports.criteria import SaltCriteria, Scheme

LANGUAGES = ("ru", "kk", "en")


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when a document prints it."""
    return message


class Catalogue(Protocol):
    """What a report needs of a gettext catalogue (``gettext.NullTranslations``,
    ``babel.support.Translations``, Flask-Babel's ``get_translations()``)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}; choose one of {LANGUAGES}")
    return lang


@dataclass(frozen=True)
class Translator:
    """The language of one document and the catalogue its words come from. Placeholders are
    named, %-style, as in the application: ``tr.gettext("Page %(page)s", page=2)``."""

    lang: str = "en"
    catalogue: Catalogue = field(default_factory=_gettext.NullTranslations)

    def __post_init__(self) -> None:
        check_language(self.lang)

    def gettext(self, message: str, **values: object) -> str:
        text = self.catalogue.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, num: int, **values: object) -> str:
        return self.catalogue.ngettext(singular, plural, num) % {"num": num, **values}

    @property
    def kz_conventions(self) -> bool:
        """Kazakhstan's conventions for Russian and Kazakh: decimal comma, dates DD.MM.YYYY."""
        return self.lang in ("ru", "kk")


def translator(lang: str = "en", catalogue: Catalogue | None = None) -> Translator:
    """A ``Translator`` for ``lang``; English words when no catalogue is given."""
    return Translator(lang) if catalogue is None else Translator(lang, catalogue)


_T: dict[str, str] = {
    "title": N_("Monitoring of population iodine status"),
    "subtitle": N_("Regional report: urinary iodine and iodized salt"),
    "issued": N_("Issue date"),
    "version": N_("Version"),
    "revision": N_("Changes since the previous version"),
    "dataset": N_("Dataset (SHA-256)"),
    "audit_seal": N_("Audit trail at issue (last sealed event, SHA-256 seal)"),
    "periods": N_("Periods"),
    "scheme": N_("Classification scheme"),
    "salt_criteria": N_("Salt criteria"),
    "page": N_("Page %(page)s of %(pages)s"),
    "summary": N_("Summary for decision makers"),
    "summary_intro": N_("The classification applies to populations, not to individuals: it is based on the median urinary iodine concentration (UIC) of a population group in a region."),
    "summary_line": N_("%(group)s, %(period)s: %(klass)s — %(regions)s."),
    "summary_trend": N_("%(group)s, national median UIC: %(median)s µg/L in %(period)s against %(earlier)s µg/L in %(earlier_period)s (difference %(difference)s)."),
    "ci95": N_("95 % CI"),
    "summary_salt": N_("Salt, %(period)s (%(method)s): share of samples ≥ %(adequate)s mg/kg nationally — %(pct)s; WHO target > 90 %%."),
    "national_table": N_("Pooled table"),
    "urine_by_region": N_("Urinary iodine by region"),
    "salt_by_region": N_("Iodine in household salt"),
    "regions": N_("Regions"),
    "trends": N_("Trends against earlier rounds"),
    "maps": N_("Maps"),
    "tidy_sheet": N_("Indicators (long)"),
    "tidy_caption": N_("One row per indicator, unit, group and period, for analysis."),
    "about_sheet": N_("About"),
    "about_methods": N_("Methods"),
    "about_methods_text": N_("Medians with Woodruff's design-based 95 % CI, percentages with design-based logit intervals (strata, clusters, weights); the PDF's annex gives the details and the laboratory's quality control."),
    "about_numbers": N_("Numbers"),
    "about_numbers_text": N_("Figures are stored rounded as the report prints them; a figure the data give only as an interval (results below a limit) is text, as printed."),
    "unit_of_measure": N_("Unit of measure"),
    "laboratory": N_("Laboratory"),
    "chart_salt_below": N_("%(target)s %% or less: below target"),
    "map_uic": N_("Median UIC by region, µg/L: %(group)s, %(period)s"),
    "map_salt": N_("Share of salt samples with at least %(cut)s mg/kg iodine by region: %(period)s"),
    "map_salt_met": N_("More than %(target)s %%: target met"),
    "map_salt_below": N_("%(low)s–%(target)s %%: below target"),
    "map_salt_far": N_("Less than %(low)s %%"),
    "map_merged": N_("Dashed: a 2022 boundary within a unit this survey still counted as one"),
    "map_source": N_("Boundaries of the 20 units as of 2022: %(source)s; simplified for print. Albers equal-area projection (standard parallels 44° and 52° N)."),
    "map_boundaries": N_("Map boundaries"),
    "charts": N_("Charts"),
    "annex": N_("Annex: methods and quality control"),
    "region": N_("Region"),
    "group": N_("Group"),
    "period": N_("Period"),
    "method": N_("Method"),
    "n": N_("n analysed"),
    "collected": N_("collected"),
    "rejected": N_("rejected"),
    "median_ci": N_("Median (95 % CI), µg/L"),
    "iqr": N_("P25–P75"),
    "pct_below": N_("%% of samples < %(cut)s"),
    "pct_at_least": N_("%% of samples ≥ %(cut)s"),
    "pct_below_ci": N_("%% of samples < %(cut)s (95 %% CI)"),
    "pct_at_least_ci": N_("%% of samples ≥ %(cut)s (95 %% CI)"),
    "class": N_("Class"),
    "flag": N_("Median ≥ 100 and ≤ 20 % < 50"),
    "yes": N_("yes"),
    "no": N_("no"),
    "undecided": N_("undecided"),
    "pct_any": N_("% with any iodine (> 0)"),
    "pct_adequate": N_("%% ≥ %(cut)s mg/kg"),
    "pct_non_iodized": N_("%% < %(cut)s mg/kg"),
    "pct_household": N_("%% within %(low)s–%(high)s mg/kg (WHO household range)"),
    "pct_national": N_("%% within %(low)s–%(high)s mg/kg (national standard)"),
    "median_iqr_salt": N_("Median (P25–P75), mg/kg"),
    "earlier": N_("Earlier"),
    "median": N_("Median, µg/L"),
    "earlier_median": N_("Earlier median"),
    "difference": N_("Difference in medians (95 % CI)"),
    "no_data": N_("No data."),
    "chart_median": N_("Median UIC by region (95 %% CI), µg/L: %(group)s, %(period)s"),
    "chart_hist": N_("UIC distribution, µg/L: %(group)s, %(period)s (n = %(n)s)"),
    "chart_salt": N_("Salt samples ≥ %(cut)s mg/kg by region, %%: %(period)s"),
    "chart_trend": N_("Median UIC by round, µg/L: %(group)s"),
    "legend": N_("Legend"),
    "censored_note": N_("A result “< x” lies between 0 and x (below the limit of detection, or below a limit raised by dilution). A median, percentile or CI end that depends on such results is printed as what the data establish: “< x” (or “≤ x”) where it lies below x, “a…b” where it lies between a and b; a class is given where that range lies within one class. A percentage range “a–b” means some results below a limit cannot be placed against that cut-off."),
    "few_note": N_("† Fewer than %(min)s samples analysed: the median and its class are indicative only."),
    "design_note": N_("95 %% CI of the median: Woodruff's design-based interval — the interval of the estimated distribution function at the median, from strata, clusters (primary sampling units) and weights, mapped back through the weighted distribution — as computed by the R package survey (svyquantile); percentages: design-based logit interval (svyciprop). t quantiles on (clusters − strata) degrees of freedom, clusters counted by their effective number when their weights differ; a stratum with a single cluster is centred on the overall mean. Chosen over a cluster bootstrap, which with 2–3 clusters per region has only a few possible outcomes and gives intervals far too narrow. No interval is given for fewer than %(min_psus)s clusters in a region (below that, published intervals covered the true median in fewer than 93 %% of simulated surveys) or where the design cannot bound the median; pooled rows are stratified by region."),
    "design_minimums": N_("Class withheld below %(min_class)s analysed samples; provisional below %(min_final)s or without an interval. The summary ranks final classes only."),
    "weighting_self": N_("Weights: none were given for this round, so the survey is assumed self-weighting (every sample of a stratum counts equally, strata pooled in proportion to their samples)."),
    "weighting_design": N_("Weights: design weights of the clusters (inverse selection probabilities)."),
    "weighting_population": N_("Weights: design weights of the clusters, scaled so that each stratum counts by its population share (the round's reference table of populations)."),
    "population_sources": N_("Populations of the strata"),
    "ci_unbounded": N_("interval unbounded"),
    "provisional": N_("provisional"),
    "class_withheld": N_("withheld (too few samples)"),
    "summary_unranked": N_("%(group)s, %(period)s, not classified for lack of clusters or samples: %(regions)s."),
    "population_note": N_("Shares of samples below cut-offs describe the sample distribution; they are not a prevalence of deficiency."),
    "annex_methods": N_("Methods"),
    "annex_calibration": N_("Calibration range"),
    "annex_lod": N_("Limit of detection"),
    "annex_controls": N_("Control materials"),
    "annex_control": N_("Control"),
    "annex_mean": N_("Mean"),
    "annex_cv": N_("CV, %"),
    "annex_rejected_runs": N_("Rejected runs"),
    "annex_eqa": N_("External quality assessment"),
    "annex_none": N_("Not supplied."),
    "annex_eqa_scheme": N_("Scheme"),
    "annex_eqa_round": N_("Round"),
    "annex_eqa_material": N_("Material"),
    "annex_eqa_mean": N_("Our mean"),
    "annex_eqa_within": N_("Within limits"),
    "annex_eqa_verdict": N_("Scheme's verdict"),
    "annex_eqa_pending": N_("awaiting targets"),
    "annex_eqa_note": N_("The latest round of each external scheme received in the report's period. Within limits: our mean against the scheme's target and the acceptance limit configured for the scheme."),
    "annex_equipment": N_("Equipment used"),
    "annex_equipment_item": N_("Equipment"),
    "annex_equipment_status": N_("Status"),
    "annex_equipment_calibration": N_("Calibration"),
    "annex_unit": N_("Unit"),
    "annex_lod_short": N_("LOD"),
    "annex_loq_short": N_("LOQ"),
    "annex_runs": N_("Analytical runs of the report's samples"),
    "annex_runs_n": N_("Runs"),
    "annex_samples": N_("Samples"),
    "annex_no_rejected": N_("No run with the report's samples was rejected."),
    "annex_level": N_("Level"),
    "annex_lot": N_("Lot"),
    "annex_bias": N_("Bias, %"),
    "annex_violations": N_("Westgard rule violations"),
    "annex_controls_note": N_("Targets: the lot's assigned mean and SD; observed: the control values of the accepted runs that analysed the report's samples. Violations are counted per rule over those runs."),
    "annex_replicates": N_("Replicate agreement"),
    "annex_with_replicates": N_("Results with replicates"),
    "annex_spread_median": N_("Spread, median"),
    "annex_spread_p95": N_("Spread, 95th percentile"),
    "annex_tolerance": N_("Tolerance"),
    "annex_within": N_("Within tolerance, %"),
    "annex_replicates_note": N_("Spread: the CV (%) of a result's replicates, or their absolute difference, as the method defines its tolerance."),
    "annex_instruments": N_("Instruments"),
    "annex_instrument": N_("Instrument"),
    "annex_model": N_("Model"),
    "annex_serial": N_("Serial number"),
    "annex_no_instruments": N_("No instrument is recorded for these runs."),
    "rtk_note": N_("Rapid test kits (RTK) show presence or absence of iodine only; the share ≥ 15 mg/kg comes from titration or WYD."),
    "national": N_("Republic of Kazakhstan"),
    "uic": N_("UIC"),
    "salt": N_("Salt"),
    "below_lod": N_("< LOD"),
    "annex_target": N_("Target"),
    "annex_run": N_("Run"),
    "annex_date": N_("Date"),
    "annex_reason": N_("Reason"),
    "ci_lower": N_("95 % CI, lower bound"),
    "ci_upper": N_("95 % CI, upper bound"),
    "pct_ci_lower": N_("%(pct)s: 95 %% CI, lower bound"),
    "pct_ci_upper": N_("%(pct)s: 95 %% CI, upper bound"),
    "median_salt": N_("Median, mg/kg"),
    "median_difference": N_("Difference in medians, µg/L"),
    "trends_sheet": N_("Trends"),
    "headline_title": N_("%(where)s: headline figures, %(period)s"),
    "headline_uic": N_("Median UIC, %(group)s"),
    "headline_salt": N_("Households with salt ≥ %(cut)s mg/kg"),
    "headline_ci": N_("95 %% CI %(low)s–%(high)s µg/L"),
    "headline_no_ci": N_("No 95 %% CI: %(why)s"),
    "headline_change": N_("Against %(earlier)s (%(median)s µg/L): %(difference)s µg/L, 95 %% CI %(low)s to %(high)s — %(direction)s"),
    "headline_change_no_ci": N_("Against %(earlier)s (%(median)s µg/L): %(difference)s µg/L — no interval for the difference"),
    "headline_target": N_("WHO target: more than %(target)s %% of households"),
    "headline_national_range": N_("Within the national standard %(low)s–%(high)s mg/kg: %(pct)s %%"),
    "headline_verdict": N_("%(status)s · %(period)s · %(group)s · n = %(n)s"),
    "headline_scorecard": N_("Each verdict line reads as a row of the Iodine Global Network's Global Scorecard: status, survey, population group, number of samples analysed."),
    "indicator": N_("Indicator"),
    "estimate": N_("Estimate"),
    "status": N_("Status"),
    "verdict": N_("Verdict"),
    "change_vs": N_("Change against the previous round, µg/L"),
    "headline_sheet": N_("Headline figures"),
    "ci_censored": N_("the median lies below a limit of detection"),
    "ci_no_data": N_("no samples analysed"),
}

#: The IGN Global Scorecard's status categories (``reports.headline.SCORECARD_STATUS``) and the
#: salt target's outcome, as the headline prints them.
STATUS_LABELS: dict[str, str] = {
    "insufficient": N_("insufficient"),
    "adequate": N_("adequate"),
    "excessive": N_("excessive"),
    "withheld": N_("withheld (too few samples)"),
    "target_met": N_("target met"),
    "below_target": N_("below target"),
}

#: Analytical run statuses (the LIMS's ``RunStatus``) as the QA annex prints them.
RUN_STATUS_LABELS: dict[str, str] = {
    "open": N_("open"),
    "measured": N_("measured"),
    "calculated": N_("calculated"),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
}

#: The open-data indicators (``reports.indicators.INDICATORS``) as the workbook names them.
INDICATOR_LABELS: dict[str, str] = {
    "uic_median": N_("Median UIC"),
    "uic_pct_below_20": N_("Samples < 20 µg/L, %"),
    "uic_pct_below_50": N_("Samples < 50 µg/L, %"),
    "uic_pct_below_cutoff": N_("Samples below the group's insufficiency cut-off, %"),
    "uic_pct_at_least_high": N_("Samples at or above the group's excess cut-off, %"),
    "salt_pct_any_iodine": N_("% with any iodine (> 0)"),
    "salt_pct_adequate": N_("Salt samples ≥ 15 mg/kg, %"),
    "salt_pct_non_iodized": N_("Salt samples < 5 mg/kg, %"),
    "salt_median": N_("Median, mg/kg"),
}

#: The change of a median against the previous round (``reports.headline.Change.direction``).
CHANGE_LABELS: dict[str, str] = {
    "increase": N_("an increase"),
    "decrease": N_("a decrease"),
    "no_change": N_("no significant change"),
    "unknown": N_("no interval"),
}

#: Units as the LIMS stores them, so a caller's unit can be printed in the report's language.
UNITS: dict[str, str] = {"µg/L": N_("µg/L"), "mg/kg": N_("mg/kg")}

#: The printed name of each classification scheme of ``reports.criteria.SCHEMES``, by code.
SCHEME_NAMES: dict[str, str] = {
    "WHO2007": N_(
        "WHO/UNICEF/ICCIDD 2007: school-age children and adults, 6 classes (<20, 20–49, 50–99, "
        "100–199, 200–299, ≥300 µg/L); pregnant women <150, 150–249, 250–499, ≥500; lactating "
        "women and children under 2 years <100, ≥100"
    ),
    "IGN3": N_(
        "IGN, 3 classes: school-age children and adults <100, 100–299, ≥300 µg/L; pregnant "
        "women, lactating women and children under 2 years as in WHO 2007"
    ),
}

CLASS_LABELS: dict[str, str] = {
    "severe": N_("severe iodine deficiency"),
    "moderate": N_("moderate iodine deficiency"),
    "mild": N_("mild iodine deficiency"),
    "insufficient": N_("insufficient iodine intake"),
    "adequate": N_("adequate iodine intake"),
    "above": N_("above requirements"),
    "excessive": N_("excessive iodine intake"),
    "indeterminate": N_("class undetermined: results below the limit of detection leave the median spanning two classes"),
    "no_data": N_("no data"),
    "no_criteria": N_("not classified: no WHO criteria for this group"),
}

GROUP_LABELS: dict[str, str] = {
    "SAC": N_("school-age children"),
    "WRA": N_("non-pregnant women of reproductive age"),
    "C6-59": N_("children 6–59 months"),
    "ADULT": N_("adults"),
    "PW": N_("pregnant women"),
    "LW": N_("lactating women"),
    "U2": N_("children under 2 years"),
}

METHOD_LABELS: dict[str, str] = {
    "titration": N_("titration"),
    "wyd": N_("WYD checker"),
    "rtk": N_("rapid test kit"),
    "not_analysed": N_("not analysed"),
}


def sentence(text: str) -> str:
    """``text`` with its first letter upper case (sentence case in every language): group and
    class labels are lower case because they are used inside sentences too."""
    return text[:1].upper() + text[1:]


def t(tr: Translator, key: str, **values: object) -> str:
    return tr.gettext(_T[key], **values)


def scheme_name(scheme: Scheme, tr: Translator) -> str:
    """A scheme's name in the report's language; a scheme not listed prints its own name."""
    return tr.gettext(SCHEME_NAMES[scheme.code]) if scheme.code in SCHEME_NAMES else scheme.name


def salt_label(criteria: SaltCriteria, tr: Translator) -> str:
    """The salt criteria in force, as printed under the salt tables (a lab's own ``name`` wins)."""
    low, high = criteria.national_range
    return criteria.name or tr.gettext(
        "WHO ≥%(adequate)s mg/kg; <%(non_iodized)s mg/kg; national standard %(low)s–%(high)s "
        "mg/kg", adequate=f"{criteria.adequate_at_least:g}",
        non_iodized=f"{criteria.non_iodized_below:g}", low=f"{low:g}", high=f"{high:g}")


def household_range_header(criteria: SaltCriteria, tr: Translator) -> str:
    low, high = criteria.household_range
    return t(tr, "pct_household", low=f"{low:g}", high=f"{high:g}")


def national_range_header(criteria: SaltCriteria, tr: Translator) -> str:
    low, high = criteria.national_range
    return t(tr, "pct_national", low=f"{low:g}", high=f"{high:g}")


def rows_text(tr: Translator, count: int) -> str:
    return tr.ngettext("%(num)d row", "%(num)d rows", count)


def label(catalogue: Mapping[str, str], key: str, tr: Translator) -> str:
    """A class, group or method label; unknown codes are shown as they are rather than hidden."""
    return tr.gettext(catalogue[key]) if key in catalogue else key


RegionNames = Mapping[str, Mapping[str, str]]  # ISO code → {"ru": …, "kk": …, "en": …}


def region_names_from_frame(
    frame: pd.DataFrame, *, code: str = "iso_code"
) -> dict[str, dict[str, str]]:
    """Names from a table with ``name_ru``, ``name_kk``, ``name_en`` columns (as kz-regions.csv)."""
    return {
        row[code]: {lang: row[f"name_{lang}"] for lang in LANGUAGES}
        for row in frame.to_dict("records")
    }


def region_name(names: RegionNames, code: str, tr: Translator) -> str:
    if code == "national" and code not in names:
        return t(tr, "national")
    return names.get(code, {}).get(tr.lang) or code
