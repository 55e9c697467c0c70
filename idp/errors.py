"""One place that turns errors into pages: a message in the user's language, no trace.

Protocol endpoints answer in JSON (OAuth's ``error`` members); hosted pages answer with a
page. A database that cannot be reached is a 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
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
# The page's title and h1 say what happened: by the message when one family of messages
# shares a title, else by the status.
_TITLES_BY_MESSAGE = {"error.csrf": "errorpage.title.csrf", "error.flow_expired": "errorpage.title.flow_expired",
                      "recovery.link_invalid": "errorpage.title.link", "logout.bad_hint": "errorpage.title.logout",
                      "logout.bad_redirect": "errorpage.title.logout"}
_TITLED_STATUSES = (400, 401, 403, 404, 405, 413, 429, 500, 503)
# Form fields that say where a form came from, carried over to the reload link.
_RELOAD_FIELDS = ("flow", "token")


def _error_locale() -> None:
    """Choose the page language without reading the body: an error page may answer a body
    that is too large (413), and reading it again would raise again."""
    if "locale" not in g:
        set_locale(negotiate(request.args.get("ui_locales")))


def _is_protocol() -> bool:
    return request.path.startswith(PROTOCOL_PATHS)


def title_key(message: str, status: int) -> str:
    """The error page's title: what happened, never a bare "an error occurred"."""
    if message in _TITLES_BY_MESSAGE:
        return _TITLES_BY_MESSAGE[message]
    if message.startswith("self.email_link"):
        return "errorpage.title.link"
    return f"errorpage.title.{status if status in _TITLED_STATUSES else 500}"


def _reload_url() -> str | None:
    """Where an expired form is found again: the same address by GET (with the login flow
    or the reset link it belonged to) when that address serves a page, else nowhere (the
    page offers the home page). The referrer is never sent (no-referrer), so it cannot say."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, arguments = adapter.match(request.path, method="GET")
    except HTTPException:
        return None
    values = dict(arguments)
    for name in _RELOAD_FIELDS:
        value = request.form.get(name, "")
        if value and len(value) <= 128 and value.isascii():
            values[name] = value
    return url_for(endpoint, **values)


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
    reload = _reload_url() if key == "error.csrf" else None
    return render_template("error.html", message=key, title=title_key(key, error.code or 500),
                           reload=reload), error.code


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
    return render_template("error.html", message="error.unavailable", title=title_key("error.unavailable", 503)), \
        503, headers


def _server_error(error: Exception):
    if isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return _unavailable(error)
    db.session.rollback()
    _error_locale()
    log.exception("unhandled error", exc_info=error)
    if _is_protocol():
        return jsonify(error="server_error"), 500
    return render_template("error.html", message="error.server", title=title_key("error.server", 500)), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _page)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(Exception, _server_error)
