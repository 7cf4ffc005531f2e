"""Error pages and JSON problem documents (RFC 9457) for the ``LimsError`` hierarchy."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from lims.core.errors import LimsError, ValidationError
from lims.core.locking import conflict_from_integrity
from lims.extensions import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(LimsError)
    def handle_lims_error(error: LimsError) -> Any:
        db.session.rollback()
        extra: dict[str, Any] = {}
        if error.field:
            extra["field"] = error.field
        if isinstance(error, ValidationError) and error.errors:
            extra["errors"] = error.errors
        if wants_json():
            return problem(error.http_status, error.title, error.message, **extra)
        return (
            render_template("errors/error.html", status=error.http_status, title=error.title,
                            message=error.message, details=extra.get("errors", [])),
            error.http_status,
        )

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError) -> Any:
        """A write the database refused (a unique index behind the row locks): the same 409 as
        the service's own refusal, for pages and the JSON API alike."""
        return handle_lims_error(conflict_from_integrity(error))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if wants_json():
            return problem(status, error.name, error.description or error.name)
        return (
            render_template("errors/error.html", status=status, title=error.name,
                            message=error.description, details=[]),
            status,
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Any:
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        log.exception("unhandled error")
        db.session.rollback()
        if wants_json():
            return problem(500, "Internal Server Error", "an unexpected error occurred")
        return (
            render_template("errors/error.html", status=500, title="Internal Server Error",
                            message="An unexpected error occurred; nothing was saved.", details=[]),
            500,
        )
