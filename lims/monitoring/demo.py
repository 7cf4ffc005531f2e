"""A deterministic synthetic national iodine survey, for the demo and for benchmarks.

``generate_demo_data`` builds one programme and one active survey round over all regions, with
districts, clusters (schools for school-age children, clinics for pregnant women, settlements
for women of reproductive age), households, participants known only by codes, and linked
samples: one household salt sample and one urine sample per participant. Statuses follow a
realistic mix (most received, ~3 % rejected with a reason, recent ones still registered, a few
cancelled), each with its audit events and receipt rows, so timelines and counts look real.

Same seed, sample count and clock → the same data: seeded ``random.Random`` streams drive
everything in a fixed order (who is sampled when does not even depend on the clock; only which
samples are still in transit does). Rows go in chunks, bypassing the ORM: on PostgreSQL ids are
drawn from each table's sequence and the rows sent with ``COPY``; elsewhere a Core executemany
with ``RETURNING id``. See ``_insert``.

``expected_raw_values(seed, accession)`` gives later stages (instrument simulators, analytical
runs, reports) plausible raw measurements for any demo sample without a column to hold them:
it is a pure function of the seed and the accession.
"""

from __future__ import annotations

import csv
import json
import math
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.auth.services import create_user, get_user_by_username
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.monitoring import services
from lims.monitoring.models import (
    Cluster,
    District,
    Household,
    Participant,
    PhysiologicalStatus,
    PopulationGroup,
    Programme,
    Region,
    RegionKind,
    RoundStatus,
    Sex,
    SiteType,
    SurveyRound,
)
from lims.samples.accession import format_accession
from lims.samples.lifecycle import SampleAction, SampleStatus
from lims.samples.models import (
    ReceiptDecision,
    RejectionReason,
    SaltPackaging,
    SaltSource,
    Sample,
    SampleKind,
    SampleReceipt,
    UrineContainer,
)
from lims.samples.registration import accession_prefix, next_accession_numbers

PROGRAMME_CODE = "KZ-IDD"
PROGRAMME_NAME = "National iodine deficiency disorders monitoring"
DEMO_USERNAME = "demo-lab"
LOCAL_OFFSET = timedelta(hours=5)  # Kazakhstan (UTC+5): field work happens in local daytime

# ---------------------------------------------------------------------------------------------
# Static plausibility data


@dataclass(frozen=True)
class GroupPlan:
    """How one population group is sampled: where, whom, how many per household."""

    code: str
    site_type: SiteType
    site_letter: str
    share: float  # of all samples
    age_years: tuple[int, int]
    female_only: bool
    status: PhysiologicalStatus
    members_per_household: tuple[tuple[int, float], ...]  # (participants, weight)
    max_clusters_per_region: int


SAC = GroupPlan("SAC", SiteType.SCHOOL, "S", 0.65, (6, 12), False, PhysiologicalStatus.NONE,
                ((1, 0.75), (2, 0.25)), 30)
PW = GroupPlan("PW", SiteType.CLINIC, "C", 0.35, (18, 44), True, PhysiologicalStatus.PREGNANT,
               ((1, 1.0),), 12)
WRA = GroupPlan("WRA", SiteType.SETTLEMENT, "V", 0.20, (18, 49), True, PhysiologicalStatus.NONE,
                ((1, 0.6), (2, 0.4)), 12)
# Mothers and young children, seen at mother-and-child clinics: every group the criteria know
# appears in the demo, so every table of a report (lactating women and children under 2 have no
# upper class; children 6–59 months are reported without a WHO class) is exercised; their small
# numbers per region also exercise the "few samples" mark.
LW = GroupPlan("LW", SiteType.CLINIC, "L", 0.10, (18, 44), True, PhysiologicalStatus.LACTATING,
               ((1, 1.0),), 6)
U2 = GroupPlan("U2", SiteType.CLINIC, "B", 0.06, (0, 1), False, PhysiologicalStatus.NONE,
               ((1, 1.0),), 6)
C6_59 = GroupPlan("C6-59", SiteType.CLINIC, "K", 0.08, (0, 4), False, PhysiologicalStatus.NONE,
                  ((1, 0.8), (2, 0.2)), 6)
SAMPLES_PER_CLUSTER = 60  # clusters are added until each holds about this many, up to the cap

