"""The Instruments health page: each driver's state from its latest heartbeat."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from lims.auth.security import permission_required
from lims.core.dt import now_utc
from lims.core.permissions import Permission
from lims.equipment import panels as _dashboard_panel  # noqa: F401  (registers its panel)
from lims.equipment.queries import driver_states, watch_settings
from lims.extensions import db

bp = Blueprint("equipment", __name__, template_folder="templates")

#: How each state reads on the page (``silent`` adds the minutes).
STATE_LABELS: dict[str, Any] = {
    "never": _l("never reported"),
    "port_down": _l("port down"),
    "backlog": _l("spool backing up"),
    "online": _l("online"),
}


@bp.get("/equipment/instruments")
@permission_required(Permission.VIEW_SAMPLES, Permission.MANAGE_REFERENCE)
def instruments() -> str:
    settings = watch_settings()
    return render_template("equipment/instruments.html",
                           drivers=driver_states(db.session, now_utc(), settings),
                           settings=settings, state_labels=STATE_LABELS)
