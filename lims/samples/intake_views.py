"""STUB: replaced by the module owner."""
from flask_login import login_required

from lims.samples.blueprint import bp


@bp.get("/stub-register_urine")
@login_required
def register_urine() -> str:
    return "stub"


@bp.get("/stub-register_salt")
@login_required
def register_salt() -> str:
    return "stub"


@bp.get("/stub-batch_intake")
@login_required
def batch_intake() -> str:
    return "stub"
