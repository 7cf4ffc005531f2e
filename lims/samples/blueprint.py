"""The ``samples`` blueprint; its routes live in the *_views modules imported by ``views``."""

from flask import Blueprint

bp = Blueprint("samples", __name__, url_prefix="/samples", template_folder="templates")
