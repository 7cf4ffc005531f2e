"""STUB: replaced by the module owner."""
from flask_login import login_required

from lims.samples.blueprint import bp


@bp.get("/stub-index")
@login_required
def index() -> str:
    return "stub"
