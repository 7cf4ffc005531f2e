"""The JSON API for machines (instrument drivers) and scripts, under ``/api/v1``.

Authentication is by API token only (``token_required``), never by a browser session, so the
blueprint is exempt from CSRF. Errors are problem documents, rendered by
``lims.core.errors_views`` for every path under ``/api/``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Blueprint, Response, g, jsonify, request, url_for

from lims.api.openapi import OPENAPI, REPORT_FILE_NAMES
from lims.auth.security import token_required
from lims.capture.ingest import ingest_batch, validate_batch
from lims.capture.models import Instrument
from lims.capture.service import instrument_for_token
from lims.core.dt import now_utc
from lims.core.errors import NotFoundError, PermissionDenied, UnsupportedMediaType, ValidationError
from lims.core.inputs import BadParameter, JsonProblem, loads_strict, query_id
from lims.core.permissions import Permission
from lims.equipment.service import record_heartbeat, validate_heartbeat
from lims.extensions import csrf, db
from lims.monitoring.models import Cluster, Region
from lims.reporting import published
from lims.reporting.models import ReportJob
from lims.samples.accession import normalise_query, parse_accession
from lims.samples.models import Sample
from reports.indicators import indicator_records

F = TypeVar("F", bound=Callable[..., Any])

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


@bp.post("/instruments/<code>/heartbeat")
@token_required
def instrument_heartbeat(code: str) -> dict[str, Any]:
    """A driver's health report (`instruments.health`), kept as the instrument's one state row.

    Refused like a reading: the token must be the instrument's own (a revoked one never gets
    here), the instrument in service; an unknown code is a 404."""
    named = db.session.scalar(sa.select(Instrument).where(Instrument.code == code))
    if named is None:
        raise NotFoundError(f"no instrument has the code {code!r}", field="code")
    instrument = instrument_for_token(db.session, g.api_token.id)
    if instrument is None or instrument.id != named.id:
        raise PermissionDenied(f"this API token does not belong to instrument {named.code}; a"
                               " driver reports with its own instrument's token")
    if not instrument.is_active:
        raise PermissionDenied(f"instrument {instrument.code} is out of service")
    if not request.is_json:
        raise UnsupportedMediaType("send the heartbeat as JSON (Content-Type: application/json)")
    try:
        body = loads_strict(request.get_data(cache=False))
    except JsonProblem as problem:
        raise ValidationError(problem.message, field="body") from None
    heartbeat = validate_heartbeat(body, instrument)
    now = now_utc()
    record_heartbeat(db.session, instrument=instrument, now=now, heartbeat=heartbeat)
    db.session.commit()
    return {"instrument_id": instrument.code, "received_at": now.isoformat()}


# --- open data: issued reports ------------------------------------------------------------------

#: The files of an issued report: URL name → (column, media type).
REPORT_FILES: dict[str, tuple[Any, str]] = dict(zip(REPORT_FILE_NAMES, (
    (ReportJob.pdf, "application/pdf"),
    (ReportJob.xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (ReportJob.results_zip, "application/zip"),
), strict=True))


def user_token(permission: Permission, *, instrument_refusal: str,
               user_refusal: str) -> Callable[[F], F]:
    """Endpoints for a person's scripts: a token whose user has ``permission``; an instrument
    driver's token is refused, whoever issued it. Marked for the access-matrix test like
    ``token_required`` (an instrument's token gets 403)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = g.api_token
            if instrument_for_token(db.session, token.id) is not None:
                raise PermissionDenied(instrument_refusal)
            if not token.created_by.can(permission):
                raise PermissionDenied(user_refusal)
            return view(*args, **kwargs)

        guarded = token_required(wrapped)
        guarded.refuses_instrument_tokens = True  # type: ignore[attr-defined]
        return cast(F, guarded)

    return decorator


#: Open-data endpoints: a token whose user may view reports (ministry, lab roles, admin).
reports_reader = user_token(
    Permission.VIEW_REPORTS,
    instrument_refusal="an instrument's token cannot read reports; use a token of a user who "
                       "may view reports",
    user_refusal="the user of this token may not view reports")


def _page_size() -> int:
    limit = query_id(request.args, "limit")
    if limit is None:
        return published.PAGE_DEFAULT
    if limit > published.PAGE_MAX:
        raise BadParameter(f"limit may be at most {published.PAGE_MAX}", field="limit")
    return limit


def _immutable(body: Any, tag: str) -> Response:
    """An issued version never changes: a strong ETag per version lets clients revalidate with
    ``If-None-Match`` and get a 304 without a body."""
    response = body if isinstance(body, Response) else jsonify(body)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


def _version_tag(job: ReportJob, part: str) -> str:
    return f"report-{job.id}-v{job.version}-{job.dataset_sha256 or ''}-{part}"


def _report_summary(job: ReportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "version": job.version,
        "kind": job.kind,
        "title": job.title,
        "lang": job.lang,
        "requested_at": job.requested_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "links": {"self": url_for("api.report", report_id=job.id)},
    }


@bp.get("/reports")
@reports_reader
def reports() -> dict[str, Any]:
    limit = _page_size()
    jobs = published.issued_page(db.session, before=query_id(request.args, "before"), limit=limit)
    following = (url_for("api.reports", before=jobs[-1].id, limit=limit)
                 if len(jobs) == limit else None)
    return {"items": [_report_summary(job) for job in jobs], "next": following}


@bp.get("/reports/<int:report_id>")
@reports_reader
def report(report_id: int) -> Response:
    job = published.issued_report(db.session, report_id)
    present = db.session.execute(
        sa.select(*(column.is_not(None) for column, _ in REPORT_FILES.values()))
        .where(ReportJob.id == job.id)).one()
    files = {name: url_for("api.report_file", report_id=job.id, name=name)
             for name, there in zip(REPORT_FILES, present, strict=True) if there}
    body = {
        **_report_summary(job),
        "params": job.params,
        "dataset_sha256": job.dataset_sha256,
        "dataset_rows": job.dataset_rows,
        "links": {"self": url_for("api.report", report_id=job.id),
                  "indicators": url_for("api.report_indicators", report_id=job.id),
                  "files": files},
    }
    # the tables follow the PDF by a few seconds: the document changes once, when they arrive
    return _immutable(body, _version_tag(job, "meta-" + "-".join(sorted(files))))


@bp.get("/reports/<int:report_id>/indicators")
@reports_reader
def report_indicators(report_id: int) -> Response:
    job = published.issued_report(db.session, report_id, ReportJob.xlsx)
    tag = _version_tag(job, "indicators")
    if job.xlsx is not None and tag in request.if_none_match:
        return _immutable(Response(), tag)  # no need to read the workbook again
    table = published.report_indicators(db.session, job)
    return _immutable({"report_id": job.id, "version": job.version,
                       "items": indicator_records(table)}, tag)


@bp.get("/reports/<int:report_id>/files/<name>")
@reports_reader
def report_file(report_id: int, name: str) -> Response:
    if name not in REPORT_FILES:
        raise NotFoundError(f"a report has no file {name!r} (it has: {', '.join(REPORT_FILES)})",
                            field="name")
    column, media_type = REPORT_FILES[name]
    job = published.issued_report(db.session, report_id, column)
    data = getattr(job, column.key)
    if data is None:
        raise NotFoundError(f"report {report_id} has no {name} yet (its tables follow the PDF)",
                            field="name")
    response = Response(data, mimetype=media_type, headers={
        "Content-Disposition":
            f'attachment; filename="monitoring-report-{job.id}-v{job.version}-{name}"'})
    return _immutable(response, _version_tag(job, name))


# The EQA participants' endpoints (``/eqa/…``) live in their own module, on this blueprint.
from lims.api import eqa as _eqa_participants  # noqa: F401
