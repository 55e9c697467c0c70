"""The policy in force: reloaded when its file changes, never weakened by a bad edit."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .loader import PolicyError, load_policy
from .model import Policy

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
