"""Prometheus metrics: what operators watch, counted where it happens, served at ``/metrics``.

The families (all prefixed ``idp_``): logins by method and result, one-time codes sent by
channel and result, codes checked, account locks, throttles by limit, tokens issued by grant
type, and the request latency histogram by Flask endpoint (never the raw path, so the label
values stay few) and status class.

Most are counted from the audit trail (:func:`count_event`, called by
:func:`idp.audit.record`, which sees every login, code and lock); throttles from the one
answer to a reached limit (:func:`count_throttle`); tokens from the token store
(:func:`count_token`).

Under gunicorn the workers are separate processes: prometheus_client's multiprocess mode
keeps each worker's values in files of ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` adds
them up, whichever worker answers. The gunicorn hooks below prepare that folder in the
master before any worker starts. The metric objects are built on first use, not at import:
a preloaded application is imported by the master *before* the hook runs, and
prometheus_client picks its storage when a value is created. Without the variable (the
Flask test client, ``idp`` commands) one in-process registry serves.

``/metrics`` is not public: it answers a direct request from ``metrics.allowed_networks``
or one bearing ``IDP_METRICS_TOKEN``; anyone else gets the same 404 as an unknown path.
"""

from __future__ import annotations

import atexit
import functools
import hmac
import ipaddress
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

log = logging.getLogger("idp.metrics")
P = ParamSpec("P")

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Headers a forwarding proxy adds: a request carrying one did not come straight from a scraper.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Audit events → (method, result) of a login. A success is a session opened.
_LOGIN_EVENTS = {
    "login.failure": ("password", "failure"),
    "login.expired": ("password", "expired"),
    "login.upstream_failure": ("upstream", "failure"),
    "login.federated_throttled": ("upstream", "throttled"),
}
# Audit events → result of a code send (the channel is in the event's detail).
_CODE_EVENTS = {"code.sent": "sent", "code.send_failed": "failed", "code.send_limited": "limited",
                "code.destination_refused": "refused"}
_CHANNELS = {"sms", "voice", "email"}
_GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials"}

bp = Blueprint("metrics", __name__)


@dataclass(frozen=True)
class Families:
    """The metric objects of this process, with the registry a single process serves."""

    registry: CollectorRegistry
    multiprocess: bool
    logins: Counter
    codes_sent: Counter
    code_checks: Counter
    account_locks: Counter
    throttles: Counter
    tokens: Counter
    request_duration: Histogram


_families: Families | None = None
_usable_folder: str | None = None  # the last PROMETHEUS_MULTIPROC_DIR found to be a folder


def multiproc_dir() -> str | None:
    """The workers' shared folder, if this process has one (checked on disk once: every
    request asks)."""
    global _usable_folder
    path = os.environ.get(MULTIPROC_VARIABLE)
    if path and path != _usable_folder and os.path.isdir(path):
        _usable_folder = path
    return path if path and path == _usable_folder else None


def families() -> Families:
    """This process's metrics, built on first use (see the module docstring for why)."""
    global _families
    multi = multiproc_dir() is not None
    if _families is not None and _families.multiprocess == multi:
        return _families
    if getattr(values.ValueClass, "_multiprocess", False) != multi:
        # prometheus_client chose when imported: before the hook set the variable (a preloaded
        # app), or with a variable naming no folder (values would go to the working directory).
        values.ValueClass = values.get_value_class() if multi else values.MutexValue
    registry = CollectorRegistry(auto_describe=True)
    # In multiprocess mode the values live in files and /metrics reads those: no registry.
    into = None if multi else registry
    _families = Families(
        registry=registry,
        multiprocess=multi,
        logins=Counter("idp_logins", "Logins by method (password, upstream) and result "
                       "(success, failure, locked, expired, throttled)", ["method", "result"], registry=into),
        codes_sent=Counter("idp_codes_sent", "One-time codes by channel and result "
                           "(sent, failed, limited, refused)", ["channel", "result"], registry=into),
        code_checks=Counter("idp_code_checks", "One-time codes entered, by result (ok, failure)",
                            ["result"], registry=into),
        account_locks=Counter("idp_account_locks", "Accounts locked after too many failures", registry=into),
        throttles=Counter("idp_throttles", "Requests refused with 429, by limit", ["limit"], registry=into),
        tokens=Counter("idp_tokens_issued", "Tokens issued, by grant type", ["grant_type"], registry=into),
        request_duration=Histogram("idp_request_duration_seconds", "Request latency by Flask endpoint and "
                                   "status class", ["endpoint", "status"], buckets=LATENCY_BUCKETS,
                                   registry=into),
    )
    return _families


# --- counting ---------------------------------------------------------------------------