# (en, kk, ru) stems for rural districts; any region may draw any of them.
DISTRICT_STEMS: tuple[tuple[str, str, str], ...] = (
    ("Aksu", "Ақсу", "Аксу"), ("Karasay", "Қарасай", "Карасай"), ("Talgar", "Талғар", "Талгар"),
    ("Enbekshi", "Еңбекші", "Енбекши"), ("Kegen", "Кеген", "Кеген"), ("Sarkan", "Сарқан", "Сарканд"),
    ("Shu", "Шу", "Шу"), ("Merke", "Мерке", "Мерке"), ("Baizak", "Байзақ", "Байзак"),
    ("Ordabasy", "Ордабасы", "Ордабасы"), ("Sairam", "Сайрам", "Сайрам"),
    ("Tolebi", "Төле би", "Толеби"), ("Kazygurt", "Қазығұрт", "Казыгурт"),
    ("Zhanakorgan", "Жаңақорған", "Жанакорган"), ("Shieli", "Шиелі", "Шиели"),
    ("Aral", "Арал", "Арал"), ("Karmakshy", "Қармақшы", "Кармакшы"), ("Beineu", "Бейнеу", "Бейнеу"),
    ("Tupkaragan", "Түпқараған", "Тупкараган"), ("Makhambet", "Махамбет", "Махамбет"),
    ("Inder", "Индер", "Индер"), ("Kurmangazy", "Құрманғазы", "Курмангазы"),
    ("Akzhaik", "Ақжайық", "Акжаик"), ("Terekti", "Теректі", "Теректы"), ("Burli", "Бөрлі", "Бурли"),
    ("Khromtau", "Хромтау", "Хромтау"), ("Mugalzhar", "Мұғалжар", "Мугалжар"),
    ("Shalkar", "Шалқар", "Шалкар"), ("Auliekol", "Әулиекөл", "Аулиеколь"),
    ("Karabalyk", "Қарабалық", "Карабалык"), ("Bulandy", "Бұланды", "Буланды"),
    ("Zerendi", "Зеренді", "Зеренди"), ("Shortandy", "Шортанды", "Шортанды"),
    ("Bayanaul", "Баянауыл", "Баянаул"), ("Akkuly", "Аққулы", "Аккулы"),
    ("Kyzylzhar", "Қызылжар", "Кызылжар"), ("Esil", "Есіл", "Есиль"), ("Ulan", "Ұлан", "Улан"),
    ("Katonkaragay", "Катонқарағай", "Катонкарагай"), ("Zharma", "Жарма", "Жарма"),
    ("Ayagoz", "Аягөз", "Аягоз"), ("Urzhar", "Үржар", "Урджар"), ("Alakol", "Алакөл", "Алаколь"),
    ("Koksu", "Көксу", "Коксу"), ("Zhanaarka", "Жаңаарқа", "Жанаарка"), ("Shet", "Шет", "Шет"),
    ("Nurinsky", "Нұра", "Нура"), ("Zhualy", "Жуалы", "Жуалы"), ("Kordai", "Қордай", "Кордай"),
    ("Sozak", "Созақ", "Созак"), ("Otyrar", "Отырар", "Отрар"), ("Isatai", "Исатай", "Исатай"),
    ("Kyzylkoga", "Қызылқоға", "Кызылкога"), ("Uil", "Ойыл", "Уил"), ("Mendykara", "Меңдіқара", "Мендыкара"),
    ("Tarbagatai", "Тарбағатай", "Тарбагатай"), ("Zhangeldi", "Жангелдин", "Жангельдин"),
    ("Atbasar", "Атбасар", "Атбасар"), ("Magzhan Zhumabaev", "Мағжан Жұмабаев", "Магжана Жумабаева"),
    ("Sharbakty", "Шарбақты", "Щербакты"), ("Ile", "Іле", "Иле"), ("Uighur", "Ұйғыр", "Уйгур"),
)
CITY_DISTRICTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "KZ-71": (("Almaty", "Алматы", "Алматы"), ("Baikonyr", "Байқоңыр", "Байконур"),
              ("Esil", "Есіл", "Есиль"), ("Saryarka", "Сарыарқа", "Сарыарка"), ("Nura", "Нұра", "Нура")),
    "KZ-75": (("Almaly", "Алмалы", "Алмалинский"), ("Bostandyk", "Бостандық", "Бостандыкский"),
              ("Medeu", "Медеу", "Медеуский"), ("Auezov", "Әуезов", "Ауэзовский"),
              ("Nauryzbai", "Наурызбай", "Наурызбайский"), ("Turksib", "Түрксіб", "Турксибский")),
    "KZ-79": (("Abai", "Абай", "Абайский"), ("Al-Farabi", "Әл-Фараби", "Аль-Фарабийский"),
              ("Enbekshi", "Еңбекші", "Енбекшинский"), ("Karatau", "Қаратау", "Каратауский"),
              ("Turan", "Тұран", "Туран")),
}
# Approximate (latitude, longitude) of each unit's centre; clusters scatter around it.
CENTRES: dict[str, tuple[float, float]] = {
    "KZ-10": (50.41, 80.23), "KZ-11": (53.28, 69.39), "KZ-15": (50.28, 57.17),
    "KZ-19": (43.87, 77.07), "KZ-23": (47.11, 51.92), "KZ-27": (51.23, 51.37),
    "KZ-31": (42.90, 71.37), "KZ-33": (45.02, 78.37), "KZ-35": (49.81, 73.09),
    "KZ-39": (53.21, 63.63), "KZ-43": (44.85, 65.51), "KZ-47": (43.65, 51.16),
    "KZ-55": (52.29, 76.95), "KZ-59": (54.87, 69.14), "KZ-61": (43.30, 68.25),
    "KZ-62": (47.79, 67.71), "KZ-63": (49.95, 82.61), "KZ-71": (51.17, 71.45),
    "KZ-75": (43.24, 76.89), "KZ-79": (42.32, 69.59),
}
SALT_BRANDS: tuple[tuple[str | None, float], ...] = (
    ("Araltuz", 0.30), ("Tuz Ondiru", 0.15), ("Balkhash Salt", 0.12), ("Zhanatas", 0.08),
    ("Ekstra (RU import)", 0.10), ("Unbranded bazaar salt", 0.10), (None, 0.15),
)
PACKAGING = ((SaltPackaging.SEALED_PLASTIC, 0.55), (SaltPackaging.PAPER, 0.20),
             (SaltPackaging.OPEN_PLASTIC, 0.10), (SaltPackaging.BULK, 0.15))
