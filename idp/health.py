"""Health probes for load balancers: liveness and readiness."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import keys
from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database answers and a signing key exists: this node can serve logins."""
    try:
        db.session.execute(text("SELECT 1"))
        ready = keys.current_key() is not None
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="database unavailable"), 503
    if not ready:
        return jsonify(status="no signing key"), 503
    return jsonify(status="ready")
