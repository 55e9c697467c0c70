"""Discovery and the JWKS answered before Flask, from the bytes this process holds.

Every relying party polls these two documents; they are built once per process
(:class:`~idp.oidc.metadata.DocumentCache`), so what is left of a request is the framework
around it. Measured under gunicorn (``make bench``): 0.55 ms of worker CPU a request
through Flask and its hooks, 0.27 ms for gunicorn's own part alone. This WSGI layer
answers a ``GET`` whose document is held and current with what Flask would send (the
same :meth:`~idp.oidc.metadata.DocumentCache.answer`, security headers, a request id, a
latency observation); everything else, including the first request and each rebuild
(policy changed, refresh time passed, database unreachable), goes through Flask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from .. import metrics
from ..observability import ENVIRON_KEY, HEADER, request_id_for
from ..web import security_headers
from .metadata import DocumentCache

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_STATUS = {200: "200 OK", 304: "304 NOT MODIFIED"}


class AheadOfFlask:
    """A WSGI layer in front of the application that answers some requests itself, with
    the security headers, request id and latency observation Flask's hooks would add."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp):
        self.app = app
        self.wsgi_app = wsgi_app
        self.trusted_proxies = app.config["IDP"].trusted_proxies
        self.security_headers = security_headers(app.config["IDP"].issuer)

    def send(self, environ: dict[str, Any], start_response: StartResponse, endpoint: str, started: float,
             status: int, headers: list[tuple[str, str]], body: bytes) -> Iterable[bytes]:
        if body:
            headers = [*headers, ("Content-Length", str(len(body)))]
        request_id = environ.get(ENVIRON_KEY) or request_id_for(environ.get("HTTP_X_REQUEST_ID"), self.trusted_proxies)
        start_response(_STATUS[status], [*headers, *self.security_headers, (HEADER, request_id)])
        metrics.observe_latency(endpoint, status, time.perf_counter() - started)
        return [body] if body else []


class HeldDocuments(AheadOfFlask):
    """WSGI middleware in front of the application (see the module docstring); built once
    the routes are registered, it answers their paths as ``idp.oidc.views`` does."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp):
        super().__init__(app, wsgi_app)
        documents: dict[str, DocumentCache] = app.extensions["idp.metadata"]
        self.routes = {rule.rule: (rule.endpoint, documents[rule.endpoint])
                       for rule in app.url_map.iter_rules() if rule.endpoint in documents}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        endpoint, document = route
        built = document.held(self.app.extensions["idp.policy"].current())
        if built is None:
            return self.wsgi_app(environ, start_response)  # Flask builds it, or serves the old one
        status, headers, body = document.answer(built, environ.get("HTTP_IF_NONE_MATCH", ""))
        return self.send(environ, start_response, endpoint, started, status, headers, body)
