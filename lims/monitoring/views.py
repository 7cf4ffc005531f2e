"""STUB: replaced by the module owner."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("monitoring", __name__)

@bp.get("/stub-coverage")
@login_required
def coverage() -> str:
    return "stub"

@bp.get("/stub-surveys")
@login_required
def surveys() -> str:
    return "stub"

@bp.get("/stub-reference")
@login_required
def reference() -> str:
    return "stub"
