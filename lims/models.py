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
from lims.eqa.external_models import (
    ExternalEvaluation,
    ExternalMaterial,
    ExternalMaterialSample,
    ExternalRound,
    ExternalScheme,
)
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
from lims.logistics.shipment_models import Shipment, ShipmentDiscrepancy, ShipmentItem
from lims.logistics.storage_models import Aliquot, RetentionRule, SampleDisposal, StorageUnit
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
    "Aliquot",
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
    "ExternalEvaluation",
    "ExternalMaterial",
    "ExternalMaterialSample",
    "ExternalRound",
    "ExternalScheme",
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
    "RetentionRule",
    "Sample",
    "SampleDisposal",
    "SampleKindRef",
    "StorageUnit",
    "SampleReceipt",
    "Shipment",
    "ShipmentDiscrepancy",
    "ShipmentItem",
    "SurveyRound",
    "User",
    "UserRole",
]
