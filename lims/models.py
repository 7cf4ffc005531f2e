"""Every model in one import, for Alembic's autogenerate and the schema check."""

from lims.analysis.models import (
    AnalyticalRun,
    MethodVersionRow,
    ReagentLot,
    Result,
    RunSample,
)
from lims.audit.models import AuditEvent, AuditSeal
from lims.auth.models import ApiToken, User, UserRole
from lims.backup.models import BackupRun
from lims.capture.models import Instrument, InstrumentReading
from lims.core.idempotency import FormSubmission
from lims.core.models import Base
from lims.eqa.models import (
    EqaCharacterisationMeasurement,
    EqaDocument,
    EqaEnrolment,
    EqaLabAccount,
    EqaLaboratory,
    EqaMaterial,
    EqaProgramme,
    EqaResult,
    EqaRound,
    EqaSampleCode,
    EqaScore,
)
from lims.equipment.models import Calibration, Equipment, InstrumentHealth, MaintenanceEntry
from lims.monitoring.models import (
    Cluster,
    District,
    Household,
    Participant,
    PopulationGroup,
    Programme,
    Region,
    RegionLineage,
    SampleKindRef,
    SurveyRound,
)
from lims.qc.models import ControlLot, ControlMaterial, ControlResult
from lims.reporting.models import ReportJob
from lims.samples.models import AccessionCounter, IntakeBatch, Sample, SampleReceipt

__all__ = [
    "AccessionCounter",
    "AnalyticalRun",
    "ControlLot",
    "ControlMaterial",
    "ControlResult",
    "MethodVersionRow",
    "ReagentLot",
    "Result",
    "RunSample",
    "ApiToken",
    "AuditEvent",
    "AuditSeal",
    "BackupRun",
    "Base",
    "Cluster",
    "District",
    "FormSubmission",
    "Household",
    "IntakeBatch",
    "Instrument",
    "InstrumentReading",
    "InstrumentHealth",
    "Equipment",
    "EqaCharacterisationMeasurement",
    "EqaDocument",
    "EqaEnrolment",
    "EqaLabAccount",
    "EqaLaboratory",
    "EqaMaterial",
    "EqaProgramme",
    "EqaResult",
    "EqaRound",
    "EqaSampleCode",
    "EqaScore",
    "Calibration",
    "MaintenanceEntry",
    "Participant",
    "PopulationGroup",
    "Programme",
    "Region",
    "RegionLineage",
    "ReportJob",
    "Sample",
    "SampleKindRef",
    "SampleReceipt",
    "SurveyRound",
    "User",
    "UserRole",
]
