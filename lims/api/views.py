"""STUB: replaced by the module owner."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")
