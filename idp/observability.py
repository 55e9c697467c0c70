"""Logs that can be followed: a request id on every log line and audit event, text or JSON.

Every request gets an id, echoed in the ``X-Request-Id`` response header. The id a client
sends is taken only behind trusted reverse proxies (``trusted_proxies`` > 0: the proxy
sets it, so its logs and ours share the id) and only when it is short and plain; otherwise,
and when the IdP faces clients directly, the id is fresh and random: a client must not be
able to choose what our logs and the audit trail say.

The id lives in a context variable rather than only in ``flask.g`` so that ``idp worker``
can carry the id of the request that queued a job (see :mod:`idp.jobs`).
``logging.format`` (configuration) chooses text lines or one JSON object a line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, current_app, request

__all__ = ["configure_logging", "current_request_id", "init_app", "request_id_var"]

HEADER = "X-Request-Id"
# What a proxy's id may look like: a UUID, nginx's $request_id, a trace id… nothing that
# could break a log line or a header.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

request_id_var: ContextVar[str | None] = ContextVar("idp_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the job's request) being served, if any."""
    return request_id_var.get()


def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id_for(sent: str | None, trusted_proxies: int) -> str:
    """The proxy's well-formed id behind trusted proxies, a fresh random one otherwise."""
    if trusted_proxies and sent and WELL_FORMED.fullmatch(sent):
        return sent
    return new_request_id()


# Where a request answered in part ahead of Flask (idp.oidc.documents) leaves the id it
# already gave, so that Flask, taking over, keeps it.
ENVIRON_KEY = "idp.request_id"


def _begin() -> None:
    request_id_var.set(request.environ.get(ENVIRON_KEY)
                       or request_id_for(request.headers.get(HEADER), current_app.config["IDP"].trusted_proxies))


def _echo(response: Response) -> Response:
    request_id = request_id_var.get()
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _end(_error: BaseException | None) -> None:
    request_id_var.set(None)  # a worker thread serves the next request with a fresh id


def init_app(app: Flask) -> None:
    """Give each request its id before any other hook runs (registered first)."""
    app.before_request(_begin)
    app.after_request(_echo)
    app.teardown_request(_end)


# --- logging -----------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Put the current request id (or ``-``) on every record the handler sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _our_handler(logger: logging.Logger) -> logging.Handler | None:
    return next((h for h in logger.handlers if getattr(h, "idp_handler", False)), None)


def configure_logging(app: Flask) -> None:
    """One handler on the ``idp`` logger, in the configured format. Set up once per process
    (each application factory call sets the format again: the last configuration wins)."""
    logger = logging.getLogger("idp")
    handler = _our_handler(logger)
    if handler is None:
        if logger.handlers:
            return  # someone (a test harness, an embedding program) configured it: leave theirs
        handler = logging.StreamHandler()
        handler.idp_handler = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    json_lines = app.config["IDP"].logging.format == "json"
    handler.setFormatter(JSONFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
