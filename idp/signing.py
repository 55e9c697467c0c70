"""One signed-token service over itsdangerous: a salt per purpose, an expiry, its errors."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = ("trusted-device", "console-login", "email-change")


class InvalidToken(Exception):
    """The token was tampered with, made for another purpose, or is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"idp.{purpose}")


def dumps(purpose: str, data: Any) -> str:
    return _serializer(purpose).dumps(data)


def loads(purpose: str, token: str, max_age: int) -> Any:
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken("expired") from None
    except BadSignature:
        raise InvalidToken("bad signature") from None
