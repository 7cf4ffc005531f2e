from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.capture.models import Instrument, Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.permissions import Role
from tests.conftest import FIXED_NOW
from tests.factories import unique


@pytest.fixture()
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN)


@pytest.fixture()
def make_instrument(session: Session, admin: User) -> Callable[..., tuple[Instrument, str | None]]:
    """An instrument and (for those with a driver) the secret of its token."""

    def factory(protocol: Protocol = Protocol.ASTM, **fields: Any) -> tuple[Instrument, str | None]:
        values = {"code": unique("ICPMS-"), "name": "Agilent 7900", "protocol": protocol, **fields}
        instrument = create_instrument(session, actor=admin, now=FIXED_NOW,
                                       fields=InstrumentFields(**values))
        secret = None
        if protocol not in (Protocol.MANUAL, Protocol.FILE):
            secret = issue_instrument_token(session, actor=admin, now=FIXED_NOW, instrument=instrument)
        session.commit()
        return instrument, secret

    return factory
