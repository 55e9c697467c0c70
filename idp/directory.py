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
) -> Account:
    if profile not in PROFILES:
        raise AccountError(f"profile must be one of {', '.join(PROFILES)}")
    if civility is not None and civility not in CIVILITIES:
        raise AccountError(f"civility must be one of {', '.join(CIVILITIES)}")
    if not last_name.strip() or not first_name.strip():
        raise AccountError("an account needs a last name and a first name")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise AccountError(f"{email!r} is not an email address")
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
        audit.record("account.created", account_id=account.id, identifier=account.identifier)
        return account
    raise AccountError("could not allocate a unique identifier")


class PhoneRefused(AccountError):
    """A number that cannot be an account's authentication phone. ``reason``: ``invalid``,
    ``destination`` (the policy sends no code there) or ``taken`` (another agent's)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


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
    outstanding reset link of the account stops working. Returns how many were voided."""
    moment = now()
    account.password_hash = password_hash
    account.password_changed_at = moment
    return db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None))
        .values(used_at=moment, new_password_hash=None)
    ).rowcount


def random_password() -> str:
    return secrets.token_urlsafe(12)
