"""The home page (what this service is, and the way to one's account) and the pages the
footer links to by default: legal notice, personal data, accessibility statement."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    return render_template("home.html")


@bp.get("/mentions-legales")
def legal() -> str:
    return render_template("site_page.html", prefix="site.legal",
                           paragraphs=["site.legal.publisher", "site.legal.software"], items=[], after=[])


@bp.get("/donnees-personnelles")
def privacy() -> str:
    return render_template("site_page.html", prefix="site.privacy", paragraphs=["site.privacy.intro"],
                           items=["site.privacy.identity", "site.privacy.history", "site.privacy.cookies"],
                           after=["site.privacy.purpose", "site.privacy.rights"])


@bp.get("/accessibilite")
def accessibility() -> str:
    status = current_app.config["IDP"].site.accessibility_status
    return render_template("site_page.html", prefix="site.a11y", items=[],
                           paragraphs=["site.a11y.commitment", f"site.a11y.status.{status}", "site.a11y.checks"],
                           after=["site.a11y.contact", "site.a11y.remedy"])
