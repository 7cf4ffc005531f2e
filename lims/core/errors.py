"""The ``LimsError`` hierarchy: every rule violation a user can cause, with its HTTP status.

Services raise these; the error handlers turn them into a page or a JSON problem document
(RFC 9457), so a form, the API and the CLI all report the same precise message.
"""

from __future__ import annotations


class LimsError(Exception):
    http_status = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(LimsError):
    """Input that cannot be accepted; ``errors`` may carry several (row, column, message)."""

    http_status = 422
    title = "Invalid input"

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


class PermissionDenied(LimsError):
    http_status = 403
    title = "Forbidden"


class UnsupportedMediaType(LimsError):
    http_status = 415
    title = "Unsupported Media Type"


class ConflictError(LimsError):
    http_status = 409
    title = "Conflict"


class InvalidTransition(ConflictError):
    title = "Transition not allowed"


class BusinessRuleViolation(LimsError):
    http_status = 422
    title = "Rule violated"
