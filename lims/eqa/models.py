"""External quality assessment (EQA) provided by the reference laboratory: programmes, rounds,
characterised materials, participating laboratories, their results and scores (ISO 13528).

Confidentiality is structural: a laboratory appears to other participants only by the random
``lab_code`` of its enrolment in one round, never by name; codes differ from round to round, so
a code learnt in one round says nothing about the next.

Nothing a participant submitted is overwritten: a correction is a new ``EqaResult`` version
(``is_current`` moves, the reason is kept). Scores are derived and recomputed whenever the
assigned value changes, so they are versioned the same way (the report cites the ones current
when it was issued, and the issued PDF itself is frozen in ``eqa_documents``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import User
from lims.core.models import Base, format_repr, intpk, str_enum


class EqaMeasurand(enum.StrEnum):
    UIC = "uic"  # urinary iodine concentration
    SALT_IODINE = "salt_iodine"


class EqaUnit(enum.StrEnum):
    UG_PER_L = "µg/L"
    MG_PER_KG = "mg/kg"


#: The one unit each measurand is reported in; a result in another unit is refused, not converted.
MEASURAND_UNIT: dict[EqaMeasurand, EqaUnit] = {EqaMeasurand.UIC: EqaUnit.UG_PER_L,
                                               EqaMeasurand.SALT_IODINE: EqaUnit.MG_PER_KG}


class SigmaKind(enum.StrEnum):
    """How σ_pt is set (configuration per programme, not code): see ``reports.eqa_stats.SigmaRule``."""
    PERCENT = "percent"
    LINEAR = "linear"
    ROBUST = "robust"


class RoundStatus(enum.StrEnum):
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    REPORTED = "reported"


class ValueSource(enum.StrEnum):
    """Where a material's assigned value x_pt comes from (ISO 13528 §7)."""
    REFERENCE = "reference"      # measured by the reference laboratory (ICP-MS), with u(x_pt)
    FORMULATION = "formulation"  # the amount added to the pool, with u(x_pt)
    CONSENSUS = "consensus"      # Algorithm A over the participants' current results


class EqaMethod(enum.StrEnum):
    """Method groups of the method-group statistics."""
    SK_MICROPLATE = "sk_microplate"
    AMMONIUM_PERSULFATE = "ammonium_persulfate"
    ICP_MS = "icp_ms"
    TITRATION = "titration"  # salt iodine: iodometric titration
    OTHER = "other"


class CharacterisationKind(enum.StrEnum):
    HOMOGENEITY = "homogeneity"  # units × 2 replicates
    STABILITY = "stability"      # units measured after storage/transport conditions


class ResultVia(enum.StrEnum):
    PARTICIPANT = "participant"
    PROVIDER_UPLOAD = "provider_upload"


class ScoreKind(enum.StrEnum):
    """Which score decides the class: z, or z′ when u(x_pt) > 0.3·σ_pt."""
    Z = "z"
    Z_PRIME = "z_prime"


class ScoreClass(enum.StrEnum):
    SATISFACTORY = "satisfactory"
    QUESTIONABLE = "questionable"
    UNSATISFACTORY = "unsatisfactory"


class DocumentKind(enum.StrEnum):
    LAB_REPORT = "lab_report"
    SUMMARY = "summary"
    CERTIFICATE = "certificate"


