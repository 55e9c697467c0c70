"""One place that turns errors into pages: a message in the user's language, no trace.

Protocol endpoints answer in JSON (OAuth's ``error`` members); hosted pages answer with a
page. A database that cannot be reached is a 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .i18n import messages, negotiate, set_locale

log = logging.getLogger("idp")

_DEFAULT_KEYS = {400: "error.invalid_request", 401: "error.account.signed_out", 404: "error.not_found",
                 405: "error.method", 413: "error.too_large"}
# Endpoints whose callers are programs: they get JSON errors.
PROTOCOL_PATHS = ("/token", "/introspect", "/revoke", "/userinfo", "/jwks.json", "/.well-known/")
RETRY_AFTER_UNAVAILABLE = 30  # seconds: a database restart or a failover


def _error_locale() -> None:
    """Choose the page language without reading the body: an error page may answer a body
    that is too large (413), and reading it again would raise again."""
    if "locale" not in g:
        set_locale(negotiate(request.args.get("ui_locales")))


def _is_protocol() -> bool:
    return request.path.startswith(PROTOCOL_PATHS)


def _page(error: HTTPException):
    if _is_protocol() and error.code in (405, 413):
        return jsonify(error="invalid_request", error_description=error.name), error.code
    _error_locale()
    description = error.description or ""
    known = messages("fr")
    if description in known:
        key = description
    elif f"error.{description}" in known:
        key = f"error.{description}"
    else:
        key = _DEFAULT_KEYS.get(error.code or 500, "error.server")
    return render_template("error.html", message=key), error.code


def _unavailable(error: Exception):
    """The database cannot be reached: say so, and when to come back."""
    db.session.rollback()
    log.error("database unavailable: %s", type(error).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE), "Cache-Control": "no-store"}
    if _is_protocol():
        body = jsonify(error="temporarily_unavailable",
                       error_description="The service is briefly unavailable; try again shortly.")
        return body, 503, headers
    _error_locale()
    return render_template("error.html", message="error.unavailable"), 503, headers


def _server_error(error: Exception):
    if isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return _unavailable(error)
    db.session.rollback()
    _error_locale()
    log.exception("unhandled error", exc_info=error)
    if _is_protocol():
        return jsonify(error="server_error"), 500
    return render_template("error.html", message="error.server"), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _page)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(Exception, _server_error)
