"""The look an operator gives the pages without touching the code, and the footer.

``site.theme_dir`` names a folder laid over the defaults:

- ``templates/``: any template of ``templates/`` by the same name (``_logo.html`` for the
  header's mark, ``_footer.html``…);
- ``static/``: files served under ``/theme/``; ``theme.css`` is linked after the
  provider's own style sheet, so it only has to say what changes (colours, logo size);
- ``i18n/``: ``*.fr.yaml`` / ``*.en.yaml`` replacing texts by key (an unknown key stops
  start-up, naming the file and the key, so a typo never goes unnoticed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, send_from_directory
from jinja2 import ChoiceLoader, FileSystemLoader

from . import i18n

THEME_URL = "/theme/<path:filename>"


def folder(app: Flask | None = None) -> Path | None:
    settings = (app or current_app).config["IDP"]
    return settings.path(settings.site.theme_dir) if settings.site.theme_dir else None


def init_app(app: Flask) -> None:
    theme = folder(app)
    app.config["IDP_THEME"] = str(theme) if theme else None
    if theme is not None:
        if (theme / "templates").is_dir() and app.jinja_loader is not None:
            app.jinja_loader = ChoiceLoader([FileSystemLoader(str(theme / "templates")), app.jinja_loader])
        for locale in app.config["IDP"].ui.locales:
            i18n.messages(locale, str(theme))  # read now: a bad text file stops start-up
        app.add_url_rule(THEME_URL, "theme", _static)
    has_css = theme is not None and (theme / "static" / "theme.css").is_file()
    app.context_processor(lambda: _context(app, has_css))


def _context(app: Flask, has_css: bool) -> dict[str, Any]:
    return {"site": app.config["IDP"].site, "theme_css": has_css}


def _static(filename: str):
    theme = folder()
    if theme is None:
        abort(404)
    return send_from_directory(theme / "static", filename, max_age=3600)
