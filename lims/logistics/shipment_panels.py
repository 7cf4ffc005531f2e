"""The home dashboard's shipments panel: shipments on the way or being received, oldest
first. Registered with ``@panel`` when the shipment views are imported; nothing is shown when
no shipment is open."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.labels import label
from lims.core.permissions import Permission
from lims.home.panels import Link, Panel, panel, tile
from lims.logistics.shipment_models import ShipmentStatus
from lims.logistics.shipment_queries import open_shipments

#: Open shipments listed by name; the tiles count them all.
SHOWN = 10


@panel("shipments", Permission.RECEIVE_SAMPLES)
def shipments(session: Session, actor: User, now: datetime) -> Panel | None:
    found = open_shipments(session, limit=1000)
    if not found:
        return None
    result = Panel(_("Shipments"))
    for status in (ShipmentStatus.IN_TRANSIT, ShipmentStatus.RECEIVING):
        result.tiles.append(tile(label(status), sum(1 for s in found if s.status is status),
                                 url_for("shipments.index", status=status.value)))
    result.links += [Link(f"{s.reference} · {s.region.iso_code} · {s.courier}",
                          url_for("shipments.receive", shipment_id=s.id),
                          _("%(status)s, dispatched %(when)s", status=label(s.status),
                            when=format_datetime(s.dispatched_at, "short")))
                     for s in found[:SHOWN]]
    return result