CONTAINERS = ((UrineContainer.SCREW_CAP_TUBE, 0.70), (UrineContainer.CRYOVIAL, 0.20),
              (UrineContainer.URINE_CUP, 0.10))
URINE_REJECTIONS = ((RejectionReason.INSUFFICIENT_VOLUME, 0.35), (RejectionReason.LEAKING, 0.25),
                    (RejectionReason.UNLABELLED, 0.15), (RejectionReason.CONTAMINATED, 0.15),
                    (RejectionReason.TOO_OLD, 0.10))
SALT_REJECTIONS = ((RejectionReason.UNLABELLED, 0.40), (RejectionReason.CONTAMINATED, 0.30),
                   (RejectionReason.LEAKING, 0.20), (RejectionReason.OTHER, 0.10))
REJECTION_NOTES = {
    RejectionReason.INSUFFICIENT_VOLUME: "volume below 0.8 mL",
    RejectionReason.LEAKING: "container leaked in transport",
    RejectionReason.UNLABELLED: "no legible label",
    RejectionReason.CONTAMINATED: "visible contamination",
    RejectionReason.TOO_OLD: "collected too long before arrival",
    RejectionReason.OTHER: "sample bag torn, less than 50 g left",
}
CANCEL_REASON = "registered twice in error"
P_REJECTED, P_CANCELLED, P_PENDING = 0.03, 0.01, 0.02  # plus recent samples still in transit


