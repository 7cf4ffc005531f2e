"""Error pages and JSON problem documents (RFC 9457) for the ``LimsError`` hierarchy."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from lims.core.errors import LimsError, ValidationError
from lims.core.locking import conflict_from_integrity
from lims.extensions import db

log = logging.getLogger(__name__)

# What an HTML error page says for an HTTP status, in the reader's language. The JSON problems
# keep Werkzeug's English names and descriptions (the API speaks English to machines).
HTTP_TITLES: dict[int, object] = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("File too large"),
    415: _l("Unsupported file type"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
    500: _l("Internal error"),
    503: _l("Service unavailable"),
}
HTTP_MESSAGES: dict[int, object] = {
    400: _l("The request could not be understood. Please go back and try again."),
    401: _l("You need to log in to see this page."),
    403: _l("You do not have permission to see this page or to do this."),
    404: _l("There is no such page. Check the address or go back to the start page."),
    405: _l("This page cannot be used that way. Please go back and use the buttons of the page."),
    409: _l("Someone else changed this record meanwhile. Reload the page and try again."),
    413: _l("The file is too large."),
    415: _l("This kind of file cannot be read here."),
    422: _l("The input could not be accepted."),
    429: _l("Too many requests. Please wait a little and try again."),
    500: _l("An unexpected error occurred; nothing was saved."),
    503: _l("The service is unavailable for a moment. Please try again shortly."),
}


def http_error_page(error: HTTPException) -> tuple[str, str]:
    """Title and message of an HTML page for ``error``. Werkzeug's own (English) description is
    replaced by ours; a description the code gave to ``abort`` is shown as given (callers pass
    translated text)."""
    status = error.code or 500
    title = str(HTTP_TITLES.get(status, error.name))
    default = type(error).description
    if error.description and error.description != default:
        return title, error.description
    return title, str(HTTP_MESSAGES.get(status, title))


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
            render_template("errors/error.html", status=error.http_status, title=error.page_title,
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
        title, message = http_error_page(error)
        return (
            render_template("errors/error.html", status=status, title=title, message=message,
                            details=[]),
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
            render_template("errors/error.html", status=500, title=HTTP_TITLES[500],
                            message=HTTP_MESSAGES[500], details=[]),
            500,
        )
