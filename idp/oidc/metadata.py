"""Discovery (OIDC Discovery 3) and JWKS documents, built once per process as bytes.

A document is rebuilt when the policy in force changes and at most every
:data:`REFRESH` otherwise, so a key rotated with ``idp keys rotate`` on any node is
served by every worker of every node within that time, with no restart. Answers carry
an ``ETag`` and ``Cache-Control``; a matching ``If-None-Match`` gets a 304. When the
database cannot be reached at rebuild time, the document already held is served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, request
from sqlalchemy.exc import DBAPIError

from ..clock import now
from ..keys import JWKS_REFRESH
from ..policy import Policy

log = logging.getLogger("idp.oidc")

REFRESH = JWKS_REFRESH  # how long a process serves a document before rereading it


@dataclass(frozen=True)
class _Built:
    body: bytes
    etag: str
    at: datetime
    policy: Policy


class DocumentCache:
    """One JSON document of this process, from ``build`` (which may read the database),
    that clients may keep ``max_age`` seconds."""

    def __init__(self, build: Callable[[], dict[str, Any]], max_age: int):
        self._build = build
        self.max_age = max_age
        self._built: _Built | None = None
        self._lock = threading.Lock()

    def held(self, policy: Policy) -> _Built | None:
        """The document this process holds, if it is still the one to serve (no rebuild)."""
        built = self._built
        if built is not None and built.policy is policy and now() - built.at < REFRESH:
            return built
        return None

    def _current(self, policy: Policy) -> _Built:
        built = self.held(policy)
        if built is not None:
            return built
        with self._lock:
            built = self.held(policy)  # another thread may have rebuilt it meanwhile
            if built is not None:
                return built
            built = self._built
            try:
                document = self._build()
            except DBAPIError:
                if built is None:
                    raise
                log.warning("database unreachable: serving the document built at %s", built.at.isoformat())
                return built
            body = json.dumps(document, separators=(",", ":")).encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._built = _Built(body, etag, now(), policy)
            return self._built

    def answer(self, built: _Built, if_none_match: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body for ``built``: a 304 when the client holds this version."""
        headers = [("ETag", built.etag), ("Cache-Control", f"public, max-age={self.max_age}")]
        if built.etag in if_none_match:
            return 304, headers, b""
        return 200, [("Content-Type", "application/json"), *headers], built.body

    def response(self, policy: Policy) -> Response:
        status, headers, body = self.answer(self._current(policy), request.headers.get("If-None-Match", ""))
        return Response(body, status=status, headers=headers)
