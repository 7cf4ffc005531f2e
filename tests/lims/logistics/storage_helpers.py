"""Shared set-up of the storage tests: a freezer → rack → box tree and received samples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.logistics import storage
from lims.logistics.storage_models import StorageUnit, UnitLevel
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW
from tests.factories import unique


def make_box(session: Session, actor: User, *, rows: int = 9, cols: int = 9,
             kind: SampleKind = SampleKind.URINE, rack: StorageUnit | None = None,
             code: str | None = None) -> StorageUnit:
    """A box in a new rack of a new freezer (or in ``rack``)."""
    if rack is None:
        freezer = storage.create_unit(session, actor=actor, now=FIXED_NOW,
                                      level=UnitLevel.FREEZER, code=unique("F"))
        rack = storage.create_unit(session, actor=actor, now=FIXED_NOW, level=UnitLevel.RACK,
                                   code=unique(f"{freezer.code}-R"), parent=freezer)
    return storage.create_unit(session, actor=actor, now=FIXED_NOW, level=UnitLevel.BOX,
                               code=code or unique(f"{rack.code}-B"), parent=rack, n_rows=rows,
                               n_cols=cols, sample_kind=kind)


def received(make_sample: Callable[..., Sample], kind: SampleKind = SampleKind.URINE,
             **kwargs: Any) -> Sample:
    values: dict[str, Any] = {"status": SampleStatus.RECEIVED,
                              "received_at": FIXED_NOW - timedelta(hours=1)}
    values.update(kwargs)
    return make_sample(kind, **values)
