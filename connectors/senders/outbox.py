"""Development senders: the outbox file (one JSON object a line) and the console."""

from __future__ import annotations

import fcntl
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from .base import Message

log = logging.getLogger("idp.messages")


class OutboxSender:
    """Appends ``{"at", "channel", "to", "subject", "body"}`` to a file, one message a line.

    Several workers append to one file: each line is written under an exclusive lock."""

    name = "outbox"

    def __init__(self, path: Path):
        self.path = path

    def warn(self) -> None:
        log.warning("DEVELOPMENT SENDER: messages are written to %s, not delivered", self.path)

    def send(self, message: Message) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


class ConsoleSender:
    """Logs the message: for a developer's terminal only."""

    name = "console"

    def warn(self) -> None:
        log.warning("DEVELOPMENT SENDER: messages are printed to the console, not delivered")

    def send(self, message: Message) -> None:
        subject = f" [{message.subject}]" if message.subject else ""
        log.warning("message %s to %s%s: %s", message.channel, message.to, subject, message.body)
