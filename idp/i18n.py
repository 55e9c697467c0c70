"""Hosted pages speak French by default, English on request.

The locale comes from ``ui_locales`` (remembered on the login flow), then from
``Accept-Language``, then from the configured default.
"""

from __future__ import annotations

from functools import cache

import yaml
from flask import current_app, g, request

from .config import PROJECT_ROOT

I18N_DIR = PROJECT_ROOT / "templates" / "i18n"


@cache
def messages(locale: str) -> dict[str, str]:
    """The texts of one language, from ``templates/i18n/LOCALE.yaml`` and the pages' own
    ``templates/i18n/*.LOCALE.yaml`` (read once)."""
    texts: dict[str, str] = {}
    for path in [I18N_DIR / f"{locale}.yaml", *sorted(I18N_DIR.glob(f"*.{locale}.yaml"))]:
        with path.open(encoding="utf-8") as handle:
            part = yaml.safe_load(handle) or {}
        clash = set(part) & set(texts)
        if clash:
            raise ValueError(f"{path}: keys defined twice: {', '.join(sorted(clash))}")
        texts.update(part)
    return texts


def _supported() -> list[str]:
    return list(current_app.config["IDP"].ui.locales)


def negotiate(ui_locales: str | None = None) -> str:
    """Pick the page language for this request."""
    supported = _supported()
    for tag in (ui_locales or "").split():
        language = tag.split("-")[0].lower()
        if language in supported:
            return language
    best = request.accept_languages.best_match(supported)
    return best or current_app.config["IDP"].ui.default_locale


def set_locale(locale: str) -> None:
    g.locale = locale


def get_locale() -> str:
    if "locale" not in g:
        g.locale = negotiate(request.values.get("ui_locales"))
    return g.locale


def translate(key: str, **params: str) -> str:
    text = messages(get_locale()).get(key) or messages("fr")[key]
    return text % params if params else text


def local_time(moment) -> str:
    """A naive UTC datetime shown as the time in France."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
