"""The JSON API for machines (instrument drivers) and scripts, under ``/api/v1``.

Authentication is by API token only (``token_required``), never by a browser session, so the
blueprint is exempt from CSRF. Errors are problem documents, rendered by
``lims.core.errors_views`` for every path under ``/api/``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, g, jsonify, request

from lims.api.openapi import OPENAPI
from lims.auth.security import token_required
from lims.capture.ingest import ingest_batch, validate_batch
from lims.capture.service import instrument_for_token
from lims.core.dt import now_utc
from lims.core.errors import NotFoundError, PermissionDenied, UnsupportedMediaType, ValidationError
from lims.core.inputs import JsonProblem, loads_strict
from lims.extensions import csrf, db
from lims.monitoring.models import Cluster, Region
from lims.samples.accession import normalise_query, parse_accession
from lims.samples.models import Sample

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.after_request
def _bearer_challenge(response: Response) -> Response:
    """RFC 6750: a 401 tells the client which scheme to use."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="IodineLIMS"'
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(OPENAPI)


@bp.get("/whoami")
@token_required
def whoami() -> dict[str, Any]:
    token = g.api_token
    return {"name": token.name, "prefix": token.prefix, "created_at": token.created_at.isoformat()}


@bp.get("/samples/<accession>")
@token_required
def sample(accession: str) -> dict[str, Any]:
    wanted = normalise_query(accession)
    if parse_accession(wanted) is None:
        raise NotFoundError(
            f"'{accession}' is not an accession number (expected e.g. U-2026-000123)",
            field="accession",
        )
    row = db.session.execute(
        sa.select(Sample.accession, Sample.kind, Sample.status, Cluster.code, Region.iso_code)
        .join(Cluster, Sample.cluster_id == Cluster.id)
        .join(Region, Sample.region_id == Region.id)
        .where(Sample.accession == wanted)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no sample has the accession number {wanted}", field="accession")
    return {
        "accession": row.accession,
        "kind": row.kind.value,
        "status": row.status.value,
        "cluster_code": row.code,
        "region_iso_code": row.iso_code,
    }


@bp.post("/readings")
@token_required
def submit_readings() -> dict[str, Any]:
    instrument = instrument_for_token(db.session, g.api_token.id)
    if instrument is None:
        raise PermissionDenied(
            "this API token belongs to no instrument; issue one on the instrument's page"
        )
    if not instrument.is_active:
        raise PermissionDenied(f"instrument {instrument.code} is out of service")
    if not request.is_json:
        raise UnsupportedMediaType("send the batch as JSON (Content-Type: application/json)")
    try:
        body = loads_strict(request.get_data(cache=False))
    except JsonProblem as problem:
        raise ValidationError(problem.message, field="body") from None
    items = validate_batch(body, instrument)
    outcomes = ingest_batch(db.session, instrument=instrument, items=items, now=now_utc())
    db.session.commit()
    return {"results": [o.to_dict() for o in outcomes]}
