"""The administrators' forms: their fields read and checked before the directory's rules,
and every refusal (the form's or the directory's) as the page says it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import request

from ..directory import AccountError, PhoneRefused
from ..i18n import messages, translate
from ..models import Account

MAX_LENGTHS = {"last_name": 100, "first_name": 100, "email": 254, "function": 200, "phone": 32, "landline": 32,
               "valid_until": 10}


class FormError(ValueError):
    """A field the pages check before the directory does: ``key`` is the page text,
    ``at`` the field it concerns (its message is shown there)."""

    def __init__(self, key: str, at: str | None = None, **params: str):
        super().__init__(key)
        self.key = key
        self.at = at
        self.params = params


# The directory's messages (see idp.directory), shown in the page's language next to the
# field they concern (None: the whole form); a message not listed here is shown as the
# directory wrote it.
_DIRECTORY_ERRORS: list[tuple[re.Pattern[str], str, tuple[str, ...], str | None]] = [
    (re.compile(r"generic account: the name .* contains '([^']*)'"), "admin.error.generic", ("word",), "last_name"),
    (re.compile(r"generic account: the \w+ .* contains '([^']*)'"), "admin.error.generic", ("word",), "email"),
    (re.compile(r"would have (\d+) administrator\(s\); the policy requires at least (\d+)"),
     "admin.error.minimum", ("count", "minimum"), "profile"),
    (re.compile(r"is not an email address"), "admin.error.email", (), "email"),
    (re.compile(r"needs a last name and a first name"), "admin.error.names", (), "last_name"),
    (re.compile(r"validity end date is in the past"), "admin.error.past_date", (), "valid_until"),
    (re.compile(r"is not a phone number"), "admin.error.landline", (), "landline"),
    (re.compile(r"profile must be one of"), "admin.error.choice", (), "profile"),
    (re.compile(r"civility must be one of"), "admin.error.choice", (), "civility"),
    (re.compile(r"no service with code"), "admin.error.service", (), None),
]


def error_text(error: AccountError | FormError) -> str:
    """The refusal as the page says it."""
    if isinstance(error, FormError):
        return translate(error.key, **error.params)
    if isinstance(error, PhoneRefused):
        return translate(error.message_key)
    message = str(error)
    for pattern, key, names, _ in _DIRECTORY_ERRORS:
        found = pattern.search(message)
        if found:
            return translate(key, **dict(zip(names, found.groups(), strict=True)))
    return message


def error_field(error: AccountError | FormError) -> str | None:
    """The field a refusal concerns, where the page shows it (None: the whole form)."""
    if isinstance(error, FormError):
        return error.at
    if isinstance(error, PhoneRefused):
        return "phone"
    for pattern, _, _, field in _DIRECTORY_ERRORS:
        if pattern.search(str(error)):
            return field
    return None


def problems(error: AccountError | FormError | None) -> list[tuple[str | None, str]]:
    """A refusal as the form macros take it: ``[(field, text)]``, or nothing."""
    return [] if error is None else [(error_field(error), error_text(error))]


def field_label(name: str) -> str:
    key = f"field.{name}"
    return translate(key if key in messages("fr") else f"admin.field.{name}")


def form_text(name: str) -> str:
    """One line of text from the form, checked for its length and for control characters."""
    value = request.form.get(name, "").strip()
    if len(value) > MAX_LENGTHS.get(name, 200):
        raise FormError("admin.error.too_long", name, field=field_label(name))
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise FormError("admin.error.invalid_text", name, field=field_label(name))
    return value


def form_choice(name: str, allowed: tuple[str, ...], *, optional: bool = False) -> str | None:
    value = request.form.get(name, "")
    if optional and not value:
        return None
    if value not in allowed:
        raise FormError("admin.error.choice", name)
    return value


def form_date(text: str) -> date | None:
    """``YYYY-MM-DD`` (a date field) or ``DD/MM/YYYY`` (typed by hand); ``None`` if empty."""
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise FormError("admin.error.date", "valid_until") from None


def submitted() -> dict[str, Any]:
    """Every field as typed, to show the form again after a refusal."""
    form = request.form
    values: dict[str, Any] = {name: form.get(name, "")[:300] for name in (
        "civility", "last_name", "first_name", "email", "phone", "landline", "function", "profile", "valid_until")}
    values["services"] = form.getlist("services")[:100]
    return values


def values_of(account: Account) -> dict[str, Any]:
    return {
        "civility": account.civility or "", "last_name": account.last_name, "first_name": account.first_name,
        "email": account.email, "phone": account.phone or "", "landline": account.landline or "",
        "function": account.function or "", "profile": account.profile,
        "valid_until": account.valid_until.isoformat() if account.valid_until else "",
        "services": account.service_codes,
    }
