"""The provider's EQA pages under ``/eqa/`` (programmes, rounds, materials, laboratories,
scores). Views are thin: the rules and the audit trail are the service's."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("eqa", __name__, url_prefix="/eqa", template_folder="templates")
