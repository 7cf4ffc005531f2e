"""Security headers on every response (pages, JSON, downloads, error pages), set in one place.

The Content-Security-Policy allows scripts, styles, images and fonts from this origin only:
no inline ``<script>``, no ``onclick=`` handlers, no ``style=`` attributes (behaviour lives in
``lims/static/*.js`` and is declared with ``data-`` attributes). ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY`` (for browsers that predate CSP 2) keep the pages out of frames, so no
other site can overlay them to steal clicks. ``Strict-Transport-Security`` is the HTTPS proxy's
business (see README, "Production deployment"): the app cannot know the scheme it is served at.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Set each header unless the view chose its own value for it."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
