"""One place that turns errors into pages: a message in the user's language, no trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db
from .i18n import messages

log = logging.getLogger("idp")

_DEFAULT_KEYS = {400: "error.invalid_request", 401: "error.account.signed_out", 404: "error.not_found",
                 405: "error.method"}


def _page(error: HTTPException):
    description = error.description or ""
    known = messages("fr")
    if description in known:
        key = description
    elif f"error.{description}" in known:
        key = f"error.{description}"
    else:
        key = _DEFAULT_KEYS.get(error.code or 500, "error.server")
    return render_template("error.html", message=key), error.code


def _server_error(error: Exception):
    db.session.rollback()
    log.exception("unhandled error", exc_info=error)
    return render_template("error.html", message="error.server"), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _page)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(Exception, _server_error)
