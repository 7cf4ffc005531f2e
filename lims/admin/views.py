"""STUB: replaced by the module owner."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

@bp.get("/stub-users")
@login_required
def users() -> str:
    return "stub"
