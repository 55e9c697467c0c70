"""Email over SMTP (STARTTLS when configured)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from .base import Message, SendError


class SmtpSender:
    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = True,
                 username: str | None = None, password: str | None = None, timeout: float = 10):
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject or ""
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"recipient refused: {exc}", retryable=False, provider=self.name) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP failure: {exc}", provider=self.name) from None