class EqaProgramme(Base):
    """A scheme for one measurand. σ_pt rule: ``percent`` (sigma_percent % of x_pt), ``linear``
    (sigma_a + sigma_b·x_pt) or ``robust`` (s* of Algorithm A). ``min_p`` is the fewest results
    a consensus is computed from; ``value_ceiling`` the largest plausible result."""

    __tablename__ = "eqa_programmes"
    __table_args__ = (
        sa.CheckConstraint(
            "(sigma_kind = 'percent' AND sigma_percent > 0) OR (sigma_kind = 'linear' AND "
            "sigma_a IS NOT NULL AND sigma_b IS NOT NULL) OR sigma_kind = 'robust'",
            name="sigma_rule_complete"),
        sa.CheckConstraint("min_p >= 3", name="min_p_at_least_3"),
        sa.CheckConstraint("value_ceiling > 0", name="ceiling_positive"),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    measurand: Mapped[EqaMeasurand] = mapped_column(str_enum(EqaMeasurand, "eqa_measurand"))
    unit: Mapped[EqaUnit] = mapped_column(str_enum(EqaUnit, "eqa_unit"))
    sigma_kind: Mapped[SigmaKind] = mapped_column(str_enum(SigmaKind, "eqa_sigma_kind"))
    sigma_percent: Mapped[float | None] = mapped_column(sa.Double)
    sigma_a: Mapped[float | None] = mapped_column(sa.Double)
    sigma_b: Mapped[float | None] = mapped_column(sa.Double)
    min_p: Mapped[int] = mapped_column(default=12)
    value_ceiling: Mapped[float] = mapped_column(sa.Double)
    created_at: Mapped[datetime]

    rounds: Mapped[list[EqaRound]] = relationship(back_populates="programme",
                                                  order_by="EqaRound.dispatch_date")

    def __repr__(self) -> str:
        return format_repr(self, "id", "code", "measurand")


class EqaRound(Base):
    """A round: results are accepted through the end of ``deadline`` (UTC); later ones are
    accepted but flagged late."""

    __tablename__ = "eqa_rounds"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "code"),
        sa.CheckConstraint("deadline >= dispatch_date", name="deadline_after_dispatch"),
        sa.Index("ix_eqa_rounds_programme_dispatch", "programme_id", "dispatch_date", "id"),
        sa.Index("ix_eqa_rounds_status_dispatch", "status", "dispatch_date", "id"),
    )

    id: Mapped[intpk]
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_programmes.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    dispatch_date: Mapped[date]
    deadline: Mapped[date]
    status: Mapped[RoundStatus] = mapped_column(str_enum(RoundStatus, "eqa_round_status"))
    status_changed_at: Mapped[datetime]
    #: The source of the assigned values chosen for this round (stated in the report).
    value_source: Mapped[ValueSource] = mapped_column(str_enum(ValueSource, "eqa_value_source"))
    created_at: Mapped[datetime]

    programme: Mapped[EqaProgramme] = relationship(back_populates="rounds")
    materials: Mapped[list[EqaMaterial]] = relationship(back_populates="round",
                                                        order_by="EqaMaterial.code")
    enrolments: Mapped[list[EqaEnrolment]] = relationship(back_populates="round",
                                                          order_by="EqaEnrolment.lab_code")

    def is_late(self, at: datetime) -> bool:
        """A submission at ``at`` (UTC) is late when it falls after the deadline day."""
        return at.date() > self.deadline

    def __repr__(self) -> str:
        return format_repr(self, "id", "code", "status")


class EqaMaterial(Base):
    """A characterised pool sent in a round, with its homogeneity/stability verdicts and its
    assigned value (set per round; ``u_x_pt_large`` is u(x_pt) > 0.3·σ_pt, scored with z′)."""

    __tablename__ = "eqa_materials"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "code"),
        sa.CheckConstraint("volume_ml IS NULL OR volume_ml > 0", name="volume_positive"),
        sa.CheckConstraint("sigma_pt IS NULL OR sigma_pt > 0", name="sigma_pt_positive"),
        sa.CheckConstraint("u_x_pt IS NULL OR u_x_pt >= 0", name="u_x_pt_not_negative"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_rounds.id"))
    #: The material's label within the round (A, B, …), printed with the assigned values.
    code: Mapped[str] = mapped_column(sa.String(32))
    pool_id: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(64), default="")
    volume_ml: Mapped[float | None] = mapped_column(sa.Double)
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    # homogeneity (ISO 13528 B.2) and stability (B.5); NULL = not assessed yet
    #: σ_pt the characterisation was judged against (the programme rule at the pool's mean, or
    #: given by the provider when the rule is robust and s* is not known before the round).
    check_sigma_pt: Mapped[float | None] = mapped_column(sa.Double)
    homogeneity_passed: Mapped[bool | None]
    homogeneity_mean: Mapped[float | None] = mapped_column(sa.Double)
    homogeneity_s_s: Mapped[float | None] = mapped_column(sa.Double)
    homogeneity_criterion: Mapped[float | None] = mapped_column(sa.Double)
    stability_passed: Mapped[bool | None]
    stability_difference: Mapped[float | None] = mapped_column(sa.Double)
    stability_criterion: Mapped[float | None] = mapped_column(sa.Double)
    #: Why the material was dispatched although a verdict failed (or is missing).
    override_reason: Mapped[str | None] = mapped_column(sa.Text)

    # assigned value
    x_pt: Mapped[float | None] = mapped_column(sa.Double)
    u_x_pt: Mapped[float | None] = mapped_column(sa.Double)
    sigma_pt: Mapped[float | None] = mapped_column(sa.Double)
    value_source: Mapped[ValueSource | None] = mapped_column(
        str_enum(ValueSource, "eqa_material_value_source"))
    #: Algorithm A's robust SD and the number of results, when the value is a consensus.
    s_star: Mapped[float | None] = mapped_column(sa.Double)
    consensus_p: Mapped[int | None]
    u_x_pt_large: Mapped[bool | None]
    assigned_at: Mapped[datetime | None]
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[EqaRound] = relationship(back_populates="materials")

    @property
    def characterisation_passed(self) -> bool:
        """Both verdicts known and passed (a material never assessed does not pass)."""
        return bool(self.homogeneity_passed) and bool(self.stability_passed)

    def __repr__(self) -> str:
        return format_repr(self, "id", "round_id", "code", "pool_id")


