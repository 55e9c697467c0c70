"""The policy in force for the running application.

The pure policy package (:mod:`idp.policy`) loads and applies a file; this module holds
the last valid policy, reloads it when the file changes, and hands each request one
policy (read once per request, so a decision never mixes two versions).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app, g, has_request_context

from .policy import Policy, PolicyError, load_policy

log = logging.getLogger("idp.policy")


class PolicyStore:
    """Holds the last valid policy read from ``path``.

    Each :meth:`current` call compares the file's modification stamp (one ``stat``); an
    edited file is loaded and, if invalid, rejected and logged while the last valid
    policy stays in force. Every worker does the same, so all converge on the file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp = self._read_stamp()
        self._policy = load_policy(self.path)  # an invalid file stops start-up
        self.last_error: PolicyError | None = None

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def current(self) -> Policy:
        stamp = self._read_stamp()
        if stamp is not None and stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self._policy

    def _reload(self, stamp: tuple[int, int]) -> None:
        self._stamp = stamp
        try:
            policy = load_policy(self.path)
        except PolicyError as exc:
            self.last_error = exc
            log.error("policy edit rejected, the previous policy stays in force: %s", exc)
            return
        self._policy, self.last_error = policy, None
        log.info("policy reloaded from %s", self.path)


def init_app(app: Flask) -> None:
    settings = app.config["IDP"]
    app.extensions["idp.policy"] = PolicyStore(settings.path(settings.policy_file))


def current_policy() -> Policy:
    """The policy in force, the same for the whole request."""
    if has_request_context():
        if "policy" not in g:
            g.policy = current_app.extensions["idp.policy"].current()
        return g.policy
    return current_app.extensions["idp.policy"].current()
