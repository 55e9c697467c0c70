"""The directory: establishments, accounts and services, and the rules for creating
them (SIRET checked, identifiers generated, one phone per agent). Every writer goes
through here: the ``idp`` command today, the administration pages as they come."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from . import audit
from .clock import now
from .extensions import db
from .models import Account, AccountService, Establishment, PasswordReset, Service
from .models.accounts import CIVILITIES, PROFILES
from .passwords import hash_password
from .phones import PhoneError, check_destination, parse_phone
from .policy_store import current_policy


class AccountError(ValueError):
    """A rule about establishments or accounts was broken; the message says which."""


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def check_siret(siret: str) -> str:
    siret = re.sub(r"\s", "", siret)
    if not re.fullmatch(r"\d{14}", siret) or not luhn_valid(siret):
        raise AccountError(f"SIRET {siret!r} must be 14 digits passing the Luhn check")
    return siret


def create_establishment(siret: str, name: str) -> Establishment:
    siret = check_siret(siret)
    if not name.strip():
        raise AccountError("an establishment needs a name")
    if db.session.execute(db.select(Establishment).filter_by(siret=siret)).scalar_one_or_none():
        raise AccountError(f"an establishment with SIRET {siret} exists already")
    establishment = Establishment(siret=siret, name=name.strip())
    db.session.add(establishment)
    audit.record("establishment.created", siret=siret)
    return establishment


def get_service(code: str) -> Service:
    service = db.session.execute(db.select(Service).filter_by(code=code)).scalar_one_or_none()
    if service is None:
        raise AccountError(f"no service with code {code!r}")
    return service


def create_service(code: str, name: str) -> Service:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", code):
        raise AccountError("a service code is lowercase letters, digits, '-' and '_'")
    if db.session.execute(db.select(Service).filter_by(code=code)).scalar_one_or_none():
        raise AccountError(f"a service with code {code!r} exists already")
    service = Service(code=code, name=name)
    db.session.add(service)
    return service


def _letters(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z]", "", ascii_text).upper()


def new_identifier(first_name: str, last_name: str) -> str:
    """Three letters (first name's initial, last name's first two) and six digits."""
    prefix = (_letters(first_name)[:1] + _letters(last_name)[:2]).ljust(3, "X")
    taken = db.session.execute(
        db.select(Account.identifier).where(Account.identifier.like(f"{prefix}%"))
    ).scalars()
    numbers = [int(identifier[3:]) for identifier in taken if identifier[3:].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:06d}"


def _words(text: str) -> set[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {word for word in re.split(r"[^a-z]+", ascii_text) if word}


def check_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise AccountError(f"{email!r} is not an email address")
    return email


def check_nominative(first_name: str, last_name: str, email: str) -> None:
    """Accounts are nominative: refuse names or a mailbox that name a function, a place or
    a team (the policy's ``accounts.generic_names``) rather than a person."""
    generic = {word for name in current_policy().accounts.generic_names for word in _words(name)}
    for label, text in (("name", f"{first_name} {last_name}"), ("email", email.split("@", 1)[0])):
        found = sorted(_words(text) & generic)
        if found:
            raise AccountError(f"generic account: the {label} {text!r} contains {found[0]!r}; "
                               "each agent needs their own nominative account")


def usable_administrators(establishment_id: int) -> list[Account]:
    today = now().date()
    admins = db.session.execute(
        db.select(Account).where(Account.establishment_id == establishment_id, Account.profile == "administrator")
    ).scalars().all()
    return [a for a in admins if a.is_usable(today)]


def check_administrators_after(account: Account, *, profile: str | None = None, valid_until: date | None = None,
                               deleted: bool = False) -> None:
    """Refuse a change to ``account`` that would leave its establishment with fewer usable
    administrators than ``administrators.minimum_per_establishment`` (an administrator
    acting on themself included). A change that does not lower the count is allowed."""
    minimum = current_policy().administrators.minimum_per_establishment
    before = usable_administrators(account.establishment_id)
    if account not in before:
        return  # not a usable administrator today: the count cannot go down
    today = now().date()
    stays = not deleted and (profile or account.profile) == "administrator" and (
        valid_until is None or valid_until >= today)
    after = len(before) - (0 if stays else 1)
    if not stays and after < minimum:
        raise AccountError(f"the establishment would have {after} administrator(s); "
                           f"the policy requires at least {minimum}")


def establishments_below_minimum() -> list[tuple[Establishment, int]]:
    """Establishments with fewer usable administrators than the policy's minimum."""
    minimum = current_policy().administrators.minimum_per_establishment
    result = []
    for establishment in db.session.execute(db.select(Establishment).order_by(Establishment.siret)).scalars():
        count = len(usable_administrators(establishment.id))
        if count < minimum:
            result.append((establishment, count))
    return result


def check_password(password: str) -> None:
    minimum = current_policy().passwords.min_length
    if len(password) < minimum:
        raise AccountError(f"a password needs at least {minimum} characters")


def create_account(
    establishment: Establishment,
    *,
    profile: str,
    last_name: str,
    first_name: str,
    email: str,
    civility: str | None = None,
    password: str | None = None,
    phone: str | None = None,
    function: str | None = None,
    services: list[Service] = (),
    valid_until: date | None = None,
    actor: str | None = None,
) -> Account:
    """A new account; ``actor`` names the administrator creating it, for the trail (the
    command line passes none)."""
    if profile not in PROFILES:
        raise AccountError(f"profile must be one of {', '.join(PROFILES)}")
    if civility is not None and civility not in CIVILITIES:
        raise AccountError(f"civility must be one of {', '.join(CIVILITIES)}")
    if not last_name.strip() or not first_name.strip():
        raise AccountError("an account needs a last name and a first name")
    email = check_email(email)
    check_nominative(first_name, last_name, email)
    if valid_until is not None and valid_until < now().date():
        raise AccountError("the validity end date is in the past")
    services = list({service.code: service for service in services}.values())  # each right once
    if password is not None:
        check_password(password)
    line_type = None
    if phone:
        phone, line_type = check_phone(phone)
    if establishment.id is None:
        db.session.flush()
    for _ in range(5):
        account = Account(
            identifier=new_identifier(first_name, last_name),
            subject=str(uuid.uuid4()),
            establishment_id=establishment.id,
            profile=profile,
            civility=civility,
            last_name=last_name.strip(),
            first_name=first_name.strip(),
            email=email.strip().lower(),
            phone=phone,
            phone_line_type=line_type,
            function=function,
            valid_until=valid_until,
            password_hash=hash_password(password) if password else None,
            rights=[AccountService(service=service) for service in services],
        )
        try:
            with db.session.begin_nested():
                db.session.add(account)
        except IntegrityError:
            continue  # another process took this identifier: try the next one
        audit.record("account.created", account_id=account.id, identifier=account.identifier,
                     **({"actor": actor} if actor else {}))
        return account
    raise AccountError("could not allocate a unique identifier")


class PhoneRefused(AccountError):
    """A number that cannot be an account's authentication phone. ``reason``: ``invalid``,
    ``destination`` (the policy sends no code there) or ``taken`` (another agent's);
    ``message_key`` is the text the pages show."""

    MESSAGE_KEYS = {"invalid": "phone.invalid", "destination": "phone.not_allowed", "taken": "phone.taken"}

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason

    @property
    def message_key(self) -> str:
        return self.MESSAGE_KEYS.get(self.reason, "phone.invalid")


def check_phone(text: str, account: Account | None = None) -> tuple[str, str]:
    """Parse a phone number for an account; refuse one the policy sends no code to, and
    one another account has unless the policy allows shared numbers. Returns the E.164
    number and its line type."""
    try:
        phone = parse_phone(text)
    except PhoneError as exc:
        raise PhoneRefused(f"{text!r} is not a phone number that can receive codes: {exc}", "invalid") from None
    policy = current_policy()
    try:
        check_destination(phone, policy.phones.allowed_regions, getattr(policy.channels, phone.line_type))
    except PhoneError as exc:
        raise PhoneRefused(f"{text!r} cannot receive codes: {exc}", "destination") from None
    if not policy.phones.shared_numbers_allowed:
        query = db.select(Account.id).where(Account.phone == phone.e164)
        if account is not None and account.id is not None:
            query = query.where(Account.id != account.id)
        if db.session.execute(query.limit(1)).first() is not None:
            raise PhoneRefused("this phone number belongs to another account; each agent needs their own", "taken")
    return phone.e164, phone.line_type


def change_password(account: Account, password_hash: str) -> int:
    """Give ``account`` a new password (already hashed), by whatever path: every
    outstanding reset link of the account stops working, and the account is told.
    Returns how many links were voided."""
    from . import notifications

    moment = now()
    account.password_hash = password_hash
    account.password_changed_at = moment
    notifications.notify(account, "password_changed")
    return db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
        .values(used_at=moment, new_password_hash=None)
    ).rowcount