def _pick(rng: random.Random, options: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


# ---------------------------------------------------------------------------------------------
# Raw values for later stages


@dataclass(frozen=True)
class RawValues:
    """What an instrument would report for a sample; ``value`` is the true concentration."""

    kind: SampleKind
    value: float  # µg/L for urine, mg/kg for salt
    unit: str
    raw: dict[str, float]


UIC_MEDIAN = {"SAC": 175.0, "PW": 140.0, "LW": 120.0, "WRA": 150.0, "U2": 160.0, "C6-59": 200.0}
SK_A0, SK_SLOPE = 1.20, 0.0045  # ln A = ln A0 - slope·C (domain.md §2.4), read at 405 nm
TITRATION_FACTOR = 10.58  # mg/kg per mL of 0.005 M thiosulfate for 10 g salt (domain.md §3.1)


def expected_raw_values(seed: int, accession: str, *, region_iso: str | None = None,
                        group_code: str | None = None) -> RawValues:
    """Plausible measurements for a demo sample, a pure function of the seed and accession.

    Urine: UIC log-normal around the group's median, shifted per region (some regions
    iodine-deficient, some more than adequate), with the Sandell–Kolthoff absorbance that such
    a concentration gives. Salt: mostly adequately iodized (25–55 mg/kg), some inadequate or
    non-iodized, with the titrant volume and an iodine-checker reading.
    """
    rng = random.Random(f"{seed}:{accession}")
    if accession.startswith("U"):
        region_factor = random.Random(f"{seed}:region:{region_iso}").uniform(0.6, 1.4) if region_iso else 1.0
        median = UIC_MEDIAN.get(group_code or "SAC", 160.0) * region_factor
        uic = min(1500.0, max(5.0, rng.lognormvariate(math.log(median), 0.55)))
        absorbance = SK_A0 * math.exp(-SK_SLOPE * min(uic, 400.0)) * rng.gauss(1.0, 0.01)
        return RawValues(SampleKind.URINE, round(uic, 1), "ug/L",
                         {"absorbance_405nm": round(absorbance, 4),
                          "dilution_factor": 2.0 if uic > 400 else 1.0})
    draw = rng.random()
    if draw < 0.05:
        iodine = rng.uniform(0.0, 5.0)
    elif draw < 0.15:
        iodine = rng.uniform(5.0, 15.0)
    else:
        iodine = max(15.0, rng.gauss(38.0, 9.0))
    return RawValues(SampleKind.SALT, round(iodine, 1), "mg/kg",
                     {"titrant_ml": round(iodine / TITRATION_FACTOR, 2),
                      "iodine_checker_mg_kg": round(iodine * rng.gauss(1.0, 0.04), 1)})


# ---------------------------------------------------------------------------------------------
# Structure


@dataclass
class DemoSummary:
    round_code: str
    districts: int = 0
    clusters: int = 0
    households: int = 0
    participants: int = 0
    samples: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, status) → n

    @property
    def sample_total(self) -> int:
        return sum(self.samples.values())


@dataclass
class ClusterPlan:
    cluster: Cluster
    group: PopulationGroup
    plan: GroupPlan
    budget: int  # samples to generate here


def demo_actor(session: Session, now: datetime) -> User:
    """The (inactive, never-logged-in) technician the synthetic intake is attributed to."""
    user = get_user_by_username(session, DEMO_USERNAME)
    if user is None:
        user = create_user(session, actor=None, now=now, username=DEMO_USERNAME,
                           password=secrets.token_urlsafe(24), roles=[Role.TECHNICIAN],
                           full_name="Synthetic demo data")
        user.is_active = False
        session.flush()
    return user


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), summing exactly."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    parts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _create_districts(session: Session, rng: random.Random, now: datetime,
                      regions: list[Region]) -> dict[int, list[District]]:
    stems = list(DISTRICT_STEMS)
    rng.shuffle(stems)
    pool = iter(stems * 3)
    districts: dict[int, list[District]] = {}
    for region in regions:
        count = rng.randint(3, 6)
        names = CITY_DISTRICTS.get(region.iso_code) or tuple(next(pool) for _ in range(count))
        made = []
        for n, (en, kk, ru) in enumerate(names[:count], start=1):
            code = f"D{region.iso_code[3:]}{n:02d}"
            existing = session.scalar(sa.select(District).where(District.region_id == region.id,
                                                                District.code == code))
            made.append(existing or services.create_district(
                session, actor=None, now=now, region=region, code=code,
                name_en=f"{en} District", name_kk=f"{kk} ауданы", name_ru=f"район {ru}"))
        districts[region.id] = made
    return districts


def _site_name(plan: GroupPlan, number: int, district: District, rng: random.Random) -> str:
    place = district.name_en.removesuffix(" District")
    if plan.site_type == SiteType.SCHOOL:
        return f"Secondary school No. {number}, {place}"
    if plan.site_type == SiteType.CLINIC:
        return f"{rng.choice(('Polyclinic', 'Women’s consultation', 'District hospital'))} No. {number}, {place}"
    return f"{rng.choice(('Kainar', 'Koktal', 'Zhanatalap', 'Akbulak', 'Saryagash', 'Karakemer'))} village, {place}"


