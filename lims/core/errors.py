"""The ``LimsError`` hierarchy: every rule violation a user can cause, with its HTTP status.

Services raise these; the error handlers turn them into a page or a JSON problem document
(RFC 9457), so a form, the API and the CLI all report the same precise message.

``title`` is the English problem title of the JSON API (machines match on it, so it is never
translated); ``page_title`` is what an HTML error page shows, in the reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class LimsError(Exception):
    http_status = 400
    title = "Bad request"
    page_title: object = _l("Bad request")

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(LimsError):
    """Input that cannot be accepted; ``errors`` may carry several (row, column, message)."""

    http_status = 422
    title = "Invalid input"
    page_title: object = _l("Invalid input")

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.errors = errors or []


class NotFoundError(LimsError):
    http_status = 404
    title = "Not found"
    page_title: object = _l("Not found")


class PermissionDenied(LimsError):
    http_status = 403
    title = "Forbidden"
    page_title: object = _l("Forbidden")


class UnsupportedMediaType(LimsError):
    http_status = 415
    title = "Unsupported Media Type"
    page_title: object = _l("Unsupported file type")


class ConflictError(LimsError):
    http_status = 409
    title = "Conflict"
    page_title: object = _l("Conflict")


class InvalidTransition(ConflictError):
    title = "Transition not allowed"
    page_title: object = _l("Transition not allowed")


class BusinessRuleViolation(LimsError):
    http_status = 422
    title = "Rule violated"
    page_title: object = _l("Rule violated")


class ConfirmationRequired(LimsError):
    """The action is allowed but looks wrong: the person must answer the questions first.

    ``questions`` maps a stable code (sent back with the confirmed form) to the sentence shown;
    the service that raised it is called again with the codes the person confirmed, and records
    those answers in its audit event."""

    http_status = 409
    title = "Confirmation required"
    page_title: object = _l("Confirmation required")

    def __init__(self, message: str, *, questions: dict[str, str],
                 field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.questions = questions
