"""The monitoring report's words in Russian, Kazakh and English.

A plain catalogue: the report is a ministry document whose wording is reviewed as a whole, so the
strings sit together here rather than scattered as gettext calls. Population wording only
(domain.md §1.1): "% of samples below 100 µg/L", never "% deficient".

Region names are not kept here: they come with the data (a column) or a mapping passed by the
caller, so the region dimension stays versioned in one place (the LIMS).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

LANGUAGES = ("ru", "kk", "en")

_T: dict[str, dict[str, str]] = {
    "title": {
        "ru": "Мониторинг йодного обеспечения населения",
        "kk": "Халықтың йодпен қамтамасыз етілуінің мониторингі",
        "en": "Monitoring of population iodine status",
    },
    "subtitle": {
        "ru": "Региональный отчёт: йод в моче и йодированная соль",
        "kk": "Өңірлік есеп: зәрдегі йод және йодталған тұз",
        "en": "Regional report: urinary iodine and iodized salt",
    },
    "issued": {"ru": "Дата выпуска", "kk": "Шығарылған күні", "en": "Issue date"},
    "version": {"ru": "Версия", "kk": "Нұсқа", "en": "Version"},
    "dataset": {
        "ru": "Набор данных (SHA-256)",
        "kk": "Деректер жиыны (SHA-256)",
        "en": "Dataset (SHA-256)",
    },
    "rows": {"ru": "строк", "kk": "жол", "en": "rows"},
    "periods": {"ru": "Периоды", "kk": "Кезеңдер", "en": "Periods"},
    "scheme": {"ru": "Схема классификации", "kk": "Жіктеу схемасы", "en": "Classification scheme"},
    "salt_criteria": {"ru": "Критерии для соли", "kk": "Тұз өлшемшарттары", "en": "Salt criteria"},
    "page": {
        "ru": "Стр. {page} из {pages}",
        "kk": "{pages} беттің {page}-беті",
        "en": "Page {page} of {pages}",
    },
    "summary": {
        "ru": "Краткое резюме для руководителей",
        "kk": "Басшыларға арналған қысқаша түйін",
        "en": "Summary for decision makers",
    },
    "summary_intro": {
        "ru": "Классификация относится к популяции, а не к отдельным людям: по медиане "
        "концентрации йода в моче (КЙМ) группы населения в регионе.",
        "kk": "Жіктеу жеке адамдарға емес, халыққа қатысты: өңірдегі халық тобының зәрдегі йод "
        "концентрациясының (ЗЙК) медианасы бойынша.",
        "en": "The classification applies to populations, not to individuals: it is based on the "
        "median urinary iodine concentration (UIC) of a population group in a region.",
    },
    "summary_line": {
        "ru": "{group}, {period}: {klass} — {regions}.",
        "kk": "{group}, {period}: {klass} — {regions}.",
        "en": "{group}, {period}: {klass} — {regions}.",
    },
    "summary_trend": {
        "ru": "{group}, медиана КЙМ по стране: {median} мкг/л в {period} против {earlier} мкг/л "
        "в {earlier_period} (разница {difference}).",
        "kk": "{group}, ел бойынша ЗЙК медианасы: {period} — {median} мкг/л, {earlier_period} — "
        "{earlier} мкг/л (айырма {difference}).",
        "en": "{group}, national median UIC: {median} µg/L in {period} against {earlier} µg/L in "
        "{earlier_period} (difference {difference}).",
    },
    "ci95": {"ru": "95 % ДИ", "kk": "95 % СА", "en": "95 % CI"},
    "summary_salt": {
        "ru": "Соль, {period} ({method}): доля проб ≥ {adequate} мг/кг по стране — {pct}; цель ВОЗ "
        "> 90 %.",
        "kk": "Тұз, {period} ({method}): ел бойынша ≥ {adequate} мг/кг сынамалардың үлесі — {pct}; "
        "ДДҰ мақсаты > 90 %.",
        "en": "Salt, {period} ({method}): share of samples ≥ {adequate} mg/kg nationally — {pct}; "
        "WHO target > 90 %.",
    },
    "national_table": {"ru": "Сводная таблица", "kk": "Жиынтық кесте", "en": "Pooled table"},
    "urine_by_region": {
        "ru": "Йод в моче по регионам",
        "kk": "Зәрдегі йод өңірлер бойынша",
        "en": "Urinary iodine by region",
    },
    "salt_by_region": {
        "ru": "Йод в соли домохозяйств",
        "kk": "Үй шаруашылығы тұзындағы йод",
        "en": "Iodine in household salt",
    },
    "regions": {"ru": "Регионы", "kk": "Өңірлер", "en": "Regions"},
    "trends": {
        "ru": "Динамика по сравнению с предыдущими раундами",
        "kk": "Алдыңғы кезеңдермен салыстырғандағы динамика",
        "en": "Trends against earlier rounds",
    },
    "map": {
        "ru": "Карта: класс медианы КЙМ",
        "kk": "Карта: ЗЙК медианасының класы",
        "en": "Map: class of the median UIC",
    },
    "charts": {"ru": "Графики", "kk": "Графиктер", "en": "Charts"},
    "annex": {
        "ru": "Приложение: методы и контроль качества",
        "kk": "Қосымша: әдістер және сапа бақылауы",
        "en": "Annex: methods and quality control",
    },
    "region": {"ru": "Регион", "kk": "Өңір", "en": "Region"},
    "group": {"ru": "Группа", "kk": "Топ", "en": "Group"},
    "period": {"ru": "Период", "kk": "Кезең", "en": "Period"},
    "method": {"ru": "Метод", "kk": "Әдіс", "en": "Method"},
    "n": {"ru": "n анализ.", "kk": "n талд.", "en": "n analysed"},
    "collected": {"ru": "собрано", "kk": "жиналды", "en": "collected"},
    "rejected": {"ru": "отбрак.", "kk": "жарамсыз", "en": "rejected"},
    "median_ci": {
        "ru": "Медиана (95 % ДИ), мкг/л",
        "kk": "Медиана (95 % СА), мкг/л",
        "en": "Median (95 % CI), µg/L",
    },
    "iqr": {"ru": "P25–P75", "kk": "P25–P75", "en": "P25–P75"},
    "pct_below": {"ru": "% проб < {cut}", "kk": "% сынама < {cut}", "en": "% of samples < {cut}"},
    "pct_at_least": {
        "ru": "% проб ≥ {cut}",
        "kk": "% сынама ≥ {cut}",
        "en": "% of samples ≥ {cut}",
    },
    "class": {"ru": "Класс", "kk": "Класс", "en": "Class"},
    "flag": {
        "ru": "Медиана ≥ 100 и ≤ 20 % < 50",
        "kk": "Медиана ≥ 100 және ≤ 20 % < 50",
        "en": "Median ≥ 100 and ≤ 20 % < 50",
    },
    "yes": {"ru": "да", "kk": "иә", "en": "yes"},
    "no": {"ru": "нет", "kk": "жоқ", "en": "no"},
    "undecided": {"ru": "не определено", "kk": "анықталмады", "en": "undecided"},
    "pct_any": {"ru": "% с йодом (> 0)", "kk": "% йоды бар (> 0)", "en": "% with any iodine (> 0)"},
    "pct_adequate": {"ru": "% ≥ {cut} мг/кг", "kk": "% ≥ {cut} мг/кг", "en": "% ≥ {cut} mg/kg"},
    "pct_non_iodized": {"ru": "% < {cut} мг/кг", "kk": "% < {cut} мг/кг", "en": "% < {cut} mg/kg"},
    "pct_range": {
        "ru": "% в норме {low}–{high}",
        "kk": "% норма {low}–{high}",
        "en": "% within {low}–{high}",
    },
    "median_iqr_salt": {
        "ru": "Медиана (P25–P75), мг/кг",
        "kk": "Медиана (P25–P75), мг/кг",
        "en": "Median (P25–P75), mg/kg",
    },
    "earlier": {"ru": "Ранее", "kk": "Бұрын", "en": "Earlier"},
    "median": {"ru": "Медиана, мкг/л", "kk": "Медиана, мкг/л", "en": "Median, µg/L"},
    "earlier_median": {"ru": "Медиана ранее", "kk": "Бұрынғы медиана", "en": "Earlier median"},
    "difference": {
        "ru": "Разница медиан (95 % ДИ)",
        "kk": "Медианалар айырмасы (95 % СА)",
        "en": "Difference in medians (95 % CI)",
    },
    "no_data": {"ru": "Нет данных.", "kk": "Деректер жоқ.", "en": "No data."},
    "chart_median": {
        "ru": "Медиана КЙМ по регионам (95 % ДИ), мкг/л: {group}, {period}",
        "kk": "Өңірлер бойынша ЗЙК медианасы (95 % СА), мкг/л: {group}, {period}",
        "en": "Median UIC by region (95 % CI), µg/L: {group}, {period}",
    },
    "chart_hist": {
        "ru": "Распределение КЙМ, мкг/л: {group}, {period} (n = {n})",
        "kk": "ЗЙК таралуы, мкг/л: {group}, {period} (n = {n})",
        "en": "UIC distribution, µg/L: {group}, {period} (n = {n})",
    },
    "chart_salt": {
        "ru": "Доля проб соли ≥ {cut} мг/кг по регионам, %: {period}",
        "kk": "Өңірлер бойынша ≥ {cut} мг/кг тұз сынамаларының үлесі, %: {period}",
        "en": "Salt samples ≥ {cut} mg/kg by region, %: {period}",
    },
    "chart_trend": {
        "ru": "Медиана КЙМ по раундам, мкг/л: {group}",
        "kk": "Кезеңдер бойынша ЗЙК медианасы, мкг/л: {group}",
        "en": "Median UIC by round, µg/L: {group}",
    },
    "legend": {"ru": "Легенда", "kk": "Шартты белгілер", "en": "Legend"},
    "censored_note": {
        "ru": "«< x» — значение ниже предела обнаружения; медиана или граница ДИ, зависящая от "
        "таких значений, приводится как верхняя граница. Диапазон «a–b» в процентах означает, что "
        "часть результатов ниже предела обнаружения нельзя отнести к порогу.",
        "kk": "«< x» — анықтау шегінен төмен мән; осындай мәндерге тәуелді медиана немесе СА "
        "шекарасы жоғарғы шек ретінде беріледі. Пайыздағы «a–b» аралығы анықтау шегінен төмен "
        "кейбір нәтижелерді шекке жатқызу мүмкін еместігін білдіреді.",
        "en": "“< x”: below the limit of detection; a median or CI bound that depends on such "
        "values is given as an upper bound. A percentage range “a–b” means some results below the "
        "limit of detection cannot be placed against that cut-off.",
    },
    "bootstrap_note": {
        "ru": "95 % ДИ медианы: процентильный бутстрэп, {replicates} повторов, фиксированное зерно "
        "{seed}{clusters}.",
        "kk": "Медиананың 95 % СА: процентильдік бутстрэп, {replicates} қайталау, тұрақты бастапқы "
        "сан {seed}{clusters}.",
        "en": "95 % CI of the median: percentile bootstrap, {replicates} replicates, fixed seed "
        "{seed}{clusters}.",
    },
    "bootstrap_clusters": {
        "ru": ", с ресэмплингом кластеров; для группы, все пробы которой из одного кластера, ДИ не "
        "приводится (разброс между кластерами нельзя оценить)",
        "kk": ", кластерлерді қайта іріктеумен; барлық сынамалары бір кластерден алынған топ үшін "
        "СА келтірілмейді (кластерлер арасындағы айырмашылықты бағалау мүмкін емес)",
        "en": ", resampling whole clusters; no CI is given for a group whose samples all come "
        "from one cluster (the variation between clusters cannot be estimated)",
    },
    "population_note": {
        "ru": "Доли проб ниже порогов описывают распределение в выборке и не являются "
        "распространённостью дефицита.",
        "kk": "Шектен төмен сынамалардың үлесі іріктемедегі таралуды сипаттайды, тапшылықтың "
        "таралуы емес.",
        "en": "Shares of samples below cut-offs describe the sample distribution; they are not a "
        "prevalence of deficiency.",
    },
    "annex_methods": {"ru": "Методы", "kk": "Әдістер", "en": "Methods"},
    "annex_calibration": {
        "ru": "Диапазон калибровки",
        "kk": "Калибрлеу ауқымы",
        "en": "Calibration range",
    },
    "annex_lod": {"ru": "Предел обнаружения", "kk": "Анықтау шегі", "en": "Limit of detection"},
    "annex_controls": {
        "ru": "Контрольные материалы",
        "kk": "Бақылау материалдары",
        "en": "Control materials",
    },
    "annex_control": {"ru": "Контроль", "kk": "Бақылау", "en": "Control"},
    "annex_mean": {"ru": "Среднее", "kk": "Орташа", "en": "Mean"},
    "annex_cv": {"ru": "CV, %", "kk": "CV, %", "en": "CV, %"},
    "annex_rejected_runs": {
        "ru": "Отклонённые серии",
        "kk": "Қабылданбаған сериялар",
        "en": "Rejected runs",
    },
    "annex_eqa": {
        "ru": "Внешняя оценка качества",
        "kk": "Сапаны сыртқы бағалау",
        "en": "External quality assessment",
    },
    "annex_none": {
        "ru": "Сведения не переданы.",
        "kk": "Мәліметтер берілмеді.",
        "en": "Not supplied.",
    },
    "rtk_note": {
        "ru": "Экспресс-тесты (RTK) дают только наличие/отсутствие йода; доля ≥ 15 мг/кг — по "
        "титрованию или WYD.",
        "kk": "Экспресс-тесттер (RTK) тек йодтың бар-жоғын көрсетеді; ≥ 15 мг/кг үлесі — титрлеу "
        "немесе WYD бойынша.",
        "en": "Rapid test kits (RTK) show presence or absence of iodine only; the share ≥ 15 mg/kg "
        "comes from titration or WYD.",
    },
    "national": {
        "ru": "Республика Казахстан",
        "kk": "Қазақстан Республикасы",
        "en": "Republic of Kazakhstan",
    },
}

CLASS_LABELS: dict[str, dict[str, str]] = {
    "severe": {
        "ru": "тяжёлый дефицит йода",
        "kk": "ауыр йод тапшылығы",
        "en": "severe iodine deficiency",
    },
    "moderate": {
        "ru": "умеренный дефицит йода",
        "kk": "орташа йод тапшылығы",
        "en": "moderate iodine deficiency",
    },
    "mild": {
        "ru": "лёгкий дефицит йода",
        "kk": "жеңіл йод тапшылығы",
        "en": "mild iodine deficiency",
    },
    "insufficient": {
        "ru": "недостаточное потребление йода",
        "kk": "йодты жеткіліксіз тұтыну",
        "en": "insufficient iodine intake",
    },
    "adequate": {
        "ru": "адекватное потребление йода",
        "kk": "йодты барабар тұтыну",
        "en": "adequate iodine intake",
    },
    "above": {
        "ru": "потребление выше потребностей",
        "kk": "қажеттіліктен жоғары тұтыну",
        "en": "above requirements",
    },
    "excessive": {
        "ru": "избыточное потребление йода",
        "kk": "йодты шамадан тыс тұтыну",
        "en": "excessive iodine intake",
    },
    "indeterminate": {
        "ru": "класс не определён (медиана ниже предела обнаружения)",
        "kk": "класс анықталмады (медиана анықтау шегінен төмен)",
        "en": "class undetermined (median below the limit of detection)",
    },
    "no_data": {"ru": "нет данных", "kk": "деректер жоқ", "en": "no data"},
    "no_criteria": {
        "ru": "не классифицируется: нет критериев ВОЗ для этой группы",
        "kk": "жіктелмейді: бұл топқа ДДСҰ критерийлері жоқ",
        "en": "not classified: no WHO criteria for this group",
    },
}

GROUP_LABELS: dict[str, dict[str, str]] = {
    "SAC": {
        "ru": "дети школьного возраста",
        "kk": "мектеп жасындағы балалар",
        "en": "school-age children",
    },
    "WRA": {
        "ru": "небеременные женщины репродуктивного возраста",
        "kk": "ұрпақ өрбіту жасындағы жүкті емес әйелдер",
        "en": "non-pregnant women of reproductive age",
    },
    "C6-59": {"ru": "дети 6–59 месяцев", "kk": "6–59 айлық балалар", "en": "children 6–59 months"},
    "ADULT": {"ru": "взрослые", "kk": "ересектер", "en": "adults"},
    "PW": {"ru": "беременные женщины", "kk": "жүкті әйелдер", "en": "pregnant women"},
    "LW": {"ru": "кормящие женщины", "kk": "бала емізетін әйелдер", "en": "lactating women"},
    "U2": {"ru": "дети до 2 лет", "kk": "2 жасқа дейінгі балалар", "en": "children under 2 years"},
}

METHOD_LABELS: dict[str, dict[str, str]] = {
    "titration": {"ru": "титрование", "kk": "титрлеу", "en": "titration"},
    "wyd": {"ru": "анализатор WYD", "kk": "WYD анализаторы", "en": "WYD checker"},
    "rtk": {"ru": "экспресс-тест", "kk": "экспресс-тест", "en": "rapid test kit"},
}


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}; choose one of {LANGUAGES}")
    return lang


def t(lang: str, key: str, **values: object) -> str:
    text = _T[key][check_language(lang)]
    return text.format(**values) if values else text


def label(catalogue: Mapping[str, Mapping[str, str]], key: str, lang: str) -> str:
    """A class, group or method label; unknown codes are shown as they are rather than hidden."""
    return catalogue.get(key, {}).get(check_language(lang), key)


RegionNames = Mapping[str, Mapping[str, str]]  # ISO code → {"ru": …, "kk": …, "en": …}


def region_names_from_frame(
    frame: pd.DataFrame, *, code: str = "iso_code"
) -> dict[str, dict[str, str]]:
    """Names from a table with ``name_ru``, ``name_kk``, ``name_en`` columns (as kz-regions.csv)."""
    return {
        row[code]: {lang: row[f"name_{lang}"] for lang in LANGUAGES}
        for row in frame.to_dict("records")
    }


def region_name(names: RegionNames, code: str, lang: str) -> str:
    if code == "national" and code not in names:
        return t(lang, "national")
    return names.get(code, {}).get(check_language(lang)) or code