def _create_structure(session: Session, rng: random.Random, *, now: datetime, samples: int,
                      round_code: str, year: int, plans: list[GroupPlan],
                      ) -> tuple[SurveyRound, list[ClusterPlan], int]:
    programme = session.scalar(sa.select(Programme).where(Programme.code == PROGRAMME_CODE))
    if programme is None:
        programme = services.create_programme(session, actor=None, now=now, code=PROGRAMME_CODE,
                                              name=PROGRAMME_NAME,
                                              description="Synthetic demo programme")
    regions = list(session.scalars(sa.select(Region).where(Region.valid_to.is_(None))
                                   .order_by(Region.iso_code)))
    groups = {g.code: g for g in session.scalars(sa.select(PopulationGroup))}
    survey_round = services.create_round(
        session, actor=None, now=now, programme_id=programme.id, code=round_code,
        name=f"National iodine survey {year}", period_start=date(year, 2, 1),
        period_end=date(year, 11, 30), region_ids=[r.id for r in regions],
        group_ids=[groups[p.code].id for p in plans])
    services.change_round_status(session, actor=None, now=now, survey_round=survey_round,
                                 status=RoundStatus.ACTIVE)
    _ship_populations(session, now, survey_round, regions)
    districts = _create_districts(session, rng, now, regions)

    # Cities are big; other regions vary around one.
    region_weights = [rng.uniform(1.6, 2.2) if r.kind == RegionKind.CITY else rng.uniform(0.6, 1.4)
                      for r in regions]
    cluster_plans: list[ClusterPlan] = []
    for region, region_budget in zip(regions, _split(samples, region_weights), strict=True):
        lat0, lon0 = CENTRES.get(region.iso_code, (48.0, 68.0))
        spread = 0.08 if region.kind == RegionKind.CITY else 1.2
        for plan, group_budget in zip(plans, _split(region_budget, [p.share for p in plans]),
                                      strict=True):
            n_clusters = max(1, min(plan.max_clusters_per_region,
                                    math.ceil(group_budget / SAMPLES_PER_CLUSTER)))
            budgets = _split(group_budget, [rng.uniform(0.7, 1.3) for _ in range(n_clusters)])
            for number, budget in enumerate(budgets, start=1):
                district = rng.choice(districts[region.id])
                mean_members = sum(m * w for m, w in plan.members_per_household) / sum(
                    w for _, w in plan.members_per_household)
                expected_urine = budget * mean_members / (mean_members + 1)
                target = max(5, 5 * round(expected_urine * rng.uniform(0.9, 1.2) / 5))
                cluster = services.create_cluster(
                    session, actor=None, now=now, survey_round=survey_round,
                    code=f"{region.iso_code[3:]}-{plan.site_letter}{number:02d}",
                    name=_site_name(plan, rng.randint(1, 120), district, rng),
                    site_type=plan.site_type, district_id=district.id, target_count=target,
                    latitude=round(lat0 + rng.uniform(-spread, spread), 5),
                    longitude=round(lon0 + rng.uniform(-spread, spread) * 1.5, 5))
                cluster_plans.append(ClusterPlan(cluster, groups[plan.code], plan, budget))
    rng.shuffle(cluster_plans)  # field teams work all over the country at once
    return survey_round, cluster_plans, sum(len(d) for d in districts.values())


# ---------------------------------------------------------------------------------------------
# Samples


@dataclass
class _Chunk:
    households: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    participant_household: list[int] = field(default_factory=list)  # index into households
    samples: list[dict[str, Any]] = field(default_factory=list)
    sample_household: list[int] = field(default_factory=list)
    sample_participant: list[int | None] = field(default_factory=list)
    fates: list[tuple[SampleStatus, dict[str, Any] | None]] = field(default_factory=list)


