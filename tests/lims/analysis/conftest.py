"""Fixtures of the analysis integration tests: the catalogue and QC lots, received samples, a
plate reader and a plate read from a run's layout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from lims.analysis import catalogue
from lims.analysis.demo import seed_demo_qc, simulated_plate
from lims.analysis.models import AnalyticalRun
from lims.auth.models import User
from lims.capture.models import (
    Instrument,
    InstrumentReading,
    Protocol,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.capture.service import InstrumentFields, create_instrument
from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.factories import unique

SEED = 7


@pytest.fixture()
def lab(session: Session, make_user: Callable[..., User]) -> dict[str, Any]:
    """Catalogue, QC lots with targets, a titrant lot, users and instruments."""
    admin = make_user(Role.ADMIN)
    seed_demo_qc(session, actor=admin, now=FIXED_NOW)
    reader = create_instrument(session, actor=admin, now=FIXED_NOW, fields=InstrumentFields(
        unique("READER-"), "Plate reader", Protocol.BIORAD))
    return {
        "admin": admin,
        "tech": make_user(Role.TECHNICIAN),
        "tech2": make_user(Role.TECHNICIAN, Role.REVIEWER),  # may review others' work only
        "reviewer": make_user(Role.REVIEWER),
        "reader": reader,
        "plate_method": catalogue.current_version(session, "UIC-SK-PLATE"),
        "titration": catalogue.current_version(session, "SALT-TITR"),
    }


@pytest.fixture()
def received(make_sample: Callable[..., Sample]) -> Callable[..., list[Sample]]:
    def factory(n: int, kind: SampleKind = SampleKind.URINE, **kwargs: Any) -> list[Sample]:
        return [make_sample(kind, status=SampleStatus.RECEIVED,
                            received_at=FIXED_NOW - timedelta(hours=n - i), **kwargs)
                for i in range(n)]

    return factory


def plate_reading(session: Session, instrument: Instrument,
                  wells: dict[str, float | None]) -> InstrumentReading:
    reading = InstrumentReading(
        instrument_id=instrument.id, idempotency_key=unique("plate-"), type=ReadingType.PLATE,
        source=ReadingSource.DRIVER, status=ReadingStatus.PENDING, received_at=FIXED_NOW,
        payload={"wells": wells, "over_range": [w for w, v in wells.items() if v is None]})
    session.add(reading)
    session.flush()
    return reading


@pytest.fixture()
def plate_for(session: Session) -> Callable[..., InstrumentReading]:
    """The simulated reader's plate for a run (optionally changed by ``edit``); the samples are
    at 60, 85, 110 … µg/L in run order, inside the curve, so every one gets a number."""

    def factory(run: AnalyticalRun, instrument: Instrument,
                edit: Callable[[dict[str, float | None]], None] | None = None
                ) -> InstrumentReading:
        truth = {item.sample.accession: 60.0 + 25.0 * i for i, item in enumerate(run.items)}
        wells = simulated_plate(session, run, seed=SEED, truth=truth)
        if edit is not None:
            edit(wells)
        return plate_reading(session, instrument, wells)

    return factory


