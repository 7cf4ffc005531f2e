"""The OpenAPI 3.1 description of ``/api/v1``, as data. Served at ``/api/v1/openapi.json``; a test
checks it against the specification and against the app's routes, so it cannot drift."""

from __future__ import annotations

from typing import Any

from instruments.health import HEARTBEAT_SCHEMA
from instruments.wire import (
    BATCH_RESULT_SCHEMA,
    ITEM_SCHEMA,
    MAX_BATCH,
    OUTCOME_SCHEMA,
    PLATE_SCHEMA,
    QUARANTINE_SCHEMA,
    READING_SCHEMA,
)
from lims.core.inputs import ID_MAX, JSON_MAX_DEPTH
from lims.eqa.models import CorrectionStatus, EqaMethod, EqaUnit, ResultVia, RoundStatus, ScoreClass
from lims.reporting.published import PAGE_DEFAULT, PAGE_MAX
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from reports.indicators import COLUMNS, INDICATORS
from reports.texts import LANGUAGES

#: The files of an issued report under ``/reports/{report_id}/files/`` (``lims.api.views``).
REPORT_FILE_NAMES = ("report.pdf", "tables.xlsx", "results.zip")

API_VERSION = "1.1.0"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


#: The body of ``POST /eqa/enrolments/{enrolment_id}/results``; checked by `lims.api.eqa` before
#: the submission service applies the rules a schema cannot say.
EQA_RESULT_SUBMISSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["sample_code", "value", "unit", "method"],
    "additionalProperties": False,
    "properties": {
        "sample_code": {"type": "string", "minLength": 1, "maxLength": 16,
                        "description": "The code on the tube, as sent to your laboratory."},
        "value": {"type": "number", "minimum": 0,
                  "description": "The result, in the programme's unit; not above the"
                                 " programme's ceiling."},
        "unit": {"type": "string", "maxLength": 20, "examples": [u.value for u in EqaUnit],
                 "description": "Must be the programme's unit (never converted)."},
        "uncertainty": {"type": ["number", "null"], "exclusiveMinimum": 0,
                        "description": "Standard uncertainty u(x), in the same unit."},
        "coverage_k": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 10,
                       "description": "The coverage factor of your expanded uncertainty"
                                      " (U = k·u); needs `uncertainty`."},
        "method": {"type": "string", "enum": [m.value for m in EqaMethod]},
    },
}

_EQA_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "value", "unit", "uncertainty", "coverage_k", "method", "submitted_at",
                 "via", "late", "version", "correction_status"],
    "properties": {
        "id": {"type": "integer"},
        "value": {"type": "number"},
        "unit": {"type": "string", "enum": [u.value for u in EqaUnit]},
        "uncertainty": {"type": ["number", "null"]},
        "coverage_k": {"type": ["number", "null"]},
        "method": {"type": "string", "enum": [m.value for m in EqaMethod]},
        "submitted_at": {"type": "string", "format": "date-time"},
        "via": {"type": "string", "enum": [v.value for v in ResultVia]},
        "late": {"type": "boolean", "description": "Submitted after the deadline."},
        "version": {"type": "integer", "minimum": 1},
        "correction_status": {"type": ["string", "null"],
                              "enum": [*(c.value for c in CorrectionStatus), None]},
    },
}