class _Generator:
    """Walks the clusters in a fixed order and emits chunks of related rows."""

    def __init__(self, seed: int, *, now: datetime, total: int, survey_round: SurveyRound) -> None:
        # Two streams: who is sampled when (independent of the clock), and what became of
        # each sample (depends on how long ago it was registered).
        self.rng = random.Random(f"{seed}:households")
        self.details = random.Random(f"{seed}:samples")
        self.now = now
        self.total = total
        self.round = survey_round
        start = datetime.combine(survey_round.period_start, time(), UTC)
        end = min(datetime.combine(survey_round.period_end, time(), UTC), now - timedelta(days=1))
        self.window_start = start
        self.window_seconds = max(0.0, (end - start).total_seconds())
        self.emitted = 0

    def _collected_at(self) -> datetime:
        """Collection moves through the period as the survey proceeds, with some jitter."""
        progress = self.emitted / max(1, self.total)
        at = self.window_start + timedelta(seconds=self.window_seconds * progress)
        day = at.date() + timedelta(days=self.rng.randint(-2, 2))
        day = min(max(day, self.window_start.date()),
                  (self.window_start + timedelta(seconds=self.window_seconds)).date())
        local = datetime.combine(day, time(8), UTC) + timedelta(minutes=self.rng.randint(0, 360))
        return local - LOCAL_OFFSET

    def _fate(self, kind: SampleKind, registered_at: datetime) -> tuple[SampleStatus, dict[str, Any] | None]:
        """The status a sample has reached, with its receipt details."""
        rng = self.details
        in_transit = self.now - registered_at < timedelta(days=5)
        draw = rng.random()
        if (in_transit and draw < 0.7) or draw < P_PENDING:
            return SampleStatus.REGISTERED, None
        received_at = min(self.now, registered_at + timedelta(hours=rng.uniform(20, 140)))
        draw = rng.random()
        if draw < P_CANCELLED:
            return SampleStatus.CANCELLED, {"at": received_at}
        rejected = draw < P_CANCELLED + P_REJECTED
        reason = None
        if rejected:
            reason = _pick(rng, URINE_REJECTIONS if kind == SampleKind.URINE else SALT_REJECTIONS)
        cold = kind == SampleKind.URINE
        return (SampleStatus.REJECTED if rejected else SampleStatus.RECEIVED), {
            "at": received_at, "reason": reason,
            "temperature_c": Decimal(str(round(rng.uniform(-22, -16) if cold else rng.uniform(16, 24), 1))),
            "container_intact": reason != RejectionReason.LEAKING,
        }

    def _sample(self, chunk: _Chunk, kind: SampleKind, household: int, participant: int | None,
                cluster: Cluster, collected_at: datetime) -> None:
        rng = self.details
        registered_at = min(self.now, collected_at + timedelta(hours=rng.uniform(3, 48)))
        status, receipt = self._fate(kind, registered_at)
        row: dict[str, Any] = {
            "kind": kind.value, "status": status.value, "round_id": cluster.round_id, "cluster_id": cluster.id,
            "region_id": cluster.region_id, "collected_at": collected_at,
            "registered_at": registered_at, "received_at": None, "notes": None,
            "volume_ml": None, "container": None, "salt_source": None, "brand": None,
            "packaging": None, "iodized_per_label": None,
        }
        if kind == SampleKind.URINE:
            low = receipt is not None and receipt.get("reason") == RejectionReason.INSUFFICIENT_VOLUME
            volume = rng.uniform(0.3, 0.75) if low else min(12.0, max(1.0, rng.gauss(5.5, 2.0)))
            row.update(volume_ml=Decimal(str(round(volume, 1))), container=_pick(rng, CONTAINERS).value)
        else:
            packaging = _pick(rng, PACKAGING)
            brand = None if packaging == SaltPackaging.BULK else _pick(rng, SALT_BRANDS)
            row.update(salt_source=SaltSource.HOUSEHOLD.value, brand=brand, packaging=packaging.value,
                       iodized_per_label=(rng.random() < 0.9) if brand else None)
        if receipt is not None and status != SampleStatus.CANCELLED:
            row["received_at"] = receipt["at"] if status == SampleStatus.RECEIVED else None
        chunk.samples.append(row)
        chunk.sample_household.append(household)
        chunk.sample_participant.append(participant)
        chunk.fates.append((status, receipt))
        self.emitted += 1

    def chunks(self, cluster_plans: list[ClusterPlan], chunk_size: int) -> Iterator[_Chunk]:
        rng = self.rng
        chunk = _Chunk()
        for cp in cluster_plans:
            plan, cluster, budget = cp.plan, cp.cluster, cp.budget
            low = max(plan.age_years[0] * 12, cp.group.min_age_months or 0)
            high = min(plan.age_years[1] * 12 + 11, cp.group.max_age_months or 1500)
            number = 0
            while budget > 0:
                number += 1
                members = min(_pick(rng, plan.members_per_household), budget)
                salt = budget > members  # the last household may miss its salt
                household = len(chunk.households)
                chunk.households.append({"cluster_id": cluster.id, "code": f"H{number:04d}"})
                collected_at = self._collected_at()
                for m in range(members):
                    female = plan.female_only or rng.random() < 0.5
                    chunk.participants.append({
                        "round_id": cluster.round_id, "cluster_id": cluster.id,
                        "population_group_id": cp.group.id,
                        "code": f"{cluster.code}-{number:04d}{'ABCDEFGH'[m]}",
                        "age_months": rng.randint(low, high),
                        "sex": (Sex.FEMALE if female else Sex.MALE).value,
                        "physiological_status": plan.status.value,
                    })
                    chunk.participant_household.append(household)
                    self._sample(chunk, SampleKind.URINE, household, len(chunk.participants) - 1,
                                 cluster, collected_at)
                if salt:
                    self._sample(chunk, SampleKind.SALT, household, None, cluster, collected_at)
                budget -= members + salt
                if len(chunk.samples) >= chunk_size:
                    yield chunk
                    chunk = _Chunk()
        if chunk.samples:
            yield chunk


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]], *,
            ids: bool = False) -> list[int]:
    """Insert ``rows`` and, if asked, return their ids in row order.

    PostgreSQL: ids are drawn from the table's own sequence (``nextval``, so they never clash
    with concurrent inserts) and the rows go in with ``COPY``, the fastest path by far.
    Elsewhere (SQLite, small demos): a Core executemany with ``RETURNING id`` in parameter order.
    """
    if not rows:
        return []
    table = model.__table__
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        if not ids:
            session.execute(sa.insert(table), rows)
            return []
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(stmt, rows).scalars())
    new_ids: list[int] = []
    if ids:
        new_ids = list(session.scalars(
            sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                    " FROM generate_series(1, :n)"), {"table": table.name, "n": len(rows)}))
        for row, new_id in zip(rows, new_ids, strict=True):
            row["id"] = new_id
    columns = list(rows[0])
    json_columns = [c for c in columns if isinstance(table.c[c].type, sa.JSON)]
    driver = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            if json_columns:
                row = {**row, **{c: json.dumps(row[c]) for c in json_columns}}
            copy.write_row([row[c] for c in columns])
    return new_ids


