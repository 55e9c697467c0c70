"""Message senders: one interface, several implementations chosen by configuration.

Vonage SMS and voice for codes, SMTP for email, and for development the outbox file and
the console (which production configuration refuses).
"""

from .base import Message, MessageSender, SendError

__all__ = ["Message", "MessageSender", "SendError"]
