"""Codes by Vonage: SMS (SMS API) and voice calls read by text-to-speech (Voice API).

This is the only module that imports the Vonage SDK.
"""

from __future__ import annotations

import re

import requests
from vonage import Auth, HttpClientOptions, Vonage
from vonage_http_client.errors import (
    AuthenticationError,
    ForbiddenError,
    HttpRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from vonage_sms import SmsMessage
from vonage_sms.errors import SmsError
from vonage_voice import CreateCallRequest, Talk

from .base import Message, SendError

# Vonage SMS statuses that trying again later may fix (1 throttled, 5 internal error).
_RETRYABLE_SMS = {"1", "5"}


def _client(auth: Auth, api_host: str | None, rest_host: str | None, timeout: float,
            ca_bundle: str | None) -> Vonage:
    options = {"timeout": timeout, "max_retries": 0}
    if api_host:
        options["api_host"] = api_host
    if rest_host:
        options["rest_host"] = rest_host
    client = Vonage(auth, HttpClientOptions(**options))
    if ca_bundle:
        # requests prefers REQUESTS_CA_BUNDLE over Session.verify unless trust_env is off.
        session = client.http_client._session
        session.verify, session.trust_env = ca_bundle, False
    return client


def _digits(number: str) -> str:
    return number.lstrip("+")


class VonageSmsSender:
    name = "vonage_sms"

    def __init__(self, api_key: str, api_secret: str, sender_id: str, *, api_host: str | None = None,
                 rest_host: str | None = None, timeout: float = 10, ca_bundle: str | None = None):
        self.sender_id = sender_id
        self.client = _client(Auth(api_key=api_key, api_secret=api_secret), api_host, rest_host,
                              timeout, ca_bundle)

    def send(self, message: Message) -> None:
        sms = SmsMessage(to=_digits(message.to), from_=self.sender_id, text=message.body,
                         client_ref=message.reference)
        try:
            self.client.sms.send(sms)
        except SmsError as exc:
            match = re.search(r"error code (\d+)", str(exc))
            retryable = match is not None and match.group(1) in _RETRYABLE_SMS
            raise SendError(f"Vonage SMS refused: {exc}", retryable=retryable, provider=self.name) from None
        except _HTTP_ERRORS as exc:
            raise _send_error(exc, self.name) from None


class VonageVoiceSender:
    """Calls the number and reads the message in French, slowly, twice."""

    name = "vonage_voice"

    def __init__(self, application_id: str, private_key: str, caller_number: str, *,
                 api_host: str | None = None, rest_host: str | None = None, timeout: float = 10,
                 ca_bundle: str | None = None, language: str = "fr-FR"):
        self.caller_number, self.language = caller_number, language
        self.client = _client(Auth(application_id=application_id, private_key=private_key), api_host,
                              rest_host, timeout, ca_bundle)

    def send(self, message: Message) -> None:
        call = CreateCallRequest(
            to=[{"type": "phone", "number": _digits(message.to)}],
            from_={"type": "phone", "number": _digits(self.caller_number)},
            ncco=[Talk(text=message.body, language=self.language, loop=2, style=0)],
        )
        try:
            self.client.voice.create_call(call)
        except _HTTP_ERRORS as exc:
            raise _send_error(exc, self.name) from None


_HTTP_ERRORS = (
    AuthenticationError, ForbiddenError, NotFoundError, RateLimitedError, ServerError,
    HttpRequestError, requests.RequestException,
)


def _send_error(exc: Exception, provider: str) -> SendError:
    if isinstance(exc, RateLimitedError):
        return SendError("the provider is rate limiting us", retryable=True, provider=provider)
    if isinstance(exc, (AuthenticationError, ForbiddenError, NotFoundError)):
        return SendError(f"the provider refused our credentials: {type(exc).__name__}",
                         retryable=False, provider=provider)
    if isinstance(exc, requests.Timeout):
        return SendError("the provider did not answer in time", retryable=True, provider=provider)
    return SendError(f"the provider failed: {type(exc).__name__}", retryable=True, provider=provider)