def _write_chunk(session: Session, chunk: _Chunk, *, actor: User, year: int, round_code: str,
                 cluster_codes: dict[int, str], summary: DemoSummary) -> None:
    household_ids = _insert(session, Household, chunk.households, ids=True)
    for row, h in zip(chunk.participants, chunk.participant_household, strict=True):
        row["household_id"] = household_ids[h]
    participant_ids = _insert(session, Participant, chunk.participants, ids=True)

    accessions: dict[SampleKind, Iterator[str]] = {}
    for kind in SampleKind:
        count = sum(1 for row in chunk.samples if row["kind"] == kind)
        if count:
            prefix = accession_prefix(session, kind)
            numbers = next_accession_numbers(session, kind, year, count)
            accessions[kind] = iter([format_accession(prefix, year, n) for n in numbers])
    for row, h, p in zip(chunk.samples, chunk.sample_household, chunk.sample_participant, strict=True):
        row["accession"] = next(accessions[row["kind"]])
        row["household_id"] = household_ids[h]
        row["participant_id"] = participant_ids[p] if p is not None else None
        row["registered_by_id"] = actor.id
    sample_ids = _insert(session, Sample, chunk.samples, ids=True)

    events: list[dict[str, Any]] = []
    receipts: list[dict[str, Any]] = []
    for sample_id, row, (status, receipt), p in zip(sample_ids, chunk.samples, chunk.fates,
                                                    chunk.sample_participant, strict=True):
        summary.samples[(row["kind"], status.value)] += 1
        base = {"actor_id": actor.id, "actor_name": actor.username, "entity_type": "sample",
                "entity_id": sample_id, "entity_label": row["accession"]}
        # Audit payloads are built JSON-ready here (what ``to_jsonable`` would give), which
        # matters at a million rows.
        registered: dict[str, Any] = {"kind": row["kind"], "cluster": cluster_codes[row["cluster_id"]],
                                      "round": round_code,
                                      "collected_at": row["collected_at"].isoformat()}
        if p is not None:
            registered["participant_code"] = chunk.participants[p]["code"]
            registered["volume_ml"] = str(row["volume_ml"])
            registered["container"] = row["container"]
        else:
            registered.update((k, row[k]) for k in ("salt_source", "brand", "packaging",
                                                      "iodized_per_label") if row[k] is not None)
        events.append({**base, "occurred_at": row["registered_at"], "action": "registered",
                       "changes": registered, "reason": None})
        if receipt is None:
            continue
        at = receipt["at"]
        if status == SampleStatus.CANCELLED:
            events.append({**base, "occurred_at": at, "action": SampleAction.CANCEL.value,
                           "changes": {"status": {"before": "registered", "after": "cancelled"}},
                           "reason": CANCEL_REASON})
            continue
        accepted = status == SampleStatus.RECEIVED
        reason = receipt["reason"].value if receipt["reason"] is not None else None
        note = None if accepted else REJECTION_NOTES[receipt["reason"]]
        decision = (ReceiptDecision.ACCEPTED if accepted else ReceiptDecision.REJECTED).value
        receipts.append({
            "sample_id": sample_id, "received_at": at, "received_by_id": actor.id,
            "temperature_c": receipt["temperature_c"], "volume_ml": row["volume_ml"],
            "container_intact": receipt["container_intact"], "decision": decision,
            "rejection_reason": reason, "note": note,
        })
        changes: dict[str, Any] = {"status": {"before": "registered", "after": status.value}}
        if accepted:
            changes["received_at"] = {"before": None, "after": at.isoformat()}
        changes["decision"] = {"before": None, "after": decision}
        changes["temperature_c"] = {"before": None, "after": str(receipt["temperature_c"])}
        changes["container_intact"] = {"before": None, "after": receipt["container_intact"]}
        if reason is not None:
            changes["rejection_reason"] = {"before": None, "after": reason}
        events.append({**base, "occurred_at": at,
                       "action": (SampleAction.RECEIVE if accepted else SampleAction.REJECT).value,
                       "changes": changes, "reason": note})
    _insert(session, AuditEvent, events)
    _insert(session, SampleReceipt, receipts)
    summary.households += len(household_ids)
    summary.participants += len(participant_ids)