class EqaCharacterisationMeasurement(Base):
    """One measurement of a homogeneity unit replicate or a stability unit. A re-entered set
    supersedes the previous one (``is_current``); nothing is deleted."""

    __tablename__ = "eqa_homogeneity_measurements"
    __table_args__ = (
        sa.CheckConstraint("unit_no >= 1 AND replicate IN (1, 2)", name="unit_and_replicate"),
        sa.Index("ix_eqa_homogeneity_measurements_material", "material_id", "kind", "is_current"),
    )

    id: Mapped[intpk]
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_materials.id"))
    kind: Mapped[CharacterisationKind] = mapped_column(
        str_enum(CharacterisationKind, "eqa_characterisation_kind"))
    unit_no: Mapped[int]
    replicate: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    value: Mapped[float] = mapped_column(sa.Double)
    is_current: Mapped[bool] = mapped_column(default=True)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return format_repr(self, "id", "material_id", "kind", "unit_no", "replicate")


class EqaLaboratory(Base):
    """A participating laboratory. ``methods`` lists `EqaMethod` values it uses."""

    __tablename__ = "eqa_laboratories"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    country: Mapped[str] = mapped_column(sa.String(100))
    contact: Mapped[str] = mapped_column(sa.String(500), default="")
    methods: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return format_repr(self, "id", "name")


class EqaLabAccount(Base):
    """A participant user account belongs to exactly one laboratory."""

    __tablename__ = "eqa_lab_accounts"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    laboratory_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_laboratories.id"), index=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    laboratory: Mapped[EqaLaboratory] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "user_id", "laboratory_id")


class EqaEnrolment(Base):
    """A laboratory in a round, known to everyone but the provider by ``lab_code`` only."""

    __tablename__ = "eqa_enrolments"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "laboratory_id"),
        sa.UniqueConstraint("round_id", "lab_code"),
        sa.CheckConstraint("arrived_on IS NULL OR shipped_on IS NULL OR arrived_on >= shipped_on",
                           name="arrival_after_dispatch"),
        sa.Index("ix_eqa_enrolments_laboratory", "laboratory_id", "round_id"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_rounds.id"))
    laboratory_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_laboratories.id"))
    lab_code: Mapped[str] = mapped_column(sa.String(16))
    enrolled_at: Mapped[datetime]
    enrolled_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    shipped_on: Mapped[date | None]
    arrived_on: Mapped[date | None]

    round: Mapped[EqaRound] = relationship(back_populates="enrolments")
    laboratory: Mapped[EqaLaboratory] = relationship()
    sample_codes: Mapped[list[EqaSampleCode]] = relationship(back_populates="enrolment")

    def __repr__(self) -> str:
        return format_repr(self, "id", "round_id", "lab_code")


class EqaSampleCode(Base):
    """The randomised code on the tube of one material sent to one laboratory: two
    laboratories' tubes of the same pool carry unrelated codes."""

    __tablename__ = "eqa_sample_codes"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "material_id"),)

    id: Mapped[intpk]
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_enrolments.id"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_materials.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)

    enrolment: Mapped[EqaEnrolment] = relationship(back_populates="sample_codes")
    material: Mapped[EqaMaterial] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "enrolment_id", "material_id", "code")


