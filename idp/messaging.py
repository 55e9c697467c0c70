"""Sending messages: the configured senders per channel, and the texts from templates."""

from __future__ import annotations

from flask import Flask, current_app, render_template

from connectors.senders import Message, MessageSender, SendError
from connectors.senders.outbox import ConsoleSender, OutboxSender
from connectors.senders.smtp import SmtpSender

from .config import Settings
from .i18n import get_locale

__all__ = ["SendError", "send", "render_message"]


def _build(name: str, settings: Settings) -> MessageSender:
    messages = settings.messages
    if name == "outbox":
        return OutboxSender(settings.path(messages.outbox_file))
    if name == "console":
        return ConsoleSender()
    if name == "smtp":
        smtp = messages.smtp
        return SmtpSender(smtp.host, smtp.port, smtp.sender, starttls=smtp.starttls,
                          username=smtp.username, password=smtp.password,
                          timeout=smtp.timeout.total_seconds())
    from connectors.senders.vonage import VonageSmsSender, VonageVoiceSender

    vonage = messages.vonage
    common = {"api_host": vonage.api_host, "rest_host": vonage.rest_host,
              "timeout": vonage.timeout.total_seconds(), "ca_bundle": vonage.ca_bundle}
    if name == "vonage_sms":
        return VonageSmsSender(vonage.api_key, vonage.api_secret, vonage.sms_sender_id, **common)
    return VonageVoiceSender(vonage.application_id, vonage.private_key, vonage.voice_caller_number, **common)


def init_app(app: Flask) -> None:
    settings: Settings = app.config["IDP"]
    built: dict[str, MessageSender] = {}
    routes = {}
    for channel in ("sms", "voice", "email"):
        names = getattr(settings.messages, channel)
        for name in names:
            if name not in built:
                built[name] = _build(name, settings)
        routes[channel] = [built[name] for name in names]
    app.extensions["idp.senders"] = routes


def warn_development_senders(app: Flask) -> None:
    """Say once, where it matters (a server or worker starting), that messages go nowhere."""
    seen: set[int] = set()
    for senders in app.extensions["idp.senders"].values():
        for sender in senders:
            if isinstance(sender, OutboxSender | ConsoleSender) and id(sender) not in seen:
                seen.add(id(sender))
                sender.warn()


def send(message: Message) -> None:
    """Send through every sender of the message's channel; raise SendError on failure."""
    for sender in current_app.extensions["idp.senders"][message.channel]:
        sender.send(message)


def render_message(name: str, **context) -> tuple[str | None, str]:
    """Render ``templates/messages/NAME.LOCALE.txt``; an email's first line is its subject."""
    text = render_template(f"messages/{name}.{get_locale()}.txt", **context).strip()
    if text.startswith("Subject: "):
        subject, _, body = text.partition("\n")
        return subject.removeprefix("Subject: ").strip(), body.strip() + "\n"
    return None, text