#: Where the demo's population table comes from (rounded figures, shipped with the LIMS).
POPULATION_SOURCE = ("Bureau of National Statistics of the Republic of Kazakhstan, population at "
                     "1 January 2024, rounded to thousands (demo reference table)")
POPULATION_YEAR = 2024


def _ship_populations(session: Session, now: datetime, survey_round: SurveyRound,
                      regions: list[Region]) -> None:
    """The round's population per region (``lims/data/kz-population.csv``), so national rows
    combine regions by population share; the demo's PPS clusters are self-weighting within a
    region, so no design weights are set."""
    with resources.files("lims.data").joinpath("kz-population.csv").open(encoding="utf-8") as fh:
        populations = {row["iso_code"]: int(row["population"]) for row in csv.DictReader(fh)}
    for region in regions:
        if region.iso_code in populations:
            services.set_stratum_population(
                session, actor=None, now=now, survey_round=survey_round, region=region,
                population=populations[region.iso_code], source=POPULATION_SOURCE,
                year=POPULATION_YEAR)


def default_year(now: datetime) -> int:
    """This year, unless it is too early in it for a round to have collected anything."""
    return now.year if now.date() >= date(now.year, 2, 15) else now.year - 1


def default_round_code(year: int | None, now: datetime) -> str:
    return f"NIS-{year or default_year(now)}"


def generate_demo_data(session: Session, *, seed: int, samples: int, now: datetime,
                       round_code: str | None = None, year: int | None = None,
                       include_wra: bool = True, chunk_size: int = 10_000,
                       progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Create a whole synthetic survey round with ``samples`` samples; flushes, never commits."""
    if samples < 1:
        raise ValueError("samples must be at least 1")
    year = year or default_year(now)
    round_code = round_code or default_round_code(year, now)
    if session.scalar(sa.select(SurveyRound.id).where(SurveyRound.code == round_code)) is not None:
        raise ConflictError(f"survey round {round_code} already exists: choose another"
                            " --round-code", field="round_code")
    rng = random.Random(seed)
    actor = demo_actor(session, now)
    plans = [SAC, PW, LW, U2, C6_59] + ([WRA] if include_wra else [])
    survey_round, cluster_plans, n_districts = _create_structure(
        session, rng, now=now, samples=samples, round_code=round_code, year=year, plans=plans)
    summary = DemoSummary(round_code=round_code, districts=n_districts, clusters=len(cluster_plans))
    cluster_codes = {cp.cluster.id: cp.cluster.code for cp in cluster_plans}
    session.flush()
    generator = _Generator(seed, now=now, total=samples, survey_round=survey_round)
    for chunk in generator.chunks(cluster_plans, chunk_size):
        _write_chunk(session, chunk, actor=actor, year=year, round_code=round_code,
                     cluster_codes=cluster_codes, summary=summary)
        if progress is not None:
            progress(len(chunk.samples))
    session.flush()
    return summary
