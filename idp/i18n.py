"""Hosted pages speak French by default, English on request.

The locale comes from ``ui_locales`` (remembered on the login flow), then from
``Accept-Language``, then from the configured default.
"""

from __future__ import annotations

from flask import current_app, g, request

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "app.title": "Plateforme employeurs publics",
        "login.title": "Se connecter",
        "login.identifier": "Identifiant",
        "login.identifier_hint": "Ex : JDA000001",
        "login.password": "Mot de passe",
        "login.submit": "Me connecter",
        "login.failed": "Identifiant ou mot de passe incorrect.",
        "login.missing": "Saisissez votre identifiant et votre mot de passe.",
        "login.for_client": "Connexion à %(client)s",
        "error.title": "Une erreur est survenue",
        "error.back": "Revenez à l'application qui vous a envoyé ici et recommencez.",
        "error.invalid_request": "La demande de connexion n'est pas valide.",
        "error.unknown_client": "L'application qui vous a envoyé ici n'est pas connue.",
        "error.bad_redirect_uri": "L'adresse de retour de l'application n'est pas enregistrée.",
        "error.flow_expired": "Votre demande de connexion a expiré. Recommencez depuis l'application.",
        "error.csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
        "error.not_found": "Cette page n'existe pas.",
        "error.method": "Cette méthode n'est pas acceptée ici.",
        "error.server": "Le service rencontre un problème. Réessayez dans quelques minutes.",
        "logout.title": "Se déconnecter",
        "logout.question": "Voulez-vous vous déconnecter de la plateforme ?",
        "logout.submit": "Me déconnecter",
        "logout.done": "Vous êtes déconnecté.",
        "logout.bad_redirect": "L'adresse de retour demandée après la déconnexion n'est pas enregistrée.",
        "logout.bad_hint": "Le jeton fourni pour la déconnexion n'est pas valide.",
    },
    "en": {
        "app.title": "Public employers platform",
        "login.title": "Log in",
        "login.identifier": "Identifier",
        "login.identifier_hint": "E.g. JDA000001",
        "login.password": "Password",
        "login.submit": "Log in",
        "login.failed": "Incorrect identifier or password.",
        "login.missing": "Enter your identifier and your password.",
        "login.for_client": "Log in to %(client)s",
        "error.title": "Something went wrong",
        "error.back": "Go back to the application that sent you here and try again.",
        "error.invalid_request": "The login request is not valid.",
        "error.unknown_client": "The application that sent you here is not known.",
        "error.bad_redirect_uri": "The application's return address is not registered.",
        "error.flow_expired": "Your login request has expired. Start again from the application.",
        "error.csrf": "The form has expired. Reload the page and try again.",
        "error.not_found": "This page does not exist.",
        "error.method": "This method is not allowed here.",
        "error.server": "The service has a problem. Try again in a few minutes.",
        "logout.title": "Log out",
        "logout.question": "Do you want to log out of the platform?",
        "logout.submit": "Log out",
        "logout.done": "You are logged out.",
        "logout.bad_redirect": "The return address requested after logout is not registered.",
        "logout.bad_hint": "The token given for logout is not valid.",
    },
}


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
        g.locale = negotiate(request.args.get("ui_locales"))
    return g.locale


def translate(key: str, **params: str) -> str:
    text = MESSAGES[get_locale()].get(key) or MESSAGES["fr"][key]
    return text % params if params else text
