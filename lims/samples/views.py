"""STUB: replaced by the module owner."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("samples", __name__, url_prefix="/samples")

@bp.get("/stub-index")
@login_required
def index() -> str:
    return "stub"

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

@bp.get("/stub-receive")
@login_required
def receive() -> str:
    return "stub"
