"""A double-submitted form acts once; the second answer shows the first one's outcome.

Every `LimsForm` carries a hidden nonce, fresh each time the form is rendered (so one rendered
page is one intended submission). When a POST carries one, a claim row with that nonce is
inserted *before* the view runs, in the transaction the view then commits with its action: the
nonce's unique constraint makes a concurrent duplicate wait for the first and then fail to
insert, so the action can never happen twice. After the view, the outcome (the redirect target)
is written on the claim; a duplicate answers with a redirect to the same place and a notice, or
with a 409 when the first is still being processed. A view that commits nothing (invalid form,
refused by a rule) leaves no claim, so a corrected form goes through.

It is one pair of request hooks, not a decorator per view: every form that renders a `LimsForm`
is covered; views that must not be replayed (the login) are marked `@idempotency_exempt`.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from lims.core.dt import now_utc
from lims.core.errors import ConflictError
from lims.core.models import Base, format_repr, intpk
from lims.core.templating import safe_next
from lims.extensions import db

log = logging.getLogger(__name__)

#: The form field (and POST key) that carries the nonce.
NONCE_FIELD = "form_nonce"
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")
_CLAIM_KEY = "form_claim"
#: How long a duplicate waits for the first submission's outcome before answering 409.
REPLAY_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.05
_LOCATION_MAX = 2000
#: Used nonces are kept this long (a form page sent twice a week apart is sent twice) and
#: pruned by every `PRUNE_EVERY`-th submission, so the table stays small without a cron job.
KEEP_FOR = timedelta(days=7)
PRUNE_EVERY = 500

F = TypeVar("F", bound=Callable[..., Any])


class FormSubmission(Base):
    """A form nonce that performed its action, with the answer it got."""

    __tablename__ = "form_submissions"

    id: Mapped[intpk]
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    endpoint: Mapped[str] = mapped_column(sa.String(120))
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    #: HTTP status of the first answer; None while the first submission is still being answered.
    status_code: Mapped[int | None]
    #: Where the first answer redirected to (None when it rendered a page).
    location: Mapped[str | None] = mapped_column(sa.String(_LOCATION_MAX))

    def __repr__(self) -> str:
        return format_repr(self, "id", "endpoint", "status_code")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def idempotency_exempt(view: F) -> F:
    """Mark a view whose repeated POST must run again (the login: a replay would not log in)."""
    view._idempotency_exempt = True  # type: ignore[attr-defined]
    return view


@dataclass
class _Claim:
    nonce: str
    state: str = "pending"  # → "committed" with the view's action, or "dropped"


def _user_id() -> int | None:
    return int(current_user.id) if current_user and current_user.is_authenticated else None


def _lookup(session: Session, nonce: str) -> FormSubmission | None:
    return session.scalar(sa.select(FormSubmission).where(FormSubmission.nonce == nonce))


def _claim() -> Response | None:
    """Before the view: replay a nonce already used, or claim it in the view's transaction."""
    if request.method != "POST" or NONCE_FIELD not in request.form:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_idempotency_exempt", False):
        return None
    nonce = request.form[NONCE_FIELD]
    if not _NONCE.match(nonce):
        raise BadRequest(_("The form is damaged; reload the page and send it again."))
    session = db.session
    earlier = _lookup(session, nonce)
    if earlier is not None:
        return _replay(session, earlier)
    session.add(FormSubmission(nonce=nonce, user_id=_user_id(), endpoint=request.endpoint or "",
                               submitted_at=now_utc()))
    try:
        session.flush()  # a concurrent duplicate waits here until the first commits or rolls back
    except sa.exc.IntegrityError:
        session.rollback()
        return _replay(session, _await_outcome(session, nonce))
    session.info[_CLAIM_KEY] = _Claim(nonce)
    return None


def _await_outcome(session: Session, nonce: str) -> FormSubmission | None:
    """The first submission committed its action; its answer follows within milliseconds."""
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while True:
        earlier = _lookup(session, nonce)
        if earlier is None or earlier.status_code is not None or time.monotonic() > deadline:
            return earlier
        session.rollback()  # a fresh snapshot, and no lock held while waiting (SQLite)
        time.sleep(_POLL_SECONDS)


def _replay(session: Session, earlier: FormSubmission | None) -> Response:
    """The second answer: the first one's redirect, with a notice; 409 if it is not known yet."""
    session.rollback()  # writes nothing; frees SQLite's write lock at once
    if earlier is None or earlier.user_id != _user_id():
        raise ConflictError(_("This form was already sent; reload the page to send it again."))
    if earlier.status_code is None:
        raise ConflictError(_("This form is still being processed; reload the page in a moment."))
    flash(_("This form had already been sent, and was processed once; here is its outcome."),
          "info")
    location = earlier.location or _referring_page() or url_for("home.index")
    return redirect(location, 303)


def _referring_page() -> str | None:
    """The page the form was sent from, if it is on this site (where a rendered answer was)."""
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, "") or None


def _record(response: Response) -> Response:
    """After the view: write the outcome on a claim committed with the action, or drop a claim
    whose view committed nothing."""
    session = db.session
    claim: _Claim | None = session.info.pop(_CLAIM_KEY, None)
    if claim is None:
        return response
    if claim.state == "pending":  # the view wrote nothing: the nonce stays usable
        session.rollback()
    elif claim.state == "committed":
        location = response.location if response.status_code in (301, 302, 303, 307, 308) else None
        if location is not None and len(location) > _LOCATION_MAX:
            location = None
        try:
            session.rollback()
            claim_id = session.scalar(
                sa.update(FormSubmission).where(FormSubmission.nonce == claim.nonce)
                .values(status_code=response.status_code, location=location)
                .returning(FormSubmission.id))
            if claim_id is not None and claim_id % PRUNE_EVERY == 0:
                session.execute(sa.delete(FormSubmission).where(
                    FormSubmission.submitted_at < now_utc() - KEEP_FOR))
            session.commit()
        except sa.exc.SQLAlchemyError:  # the action stands; a duplicate then gets a 409
            log.exception("could not record the outcome of form %s", request.endpoint)
            session.rollback()
    return response


def _on_commit(session: Session) -> None:
    claim = session.info.get(_CLAIM_KEY)
    if claim is not None and claim.state == "pending":
        claim.state = "committed"


def _on_rollback(session: Session) -> None:
    claim = session.info.get(_CLAIM_KEY)
    if claim is not None and claim.state == "pending":
        claim.state = "dropped"


def nonce_input() -> Markup:
    """The nonce for a form written by hand (a one-button form with its CSRF input): the same
    one-time key a `LimsForm` renders, so a double click there acts once too."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (NONCE_FIELD, new_nonce())


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nonce_input"] = nonce_input
    app.before_request(_claim)
    app.after_request(_record)
    if not sa.event.contains(Session, "after_commit", _on_commit):
        sa.event.listen(Session, "after_commit", _on_commit)
        sa.event.listen(Session, "after_rollback", _on_rollback)
