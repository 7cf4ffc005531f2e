"""IodineLIMS web application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user

from lims.config import load_config
from lims.extensions import babel, csrf, db, login_manager

log = logging.getLogger(__name__)


def select_locale() -> str | None:
    """The language of this request: the logged-in person's own choice, else the one chosen in
    this browser's session (before login), else the browser's Accept-Language, else the lab's
    default (``BABEL_DEFAULT_LOCALE``, Russian unless configured)."""
    if not has_request_context():
        return None  # CLI and background work: the default locale
    languages = current_app_languages()
    stored = getattr(current_user, "language", None) if current_user else None
    if stored in languages:
        return stored
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_app_languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)

    from lims.core.inputs import URL_CONVERTERS

    # Every <int:...> of every route: an id beyond the databases' integer is a 404, not a 500;
    # every other segment: NUL, bidi overrides and zero-width characters are a 404.
    app.url_map.converters.update(URL_CONVERTERS)

    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)

    from lims.auth.security import init_login

    init_login(app)

    from lims.core import errors_views, headers, idempotency, templating

    errors_views.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    idempotency.init_app(app)

    from lims.admin.views import bp as admin_bp
    from lims.analysis.views import bp as analysis_bp
    from lims.api.views import bp as api_bp
    from lims.audit.views import bp as audit_bp
    from lims.auth.views import bp as auth_bp
    from lims.capture.views import bp as capture_bp
    from lims.core.views import bp as core_bp
    from lims.eqa.external_views import bp as eqa_external_bp
    from lims.eqa.participant_views import bp as eqa_lab_bp
    from lims.eqa.result_views import bp as eqa_results_bp
    from lims.eqa.views import bp as eqa_bp
    from lims.equipment.views import bp as equipment_bp
    from lims.home.views import bp as home_bp
    from lims.logistics.shipment_views import bp as shipments_bp
    from lims.logistics.storage_views import bp as storage_bp
    from lims.monitoring.views import bp as monitoring_bp
    from lims.reporting.views import bp as reporting_bp
    from lims.samples.views import bp as samples_bp

    for blueprint in (core_bp, auth_bp, admin_bp, samples_bp, monitoring_bp, capture_bp, api_bp,
                      analysis_bp, reporting_bp, audit_bp, equipment_bp, eqa_bp, eqa_lab_bp,
                      eqa_results_bp, eqa_external_bp, home_bp, storage_bp, shipments_bp):
        app.register_blueprint(blueprint)

    @app.before_request
    def _request_context() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")

    return app