def _never_fails(function: Callable[P, None]) -> Callable[P, None]:
    """Counting must not break what it counts: a value that cannot be written (a full disk
    under the multiprocess folder…) is logged and the request goes on."""

    @functools.wraps(function)
    def counted(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            function(*args, **kwargs)
        except Exception:
            log.exception("metrics: %s failed", function.__name__)

    return counted


@_never_fails
def count_event(event: str, detail: dict[str, Any]) -> None:
    """Count what an audit event says (called by :func:`idp.audit.record` for every event)."""
    metrics = families()
    if event == "session.start":
        method = "upstream" if "fed" in (detail.get("amr") or ()) else "password"
        metrics.logins.labels(method, "success").inc()
    elif event == "login.locked":
        metrics.logins.labels("upstream" if detail.get("issuer") else "password", "locked").inc()
    elif event in _LOGIN_EVENTS:
        method, result = _LOGIN_EVENTS[event]
        if event == "login.upstream_failure" and detail.get("reason") == "throttled":
            result = "throttled"
        metrics.logins.labels(method, result).inc()
    elif event in _CODE_EVENTS:
        channel = detail.get("channel")
        metrics.codes_sent.labels(channel if channel in _CHANNELS else "unknown", _CODE_EVENTS[event]).inc()
    elif event in ("login.code_ok", "login.code_failure"):
        metrics.code_checks.labels("ok" if event == "login.code_ok" else "failure").inc()
    elif event == "account.locked":
        metrics.account_locks.inc()


@_never_fails
def count_throttle(scope: str, message: str) -> None:
    """A 429, labelled by the limit's message key and scope (``code.limit:phone``,
    ``login.address_blocked:ip``, ``code.too_soon``): both come from the code, never from the
    request. A refused password step is also a throttled login."""
    metrics = families()
    metrics.throttles.labels(f"{message}:{scope}" if scope else message).inc()
    if message == "login.address_blocked":
        metrics.logins.labels("password", "throttled").inc()


@_never_fails
def count_token(grant_type: object) -> None:
    """One token response stored by the token endpoint (``save_token``)."""
    families().tokens.labels(grant_type if grant_type in _GRANT_TYPES else "other").inc()


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


@_never_fails
def observe_latency(endpoint: str, status: int, seconds: float) -> None:
    """One answer's time, by Flask endpoint and status class (also for answers given
    without Flask: :mod:`idp.oidc.documents`)."""
    families().request_duration.labels(endpoint, f"{status // 100}xx").observe(seconds)


def _observe_latency(started: float, status: int) -> None:
    # No route matched: one value for every unknown path.
    observe_latency(request.endpoint or "none", status, time.perf_counter() - started)


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        _observe_latency(started, response.status_code)
    return response


# --- /metrics ---------------------------------------------------------------------------

def _direct_from_allowed_network() -> bool:
    """The TCP peer is in ``metrics.allowed_networks`` and the request was not forwarded.

    A reverse proxy on the same host connects from loopback: what it forwards from the
    Internet must not pass as loopback. So only a request without forwarding headers counts,
    judged by the socket's own peer (before ProxyFix rewrote it). A scraper talks to each
    node directly anyway: through the load balancer it would see one random node."""
    environ = request.environ
    original = environ.get("werkzeug.proxy_fix.orig") or {}
    if any(environ.get(name) for name in FORWARDING_HEADERS) or any(original.get(h) for h in FORWARDING_HEADERS):
        return False
    peer = original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in current_app.config["IDP"].metrics.allowed_networks)


def _bears_token() -> bool:
    expected = current_app.config["IDP"].metrics.token
    header = request.headers.get("Authorization", "")
    if not expected or header[:7].lower() != "bearer ":
        return False
    # Compared as bytes: compare_digest refuses non-ASCII text, and a header may be anything.
    return hmac.compare_digest(header[7:].strip().encode("utf-8", "replace"), expected.encode("utf-8"))


@bp.get("/metrics")
def metrics_page() -> Response:
    settings = current_app.config["IDP"].metrics
    if not settings.enabled or not (_bears_token() or _direct_from_allowed_network()):
        abort(404)  # not advertised: the same answer as any unknown path
    path = multiproc_dir()
    if path is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = families().registry
        if str(request.environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn"):
            log.warning("metrics: gunicorn without %s (start it with -c config/gunicorn.conf.py): "
                        "this worker reports only its own counts", MULTIPROC_VARIABLE)
    response = Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Time every request (registered first, so its timer wraps the others' hooks) and serve
    ``/metrics``."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


# --- gunicorn ---------------------------------------------------------------------------

def gunicorn_on_starting(server: Any) -> None:
    """gunicorn's ``on_starting`` (master, before any worker): give the workers one folder
    for their values. ``PROMETHEUS_MULTIPROC_DIR`` when the operator set it (emptied of a
    previous run's files), else a fresh temporary folder removed when the master exits."""
    path = os.environ.get(MULTIPROC_VARIABLE)
    if path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # only prometheus_client's files, never anything else
            stale.unlink(missing_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="idp-metrics-"))
        os.environ[MULTIPROC_VARIABLE] = str(folder)
        atexit.register(_remove_folder, folder, os.getpid())
    server.log.info("metrics: workers keep their values in %s", folder)


def _remove_folder(folder: Path, master: int) -> None:
    # Workers inherit the atexit list through fork: only the master removes the folder.
    if os.getpid() == master:
        shutil.rmtree(folder, ignore_errors=True)


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit``: a dead worker's live gauges go (its counters stay counted)."""
    if multiproc_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)
