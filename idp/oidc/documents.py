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
from ..observability import HEADER, request_id_for
from ..web import security_headers
from .metadata import DocumentCache

StartResponse = Callable[..., Any]


class HeldDocuments:
    """WSGI middleware in front of the application (see the module docstring); built once
    the routes are registered, it answers their paths as ``idp.oidc.views`` does."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app
        settings = app.config["IDP"]
        self.trusted_proxies = settings.trusted_proxies
        self.headers = security_headers(settings.issuer)
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
        if body:
            headers.append(("Content-Length", str(len(body))))
        headers += [*self.headers, (HEADER, request_id_for(environ.get("HTTP_X_REQUEST_ID"), self.trusted_proxies))]
        start_response("200 OK" if status == 200 else "304 NOT MODIFIED", headers)
        metrics.observe_latency(endpoint, status, time.perf_counter() - started)
        return [body] if body else []