CONTACT_FIELDS = ("email", "phone", "landline")  # changing them is admin.change_contact


def update_account(account: Account, *, actor: str, civility: str | None = None, last_name: str | None = None,
                   first_name: str | None = None, email: str | None = None, phone: str | None = None,
                   landline: str | None = None, function: str | None = None, profile: str | None = None,
                   valid_until: date | None = None, services: list[Service] | None = None) -> list[str]:
    """Apply an administrator's (or operator's) changes with every rule checked; return the
    fields that changed. ``None`` leaves a field as it is; ``""`` clears an optional one
    (phone, landline, function). ``actor`` names who acts, for the audit trail."""
    from . import devices, notifications

    if profile is not None and profile not in PROFILES:
        raise AccountError(f"profile must be one of {', '.join(PROFILES)}")
    if civility is not None and civility not in CIVILITIES:
        raise AccountError(f"civility must be one of {', '.join(CIVILITIES)}")
    if (last_name is not None and not last_name.strip()) or (first_name is not None and not first_name.strip()):
        raise AccountError("an account needs a last name and a first name")
    if email is not None:
        email = check_email(email)
    check_nominative(first_name or account.first_name, last_name or account.last_name, email or account.email)
    if valid_until is not None and valid_until < now().date():
        raise AccountError("the validity end date is in the past")
    check_administrators_after(account, profile=profile, valid_until=valid_until)
    new_phone = new_line_type = new_landline = None
    if phone:
        new_phone, new_line_type = check_phone(phone, account)
    if landline:
        try:
            new_landline = parse_phone(landline).e164
        except PhoneError as exc:
            raise AccountError(f"{landline!r} is not a phone number: {exc}") from None

    changed: list[str] = []
    old_email = account.email
    simple = {"civility": civility, "last_name": last_name, "first_name": first_name, "email": email,
              "profile": profile, "valid_until": valid_until,
              "function": function.strip() or None if function is not None else None}
    for name, value in simple.items():
        if value is None and not (name == "function" and function is not None):
            continue
        value = value.strip() if isinstance(value, str) else value
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed.append(name)
    if phone is not None and new_phone != account.phone:
        account.phone, account.phone_line_type = new_phone, new_line_type
        devices.revoke_all(account, "phone changed")  # trusted with the old number
        changed.append("phone")
    if landline is not None and new_landline != account.landline:
        account.landline = new_landline
        changed.append("landline")
    if services is not None and sorted({s.code for s in services}) != account.service_codes:
        wanted = {service.code: service for service in services}
        kept = [right for right in account.rights if right.service.code in wanted]  # rows stay: no re-insert
        kept_codes = {right.service.code for right in kept}
        account.rights = kept + [AccountService(service=s) for code, s in wanted.items() if code not in kept_codes]
        changed.append("services")
    if changed:
        audit.record("account.updated", account_id=account.id, actor=actor, fields=changed)
    if "phone" in changed and account.phone:
        notifications.notify(account, "phone_changed")
    if "email" in changed:
        notifications.notify(account, "email_changed", to=old_email, new_email=account.email)
    return changed


def renew_account(account: Account, until: date, *, actor: str) -> None:
    if until < now().date():
        raise AccountError("the validity end date is in the past")
    account.valid_until = until
    audit.record("account.renewed", account_id=account.id, actor=actor, until=until.isoformat())


def delete_account(account: Account, *, actor: str) -> None:
    check_administrators_after(account, deleted=True)
    audit.record("account.deleted", account_id=None, actor=actor, identifier=account.identifier,
                 establishment=account.establishment.siret)
    db.session.delete(account)


def random_password() -> str:
    return secrets.token_urlsafe(12)
