"""The OpenAPI 3.1 description of ``/api/v1``, as data. Served at ``/api/v1/openapi.json``; a test
checks it against the specification and against the app's routes, so it cannot drift."""

from __future__ import annotations

from typing import Any

from instruments.wire import (
    BATCH_RESULT_SCHEMA,
    ITEM_SCHEMA,
    MAX_BATCH,
    OUTCOME_SCHEMA,
    PLATE_SCHEMA,
    QUARANTINE_SCHEMA,
    READING_SCHEMA,
)
from lims.core.inputs import JSON_MAX_DEPTH
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind

API_VERSION = "1.0.0"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
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
    },
    "components": {
        "securitySchemes": {
            "bearerToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token (`lims_…`); only its SHA-256 is stored by the LIMS.",
            }
        },
        "responses": {
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
