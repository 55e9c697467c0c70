"""Hosted pages speak French by default, English on request.

The locale comes from ``ui_locales`` (remembered on the login flow), then from
``Accept-Language``, then from the configured default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from flask import current_app, g, request

from .config import PROJECT_ROOT, ConfigError

I18N_DIR = PROJECT_ROOT / "templates" / "i18n"


@cache
def messages(locale: str, theme: str | None = None) -> dict[str, str]:
    """The texts of one language, from ``templates/i18n/LOCALE.yaml`` and the pages' own
    ``templates/i18n/*.LOCALE.yaml``, then a theme's ``i18n/*.LOCALE.yaml`` replacing
    some of them (read once)."""
    if theme is not None:
        texts = dict(messages(locale))
        for path in sorted((Path(theme) / "i18n").glob(f"*.{locale}.yaml")):
            part = _read(path)
            unknown = sorted(set(part) - set(texts))
            if unknown:
                raise ConfigError(str(path), unknown[0], "no such text to replace")
            texts.update(part)
        return texts
    texts = {}
    for path in [I18N_DIR / f"{locale}.yaml", *sorted(I18N_DIR.glob(f"*.{locale}.yaml"))]:
        part = _read(path)
        clash = set(part) & set(texts)
        if clash:
            raise ValueError(f"{path}: keys defined twice: {', '.join(sorted(clash))}")
        texts.update(part)
    return texts


def _read(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        part = yaml.safe_load(handle) or {}
    if not isinstance(part, dict) or not all(isinstance(v, str) for v in part.values()):
        raise ConfigError(str(path), "(file)", "must map text keys to strings")
    return part


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
    theme = current_app.config.get("IDP_THEME")
    text = messages(get_locale(), theme).get(key) or messages("fr", theme)[key]
    return text % params if params else text


def _in_france(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))


def local_time(moment: datetime) -> str:
    """A naive UTC datetime shown as the time in France."""
    return _in_france(moment).strftime("%H:%M")


def local_date(moment: datetime) -> str:
    """A naive UTC datetime shown as the day in France: ``27/11/2026``."""
    return _in_france(moment).strftime("%d/%m/%Y")