class CorrectionStatus(enum.StrEnum):
    """A correction sent after the deadline waits for the provider's decision."""
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class EqaResult(Base):
    """A laboratory's result for one material. ``u_x`` is its standard uncertainty (NULL when
    not reported); ``coverage_k`` the coverage factor it stated for its expanded uncertainty
    (U = k·u), needed for E_n. Corrections are new versions; exactly one is current.

    A correction after the deadline is stored at once as a version that is not current, with
    ``correction_status`` pending (at most one per laboratory and material); the provider's
    decision (who, when, why) makes it current or leaves it refused. NULL status: no decision
    was needed."""

    __tablename__ = "eqa_results"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "material_id", "version"),
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
        sa.CheckConstraint("u_x IS NULL OR u_x >= 0", name="u_x_not_negative"),
        sa.CheckConstraint("coverage_k IS NULL OR coverage_k > 0", name="coverage_k_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("uq_eqa_results_current", "enrolment_id", "material_id", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current")),
        sa.Index("ix_eqa_results_material_current", "material_id", "is_current"),
        sa.Index("uq_eqa_results_pending", "enrolment_id", "material_id", unique=True,
                 postgresql_where=sa.text("correction_status = 'pending'"),
                 sqlite_where=sa.text("correction_status = 'pending'")),
    )

    id: Mapped[intpk]
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_enrolments.id"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_materials.id"))
    value: Mapped[float] = mapped_column(sa.Double)
    unit: Mapped[EqaUnit] = mapped_column(str_enum(EqaUnit, "eqa_result_unit"))
    u_x: Mapped[float | None] = mapped_column(sa.Double)
    coverage_k: Mapped[float | None] = mapped_column(sa.Double)
    method: Mapped[EqaMethod] = mapped_column(str_enum(EqaMethod, "eqa_method"))
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    via: Mapped[ResultVia] = mapped_column(str_enum(ResultVia, "eqa_result_via"))
    late: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    #: Why this version replaced the previous one (NULL for the first).
    reason: Mapped[str | None] = mapped_column(sa.Text)
    correction_status: Mapped[CorrectionStatus | None] = mapped_column(
        str_enum(CorrectionStatus, "eqa_correction_status"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)

    enrolment: Mapped[EqaEnrolment] = relationship()
    material: Mapped[EqaMaterial] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "enrolment_id", "material_id", "version", "value")


class EqaScore(Base):
    """The scores of one result against the assigned value current at ``computed_at``.
    ``zeta`` is NULL without u_x; ``en`` is NULL without u_x and a coverage factor."""

    __tablename__ = "eqa_scores"
    __table_args__ = (
        sa.Index("uq_eqa_scores_current", "result_id", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current")),
        sa.Index("ix_eqa_scores_material_current", "material_id", "is_current"),
    )

    id: Mapped[intpk]
    result_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_results.id"))
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_materials.id"))
    x_pt: Mapped[float] = mapped_column(sa.Double)
    u_x_pt: Mapped[float] = mapped_column(sa.Double)
    sigma_pt: Mapped[float] = mapped_column(sa.Double)
    z: Mapped[float] = mapped_column(sa.Double)
    z_prime: Mapped[float] = mapped_column(sa.Double)
    zeta: Mapped[float | None] = mapped_column(sa.Double)
    en: Mapped[float | None] = mapped_column(sa.Double)
    #: The score that decides ``score_class``: z, or z′ when u(x_pt) > 0.3·σ_pt.
    score_kind: Mapped[ScoreKind] = mapped_column(str_enum(ScoreKind, "eqa_score_kind"))
    score_class: Mapped[ScoreClass] = mapped_column(str_enum(ScoreClass, "eqa_score_class"))
    en_class: Mapped[ScoreClass | None] = mapped_column(str_enum(ScoreClass, "eqa_en_class"))
    is_current: Mapped[bool] = mapped_column(default=True)
    computed_at: Mapped[datetime]
    computed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    result: Mapped[EqaResult] = relationship()

    @property
    def score(self) -> float:
        return self.z_prime if self.score_kind is ScoreKind.Z_PRIME else self.z

    def __repr__(self) -> str:
        return format_repr(self, "id", "result_id", "score_kind", "score_class")


class EqaDocument(Base):
    """An issued PDF, frozen: the bytes as issued and their SHA-256; re-issuing makes a new
    version."""

    __tablename__ = "eqa_documents"
    __table_args__ = (
        sa.CheckConstraint("language IN ('ru', 'kk', 'en')", name="language"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_eqa_documents_round", "round_id", "kind", "enrolment_id", "language",
                 "version"),
    )

    id: Mapped[intpk]
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind, "eqa_document_kind"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_rounds.id"))
    enrolment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("eqa_enrolments.id"))
    language: Mapped[str] = mapped_column(sa.String(5))
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    issued_at: Mapped[datetime]
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[EqaRound] = relationship()
    enrolment: Mapped[EqaEnrolment | None] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "kind", "round_id", "enrolment_id", "language", "version")