_EQA_ENROLMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "lab_code", "round_code", "programme_code", "unit", "dispatch_date",
                 "deadline", "status", "deadline_passed", "links"],
    "properties": {
        "id": {"type": "integer"},
        "lab_code": {"type": "string", "description": "Your laboratory's code in this round."},
        "round_code": {"type": "string"},
        "programme_code": {"type": "string"},
        "unit": {"type": "string", "enum": [u.value for u in EqaUnit]},
        "dispatch_date": {"type": "string", "format": "date"},
        "deadline": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": [r.value for r in RoundStatus]},
        "deadline_passed": {"type": "boolean"},
        "links": {"type": "object", "required": ["self", "results"],
                  "properties": {"self": {"type": "string"}, "results": {"type": "string"}}},
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "IodineLIMS API",
        "version": API_VERSION,
        "summary": "Machine endpoints of the iodine laboratory LIMS.",
        "description": (
            "Used by instrument drivers and scripts. Every endpoint except this document needs an "
            "API token, issued by an administrator (Administration → API tokens, or "
            "`lims tokens create`) and sent as `Authorization: Bearer <token>`. Errors are "
            "RFC 9457 problem documents (`application/problem+json`)."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerToken": []}],
    "paths": {
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/whoami": {
            "get": {
                "operationId": "whoAmI",
                "summary": "Which token is this? Lets a driver check its configuration.",
                "responses": {
                    "200": {
                        "description": "The token that authenticated the request.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TokenInfo"}
                            }
                        },
                    },
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                },
            }
        },
        "/samples/{accession}": {
            "get": {
                "operationId": "getSample",
                "summary": "Look up a sample by accession number (e.g. a scanned barcode).",
                "parameters": [
                    {
                        "name": "accession",
                        "in": "path",
                        "required": True,
                        "description": "Accession number, e.g. `U-2026-000123`; case and spaces "
                        "are ignored.",
                        "schema": {"type": "string", "examples": ["U-2026-000123"]},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The sample.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SampleSummary"}
                            }
                        },
                    },
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
        "/readings": {
            "post": {
                "operationId": "submitReadings",
                "summary": "File readings from an instrument driver's spool (batches of up to "
                f"{MAX_BATCH}).",
                "description": (
                    "Needs the instrument's own token (issued on the instrument's page); every item"
                    " must name that instrument. Items are answered in order: `attached` to a"
                    " sample, `unmatched` (kept for a technician, with the reason), `pending` (a"
                    " plate waiting for a run) or `duplicate` (the idempotency key was filed before;"
                    " nothing stored again). A batch with any malformed item is refused whole (422)"
                    " and `errors[].index` names the items. The body is strict JSON (RFC 8259):"
                    " `NaN`, `Infinity`, a number that overflows to one, a `\\u0000` or nesting"
                    f" deeper than {JSON_MAX_DEPTH} levels is a 422 whose `detail` names it."
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReadingBatch"}}},
                },
                "responses": {
                    "200": {
                        "description": "One outcome per item, in the order sent.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReadingBatchResult"}}},
                    },
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": _problem_response("The token belongs to no instrument, or the instrument is out of service."),
                    "413": _problem_response("The request body is too large."),
                    "415": _problem_response("The body is not JSON (`Content-Type: application/json`)."),
                    "422": _problem_response("The batch was refused whole; `errors` lists each problem"
                                             " (or `detail` names what is not strict JSON)."),
                },
            }
        },
        "/instruments/{code}/heartbeat": {
            "post": {
                "operationId": "reportDriverHealth",
                "summary": "A driver's health report, every few seconds (kept: the latest one).",
                "description": (
                    "Needs the instrument's own token, as readings do; the instrument must be in"
                    " service. The LIMS keeps one state row per instrument (upserted) and shows"
                    " it on the Instruments page: online, silent for N minutes (no heartbeat"
                    " within the instrument's limit), port down, or spool backing up. Times are"
                    " RFC 3339 with a zone (the driver PC's clock); the LIMS measures silence by"
                    " its own clock. Fields are bounded; the first bad one is named in `field`"
                    " of the 422 (`errors` lists all). The body is strict JSON."
                ),
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "description": "The instrument's code (its driver's instrument_id).",
                                "schema": {"type": "string", "maxLength": 64}}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Heartbeat"}}},
                },
                "responses": {
                    "200": {
                        "description": "Recorded.",
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["instrument_id", "received_at"],
                            "properties": {"instrument_id": {"type": "string"},
                                           "received_at": {"type": "string", "format": "date-time"}}}}},
                    },
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": _problem_response("The token is not this instrument's, or the instrument"
                                             " is out of service."),
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "415": _problem_response("The body is not JSON (`Content-Type: application/json`)."),
                    "422": _problem_response("A field is missing, unknown, of the wrong type or out of"
                                             " bounds; `field` names it."),
                },
            }
        },

        "/eqa/enrolments": {
            "get": {
                "operationId": "listEqaEnrolments",
                "summary": "Your laboratory's EQA enrolments, newest round first.",
                "description": (
                    "Needs the token of an EQA participant account; it sees its own laboratory"
                    " only. Any other token is refused (403)."
                ),
                "responses": {
                    "200": {"description": "Your enrolments.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EqaEnrolmentList"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NotParticipant"},
                },
            }
        },
        "/eqa/enrolments/{enrolment_id}": {
            "get": {
                "operationId": "getEqaEnrolment",
                "summary": "One of your enrolments: your sample codes, your results and, once"
                           " the round is reported, the assigned values and your scores.",
                "parameters": [{"$ref": "#/components/parameters/EnrolmentId"}],
                "responses": {
                    "200": {"description": "The enrolment.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EqaEnrolmentDetail"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NotParticipant"},
                    "404": _problem_response("No enrolment of your laboratory has this id"
                                             " (another laboratory's is not found either)."),
                },
            }
        },
        "/eqa/enrolments/{enrolment_id}/results": {
            "post": {
                "operationId": "submitEqaResult",
                "summary": "Submit your result for one sample of the round.",
                "description": (
                    "One result per sample: a second one is refused (409); a correction is made"
                    " on the participant pages with its reason. After the deadline the result"
                    " is accepted and flagged `late`."
                ),
                "parameters": [{"$ref": "#/components/parameters/EnrolmentId"}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/EqaResultSubmission"}}}},
                "responses": {
                    "201": {"description": "The result as stored.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EqaResult"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NotParticipant"},
                    "404": _problem_response("No enrolment of your laboratory has this id."),
                    "409": _problem_response("The round is not dispatched yet or is closed, or a"
                                             " result for this sample was already submitted."),
                    "415": _problem_response("The body is not JSON (`Content-Type: application/json`)."),
                    "422": _problem_response("The body does not match the schema, the sample code"
                                             " was not sent to your laboratory, the unit is not the"
                                             " programme's, or a number is out of range; `field`"
                                             " and `errors` name it."),
                },
            }
        },
        "/reports": {
            "get": {
                "operationId": "listReports",
                "summary": "Issued report versions, newest first (open data).",
                "description": (
                    "Needs a token of a user who may view reports (ministry, laboratory roles,"
                    " administrator); an instrument's token is refused (403). Keyset pages: follow"
                    " `next` (or pass the last `id` seen as `before`)."
                ),
                "parameters": [
                    {"name": "before", "in": "query", "required": False,
                     "description": "Only reports with a smaller id (the cursor).",
                     "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}},
                    {"name": "limit", "in": "query", "required": False,
                     "description": f"Page size (default {PAGE_DEFAULT}).",
                     "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
                ],
                "responses": {
                    "200": {"description": "One page of issued reports.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportPage"}}}},
                    "400": _problem_response("`before` or `limit` is not a whole number in range."),
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NoReports"},
                },
            }
        },
        "/reports/{report_id}": {
            "get": {
                "operationId": "getReport",
                "summary": "One issued report version: metadata and links to its indicators and files.",
                "parameters": [{"$ref": "#/components/parameters/ReportId"},
                               {"$ref": "#/components/parameters/IfNoneMatch"}],
                "responses": {
                    "200": {"description": "The report (with a strong `ETag`).",
                            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}}},
                    "304": {"description": "Not modified (the `If-None-Match` tag is current)."},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NoReports"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
        "/reports/{report_id}/indicators": {
            "get": {
                "operationId": "getReportIndicators",
                "summary": "The report's indicators as a tidy table, as published.",
                "description": (
                    "One row per indicator × unit (`national` or a region's ISO 3166-2 code) ×"
                    " group (population group code, or salt method) × period, with n, the"
                    " estimate, its 95 % CI and the unit of measure. Read from the spreadsheet"
                    " frozen with the issued version. A figure published only as an interval"
                    " (below the LOD) has `estimate: null` and its printed form in `shown`;"
                    " `class` is the WHO class as printed, in the report's language. Indicators: "
                    + ", ".join(f"`{i.code}` ({i.description}, {i.unit})" for i in INDICATORS) + "."
                ),
                "parameters": [{"$ref": "#/components/parameters/ReportId"},
                               {"$ref": "#/components/parameters/IfNoneMatch"}],
                "responses": {
                    "200": {"description": "The tidy indicator table.",
                            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IndicatorTable"}}}},
                    "304": {"description": "Not modified."},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NoReports"},
                    "404": _problem_response("No such issued report, or its tables are still being written."),
                },
            }
        },
        "/reports/{report_id}/files/{name}": {
            "get": {
                "operationId": "getReportFile",
                "summary": "A file of the issued version, byte for byte as published.",
                "parameters": [
                    {"$ref": "#/components/parameters/ReportId"},
                    {"name": "name", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(REPORT_FILE_NAMES)}},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "responses": {
                    "200": {"description": "The file: the PDF, the spreadsheet of the report's"
                                           " tables, or the de-identified results (CSV files in a ZIP).",
                            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                            {"schema": {"type": "string", "format": "binary"}},
                                        "application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                    "304": {"description": "Not modified."},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": {"$ref": "#/components/responses/NoReports"},
                    "404": _problem_response("No such report or file, or the file is not written yet."),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token (`lims_…`); only its SHA-256 is stored by the LIMS.",
            }
        },
        "parameters": {
            "ReportId": {"name": "report_id", "in": "path", "required": True,
                         "description": "The id of an issued report version.",
                         "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}},
            "EnrolmentId": {"name": "enrolment_id", "in": "path", "required": True,
                            "description": "The id of one of your laboratory's enrolments.",
                            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}},
            "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": False,
                            "description": "An `ETag` received before; an issued version never "
                                           "changes, so a match answers 304.",
                            "schema": {"type": "string"}},
        },
        "headers": {
            "ETag": {"description": "Strong entity tag of the issued version.",
                     "schema": {"type": "string"}},
        },
        "responses": {
            "NoReports": _problem_response("The token is an instrument's, or its user may not"
                                           " view reports."),
            "NotParticipant": _problem_response("The token is an instrument's, or its user is"
                                                " not an EQA participant."),
            "Unauthorized": _problem_response("No API token, or an unknown or revoked one."),
            "NotFound": _problem_response("No such resource; `detail` says what was looked for."),
        },
        "schemas": {
            "Problem": {
                "type": "object",
                "description": "RFC 9457 problem details.",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string", "format": "uri-reference"},
                    "title": {"type": "string"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "detail": {"type": "string"},
                    "field": {"type": "string", "description": "The input the problem is about."},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer", "description": "Batch item."},
                                "path": {"type": "string", "description": "JSON path."},
                                "row": {"type": ["integer", "null"]},
                                "column": {"type": ["string", "null"]},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "ReadingBatch": {
                "type": "object",
                "required": ["items"],
                "additionalProperties": False,
                "properties": {
                    "items": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                              "items": {"$ref": "#/components/schemas/ReadingItem"}},
                },
            },
            "ReadingItem": ITEM_SCHEMA,
            "Reading": READING_SCHEMA,
            "PlateReading": PLATE_SCHEMA,
            "Quarantined": QUARANTINE_SCHEMA,
            "ReadingBatchResult": {
                **BATCH_RESULT_SCHEMA,
                "properties": {"results": {"type": "array",
                                           "items": {"$ref": "#/components/schemas/ReadingOutcome"}}},
            },
            "ReadingOutcome": OUTCOME_SCHEMA,
            "Heartbeat": HEARTBEAT_SCHEMA,
            "EqaResultSubmission": EQA_RESULT_SUBMISSION_SCHEMA,
            "EqaResult": _EQA_RESULT,
            "EqaEnrolment": _EQA_ENROLMENT,
            "EqaEnrolmentList": {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array",
                                         "items": {"$ref": "#/components/schemas/EqaEnrolment"}}},
            },
            "EqaEnrolmentDetail": {
                "allOf": [{"$ref": "#/components/schemas/EqaEnrolment"}],
                "type": "object",
                "required": ["materials"],
                "properties": {"materials": {"type": "array", "items": {
                    "type": "object",
                    "required": ["sample_code", "result", "pending_correction", "score",
                                 "assigned_value", "sigma_pt"],
                    "properties": {
                        "sample_code": {"type": "string"},
                        "result": {"oneOf": [{"$ref": "#/components/schemas/EqaResult"},
                                             {"type": "null"}]},
                        "pending_correction": {"oneOf": [{"$ref": "#/components/schemas/EqaResult"},
                                                         {"type": "null"}]},
                        "score": {"oneOf": [{"type": "null"}, {
                            "type": "object", "required": ["kind", "value", "class", "zeta", "en"],
                            "properties": {
                                "kind": {"type": "string", "enum": ["z", "z_prime"]},
                                "value": {"type": "number"},
                                "class": {"type": "string", "enum": [c.value for c in ScoreClass]},
                                "zeta": {"type": ["number", "null"]},
                                "en": {"type": ["number", "null"]},
                            }}]},
                        "assigned_value": {"type": ["number", "null"],
                                           "description": "Shown once the round is reported."},
                        "sigma_pt": {"type": ["number", "null"]},
                    },
                }}},
            },
            "ReportSummary": {
                "type": "object",
                "required": ["id", "version", "kind", "title", "lang", "requested_at", "links"],
                "properties": {
                    "id": {"type": "integer"},
                    "version": {"type": "integer", "minimum": 1},
                    "kind": {"type": "string", "examples": ["monitoring"]},
                    "title": {"type": "string"},
                    "lang": {"type": "string", "enum": list(LANGUAGES)},
                    "requested_at": {"type": "string", "format": "date-time"},
                    "finished_at": {"type": ["string", "null"], "format": "date-time"},
                    "links": {"type": "object", "properties": {"self": {"type": "string"}}},
                },
            },
            "ReportPage": {
                "type": "object",
                "required": ["items", "next"],
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/ReportSummary"}},
                    "next": {"type": ["string", "null"], "description": "The next page, if any."},
                },
            },
            "Report": {
                "allOf": [{"$ref": "#/components/schemas/ReportSummary"}],
                "type": "object",
                "required": ["params", "dataset_sha256", "dataset_rows", "links"],
                "properties": {
                    "params": {"type": "object", "description": "Scope and options as requested."},
                    "dataset_sha256": {"type": ["string", "null"]},
                    "dataset_rows": {"type": ["integer", "null"]},
                    "links": {
                        "type": "object",
                        "required": ["self", "indicators", "files"],
                        "properties": {
                            "self": {"type": "string"},
                            "indicators": {"type": "string"},
                            "files": {"type": "object", "description": "File name → URL, for the"
                                      " files written so far.",
                                      "additionalProperties": {"type": "string"}},
                        },
                    },
                },
            },
            "IndicatorTable": {
                "type": "object",
                "required": ["report_id", "version", "items"],
                "properties": {
                    "report_id": {"type": "integer"},
                    "version": {"type": "integer"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/IndicatorRow"}},
                },
            },
            "IndicatorRow": {
                "type": "object",
                "required": list(COLUMNS),
                "properties": {
                    "indicator": {"type": "string", "enum": [i.code for i in INDICATORS]},
                    "region_code": {"type": "string", "examples": ["national", "KZ-75"]},
                    "group": {"type": "string", "examples": ["SAC", "PW", "titration"]},
                    "period": {"type": ["string", "null"]},
                    "n": {"type": ["integer", "null"]},
                    "estimate": {"type": ["number", "null"]},
                    "ci_low": {"type": ["number", "null"]},
                    "ci_high": {"type": ["number", "null"]},
                    "shown": {"type": ["string", "null"]},
                    "class": {"type": ["string", "null"]},
                    "unit_of_measure": {"type": "string", "enum": sorted({i.unit for i in INDICATORS})},
                },
            },
            "TokenInfo": {
                "type": "object",
                "required": ["name", "prefix", "created_at"],
                "properties": {
                    "name": {"type": "string"},
                    "prefix": {
                        "type": "string",
                        "description": "The first characters of the token.",
                    },
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "SampleSummary": {
                "type": "object",
                "required": ["accession", "kind", "status", "cluster_code", "region_iso_code"],
                "properties": {
                    "accession": {"type": "string"},
                    "kind": {"type": "string", "enum": [k.value for k in SampleKind]},
                    "status": {"type": "string", "enum": [s.value for s in SampleStatus]},
                    "cluster_code": {"type": "string"},
                    "region_iso_code": {"type": "string", "examples": ["KZ-11"]},
                },
            },
        },
    },
}
