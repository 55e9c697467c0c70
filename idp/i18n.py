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
        "login.locked": "Votre compte est bloqué après trop d'échecs d'authentification. Pour le débloquer, réinitialisez votre mot de passe.",
        "login.forgot_password": "Mot de passe oublié ?",
        "login.forgot_identifier": "Identifiant oublié ?",
        "phone.title": "Votre numéro de téléphone",
        "phone.intro": "Pour recevoir vos codes de connexion, saisissez le numéro de téléphone direct qui vous est attribué : un portable reçoit le code par SMS, un fixe par appel vocal.",
        "phone.label": "Téléphone",
        "phone.submit": "Recevoir un code",
        "phone.invalid": "Ce numéro de téléphone n'est pas valide. Saisissez un numéro direct, par exemple 06 12 34 56 78.",
        "phone.taken": "Ce numéro est déjà utilisé par un autre compte : chaque agent doit avoir son propre numéro.",
        "phone.warning": "Vérifiez bien ce numéro : en cas d'erreur, seul l'administrateur de votre établissement pourra le corriger.",
        "code.title": "Code de vérification",
        "code.sent_sms": "Un code vous a été envoyé par SMS au %(phone)s.",
        "code.sent_voice": "Vous allez recevoir un appel au %(phone)s qui vous dictera votre code.",
        "code.label": "Code reçu",
        "code.submit": "Valider",
        "code.resend": "Recevoir un nouveau code",
        "code.wrong": "Code incorrect.",
        "code.expired": "Ce code a expiré. Demandez-en un nouveau.",
        "code.exhausted": "Trop d'erreurs pour ce code. Demandez-en un nouveau.",
        "code.none": "Aucun code valide. Demandez-en un nouveau.",
        "code.too_soon": "Patientez avant de demander un nouveau code (possible à partir de %(time)s).",
        "code.limit": "Trop de codes ont été envoyés. Réessayez à partir de %(time)s.",
        "code.send_failed": "Le code n'a pas pu être envoyé : le service d'envoi ne répond pas. Réessayez dans un instant.",
        "code.send_refused": "Le code n'a pas pu être envoyé. Si le problème persiste, contactez l'administrateur de votre établissement.",
        "code.retry": "Réessayer l'envoi",
        "code.wrong_number": "Ce n'est pas votre numéro ? Seul l'administrateur de votre établissement peut le corriger.",
        "confirm.title": "Vérifiez vos informations",
        "confirm.intro": "C'est votre première connexion : vérifiez les informations de votre compte.",
        "confirm.wrong": "Si une information est inexacte, demandez à l'administrateur de votre établissement de la corriger.",
        "confirm.submit": "Je confirme ces informations",
        "field.identifier": "Identifiant",
        "field.civility": "Civilité",
        "field.last_name": "Nom",
        "field.first_name": "Prénom",
        "field.email": "Courriel professionnel",
        "field.phone": "Téléphone d'authentification",
        "field.landline": "Téléphone fixe",
        "field.function": "Service ou fonction",
        "field.establishment": "Établissement",
        "field.profile": "Profil",
        "profile.administrator": "Administrateur",
        "profile.user": "Utilisateur",
        "locked.title": "Compte bloqué",
        "locked.text": "Votre compte est bloqué après trop d'échecs d'authentification. Pour le débloquer, réinitialisez votre mot de passe.",
        "locked.reset": "Réinitialiser mon mot de passe",
        "recovery.password_title": "Réinitialiser votre mot de passe",
        "recovery.password_intro": "Saisissez votre identifiant et le courriel professionnel indiqué lors de votre inscription : vous recevrez un lien pour choisir un nouveau mot de passe.",
        "recovery.identifier_title": "Identifiant oublié",
        "recovery.identifier_intro": "Saisissez votre courriel professionnel : vous recevrez le ou les identifiants qui lui sont associés.",
        "recovery.email": "Courriel professionnel",
        "recovery.email_hint": "Ex : monmail@employeur.fr",
        "recovery.submit": "Envoyer",
        "recovery.reset_submit": "Réinitialiser",
        "recovery.missing": "Remplissez tous les champs.",
        "recovery.password_sent": "Si ces informations correspondent à un compte, un courriel contenant un lien de réinitialisation vient d'être envoyé.",
        "recovery.identifier_sent": "Si ce courriel correspond à un ou plusieurs comptes, un message contenant les identifiants vient d'être envoyé.",
        "recovery.new_password": "Nouveau mot de passe",
        "recovery.new_password_again": "Confirmez le nouveau mot de passe",
        "recovery.new_title": "Choisissez un nouveau mot de passe",
        "recovery.mismatch": "Les deux mots de passe ne sont pas identiques.",
        "recovery.too_short": "Le mot de passe est trop court.",
        "recovery.min_length": "Au moins %(minimum)s caractères.",
        "recovery.link_invalid": "Ce lien de réinitialisation n'est pas valide, a expiré ou a déjà servi. Faites une nouvelle demande.",
        "recovery.done_title": "Mot de passe modifié",
        "recovery.done": "Votre mot de passe a été modifié et votre compte est débloqué. Retournez à l'application pour vous connecter.",
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
        "login.locked": "Your account is locked after too many failed authentications. To unlock it, reset your password.",
        "login.forgot_password": "Forgot your password?",
        "login.forgot_identifier": "Forgot your identifier?",
        "phone.title": "Your phone number",
        "phone.intro": "To receive your login codes, enter the direct phone number assigned to you: a mobile gets the code by SMS, a landline by voice call.",
        "phone.label": "Phone",
        "phone.submit": "Get a code",
        "phone.invalid": "This phone number is not valid. Enter a direct number, for example 06 12 34 56 78.",
        "phone.taken": "This number is already used by another account: each agent needs their own number.",
        "phone.warning": "Check this number carefully: if it is wrong, only your establishment's administrator can correct it.",
        "code.title": "Verification code",
        "code.sent_sms": "A code was sent by SMS to %(phone)s.",
        "code.sent_voice": "You will get a call at %(phone)s that reads your code.",
        "code.label": "Code received",
        "code.submit": "Confirm",
        "code.resend": "Get a new code",
        "code.wrong": "Wrong code.",
        "code.expired": "This code has expired. Ask for a new one.",
        "code.exhausted": "Too many mistakes for this code. Ask for a new one.",
        "code.none": "No valid code. Ask for a new one.",
        "code.too_soon": "Please wait before asking for a new code (possible from %(time)s).",
        "code.limit": "Too many codes were sent. Try again from %(time)s.",
        "code.send_failed": "The code could not be sent: the sending service does not answer. Try again in a moment.",
        "code.send_refused": "The code could not be sent. If this goes on, contact your establishment's administrator.",
        "code.retry": "Try sending again",
        "code.wrong_number": "Not your number? Only your establishment's administrator can correct it.",
        "confirm.title": "Check your details",
        "confirm.intro": "This is your first login: check your account's details.",
        "confirm.wrong": "If something is wrong, ask your establishment's administrator to correct it.",
        "confirm.submit": "I confirm these details",
        "field.identifier": "Identifier",
        "field.civility": "Title",
        "field.last_name": "Last name",
        "field.first_name": "First name",
        "field.email": "Work email",
        "field.phone": "Authentication phone",
        "field.landline": "Landline",
        "field.function": "Department or role",
        "field.establishment": "Establishment",
        "field.profile": "Profile",
        "profile.administrator": "Administrator",
        "profile.user": "User",
        "locked.title": "Account locked",
        "locked.text": "Your account is locked after too many failed authentications. To unlock it, reset your password.",
        "locked.reset": "Reset my password",
        "recovery.password_title": "Reset your password",
        "recovery.password_intro": "Enter your identifier and the work email given when you registered: you will receive a link to choose a new password.",
        "recovery.identifier_title": "Forgotten identifier",
        "recovery.identifier_intro": "Enter your work email: you will receive the identifiers linked to it.",
        "recovery.email": "Work email",
        "recovery.email_hint": "E.g. myname@employer.fr",
        "recovery.submit": "Send",
        "recovery.reset_submit": "Reset",
        "recovery.missing": "Fill in every field.",
        "recovery.password_sent": "If these details match an account, an email with a reset link has just been sent.",
        "recovery.identifier_sent": "If this email matches one or more accounts, a message with the identifiers has just been sent.",
        "recovery.new_password": "New password",
        "recovery.new_password_again": "Confirm the new password",
        "recovery.new_title": "Choose a new password",
        "recovery.mismatch": "The two passwords differ.",
        "recovery.too_short": "The password is too short.",
        "recovery.min_length": "At least %(minimum)s characters.",
        "recovery.link_invalid": "This reset link is not valid, has expired or was already used. Ask for a new one.",
        "recovery.done_title": "Password changed",
        "recovery.done": "Your password has been changed and your account is unlocked. Go back to the application to log in.",
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


def local_time(moment) -> str:
    """A naive UTC datetime shown as the time in France."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
