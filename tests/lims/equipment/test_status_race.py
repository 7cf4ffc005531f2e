"""Two people take one piece of equipment out of service at the same moment (a technician who
found it broken, a manager reading the service report): one change and one audit event, the
other person told it is out of service already — never two events, never a lost reason."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth.models import User
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.equipment import service
from lims.equipment.models import Equipment, EquipmentStatus
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, split

N = 4


@needs_postgres
def test_concurrent_status_changes_make_one(race_app: Flask) -> None:
    with race_app.app_context():
        admin = auth.create_user(db.session, actor=None, now=FIXED_NOW, username="eq-admin",
                                 password="correct-horse-battery-9", roles=[Role.ADMIN])
        db.session.commit()
        admin_id = admin.id

    for round_ in range(5):
        with race_app.app_context():
            equipment_id = service.register_equipment(
                db.session, actor=db.session.get(User, admin_id), now=FIXED_NOW,
                code=f"EQ-RACE-{round_}", name="Plate reader").id
            db.session.commit()

        def prepare(i: int) -> tuple[User, Equipment]:
            return (db.session.get(User, admin_id),
                    db.session.get(Equipment, equipment_id))

        def act(i: int, loaded: tuple[User, Equipment]) -> int:
            actor, equipment = loaded
            service.set_equipment_status(db.session, actor=actor, now=FIXED_NOW,
                                         equipment=equipment, in_service=False,
                                         reason=f"broken, seen by person {i}")
            return i

        winners, refused = split(race(race_app, N, prepare, act))
        assert len(winners) == 1 and len(refused) == N - 1
        assert all(isinstance(error, ConflictError) for error in refused)
        with race_app.app_context():
            stored = db.session.get(Equipment, equipment_id)
            assert stored.status is EquipmentStatus.OUT_OF_SERVICE
            assert stored.status_reason == f"broken, seen by person {winners[0]}"
            events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "equipment_status_changed",
                AuditEvent.entity_id == equipment_id))
            assert events == 1
