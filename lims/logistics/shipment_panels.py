"""The home dashboard's shipments panel: shipments on the way or being received, oldest
first. Registered with ``@panel`` when the shipment views are imported; nothing is shown when
no shipment is open."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.home.panels import Link, Panel, capped_count, panel, tile
from lims.logistics.shipment_models import OPEN_STATUSES, Shipment
from lims.logistics.shipment_queries import open_shipments

#: Open shipments listed by name (the tiles count them all, up to the dashboard's cap).
SHOWN = 10


@panel("shipments", Permission.RECEIVE_SAMPLES)
def shipments(session: Session, actor: User, now: datetime) -> Panel | None:
    """Counted per status over ``ix_shipments_status_created``; the oldest open ones named."""
    counts = {status: capped_count(session, sa.select(Shipment.id).where(Shipment.status == status))
              for status in OPEN_STATUSES}
    if not any(counts.values()):
        return None
    result = Panel(_("Shipments"))
    result.tiles += [tile(label(status), count, url_for("shipments.index", status=status.value))
                     for status, count in counts.items()]
    result.links += [Link(f"{s.reference} · {s.region.iso_code} · {s.courier}",
                          url_for("shipments.receive", shipment_id=s.id),
                          _("%(status)s, dispatched %(when)s", status=label(s.status),
                            when=format_datetime(s.dispatched_at, "short")))
                     for s in open_shipments(session, limit=SHOWN)]
    return result
