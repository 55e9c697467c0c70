"""The sender interface and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Channel = Literal["sms", "voice", "email"]


@dataclass(frozen=True)
class Message:
    channel: Channel
    to: str                   # E.164 number for sms and voice, an address for email
    body: str
    subject: str | None = None
    reference: str | None = None   # our id for the provider's records


class SendError(Exception):
    """The message could not be sent. ``retryable``: trying later may work."""

    def __init__(self, reason: str, *, retryable: bool = True, provider: str = ""):
        super().__init__(reason)
        self.reason, self.retryable, self.provider = reason, retryable, provider


class MessageSender(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Send ``message`` or raise :class:`SendError`."""
