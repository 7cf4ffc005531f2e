from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.catalogue import seed_methods
from lims.analysis.models import MethodVersionRow, Result, ResultStatus
from lims.auth.models import User
from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample
from tests.conftest import FIXED_NOW


@pytest.fixture()
def checker(make_user: Callable[..., User]) -> tuple[User, User]:
    """A technician who made the results and a reviewer who verified them."""
    return make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)


@pytest.fixture()
def make_result(session: Session, checker: tuple[User, User]) -> Callable[..., Result]:
    """A result row for a sample (verified unless told otherwise), as the analysis module
    stores them; the sample moves to the matching status."""
    seed_methods(session, now=FIXED_NOW)
    methods = {m.code: m.id for m in session.scalars(sa.select(MethodVersionRow))}
    technician, reviewer = checker

    def factory(sample: Sample, *, value: float | None = None, method: str = "UIC-SK-PLATE",
                status: ResultStatus = ResultStatus.VERIFIED, **fields: Any) -> Result:
        analyte = "uic" if method.startswith("UIC") else "salt_iodine"
        verified = status is ResultStatus.VERIFIED
        result = Result(sample_id=sample.id, analyte=analyte, method_version_id=methods[method],
                        status=status, value=value, unit="µg/L" if analyte == "uic" else "mg/kg",
                        created_at=FIXED_NOW, created_by_id=technician.id,
                        verified_at=FIXED_NOW if verified else None,
                        verified_by_id=reviewer.id if verified else None, **fields)
        session.add(result)
        sample.status = SampleStatus.VERIFIED if verified else SampleStatus.PENDING_REVIEW
        session.flush()
        return result

    return factory
