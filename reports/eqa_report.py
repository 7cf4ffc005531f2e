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

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from reports.texts import Catalogue

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
    #: The method code or name (known codes "sk_microplate", "persulfate", "icpms" are
    #: translated; anything else is printed as given).
    method: str
    z: float | None
    z_prime: float | None
    zeta: float | None
    #: The class of the score the result is judged by (z, or z′ for a material with
    #: ``uses_z_prime``).
    score_class: ScoreClass
    #: The class of ζ, when ζ was computed.
    zeta_class: ScoreClass | None = None
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


def lab_report_pdf(report: LabReport, *, lang: str,
                   catalogue: Catalogue | None = None) -> bytes:
    """The per-laboratory report as PDF bytes in ``lang`` (ru|kk|en)."""
    raise NotImplementedError


def round_summary_pdf(summary: RoundSummary, *, lang: str,
                      catalogue: Catalogue | None = None) -> bytes:
    """The round summary as PDF bytes in ``lang`` (ru|kk|en)."""
    raise NotImplementedError


def certificate_pdf(certificate: Certificate, *, lang: str,
                    catalogue: Catalogue | None = None) -> bytes:
    """The certificate of participation as PDF bytes in ``lang`` (ru|kk|en)."""
    raise NotImplementedError
