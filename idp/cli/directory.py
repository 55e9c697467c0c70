"""Establishments, services, accounts and clients from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..clients import create_client, revoke_tokens, set_access_token_format
from ..directory import AccountError, create_account, create_establishment, create_service, get_service, random_password
from ..extensions import db
from ..models import Account, Client, Establishment
from . import emit, json_option, main, with_app


@main.group()
def establishments() -> None:
    """Establishments (collectivités)."""


@establishments.command("create")
@click.option("--siret", required=True)
@click.option("--name", required=True)
@json_option
@with_app
def establishments_create(siret: str, name: str, as_json: bool) -> None:
    establishment = create_establishment(siret, name)
    db.session.flush()
    emit(as_json, {"siret": establishment.siret, "name": establishment.name}, f"Created {establishment.siret}.")


@main.group()
def services() -> None:
    """Services that clients belong to and accounts have rights to."""


@services.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@json_option
@with_app
def services_create(code: str, name: str, as_json: bool) -> None:
    service = create_service(code, name)
    emit(as_json, {"code": service.code, "name": service.name}, f"Created service {code}.")


def _establishment(siret: str) -> Establishment:
    found = db.session.execute(db.select(Establishment).filter_by(siret=siret)).scalar_one_or_none()
    if found is None:
        raise AccountError(f"no establishment with SIRET {siret}")
    return found


def _account_data(account: Account) -> dict:
    return {
        "identifier": account.identifier,
        "sub": account.subject,
        "profile": account.profile,
        "civility": account.civility,
        "last_name": account.last_name,
        "first_name": account.first_name,
        "email": account.email,
        "phone": account.phone,
        "landline": account.landline,
        "function": account.function,
        "establishment": account.establishment.siret,
        "services": account.service_codes,
        "status": account.status,
        "valid_until": account.valid_until.isoformat() if account.valid_until else None,
    }


@main.group()
def accounts() -> None:
    """User and administrator accounts."""


@accounts.command("create")
@click.option("--establishment", "siret", required=True, help="SIRET of the establishment.")
@click.option("--profile", type=click.Choice(["administrator", "user"]), default="user")
@click.option("--civility", type=click.Choice(["M", "Mme"]))
@click.option("--last-name", required=True)
@click.option("--first-name", required=True)
@click.option("--email", required=True)
@click.option("--phone")
@click.option("--function")
@click.option("--service", "service_codes", multiple=True, help="Right to a service (repeatable).")
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--password", help="Initial password; a random one is printed when omitted.")
@json_option
@with_app
def accounts_create(siret, profile, civility, last_name, first_name, email, phone, function,
                    service_codes, valid_until, password, as_json) -> None:
    generated = password is None
    password = password or random_password()
    account = create_account(
        _establishment(siret),
        profile=profile,
        civility=civility,
        last_name=last_name,
        first_name=first_name,
        email=email,
        phone=phone,
        function=function,
        services=[get_service(code) for code in dict.fromkeys(service_codes)],  # a repeat is one right
        valid_until=valid_until.date() if valid_until else None,
        password=password,
    )
    db.session.flush()
    data = _account_data(account)
    if generated:
        data["password"] = password
    text = f"Created {account.identifier}." + (f" Password: {password}" if generated else "")
    emit(as_json, data, text)


@accounts.command("list")
@click.option("--establishment", "siret", help="Only this establishment's accounts.")
@json_option
@with_app
def accounts_list(siret: str | None, as_json: bool) -> None:
    query = db.select(Account).order_by(Account.identifier)
    if siret:
        query = query.where(Account.establishment_id == _establishment(siret).id)
    rows = [_account_data(a) for a in db.session.execute(query).scalars()]
    text = "\n".join(
        f"{r['identifier']}  {r['profile']:<13} {r['status']:<7} {r['last_name']} {r['first_name']} <{r['email']}>"
        for r in rows
    )
    emit(as_json, rows, text or "No accounts.")


def _find(identifier: str) -> Account:
    account = db.session.execute(
        db.select(Account).filter_by(identifier=identifier.strip().upper())
    ).scalar_one_or_none()
    if account is None:
        raise AccountError(f"no account {identifier}")
    return account


@accounts.command("unlock")
@click.argument("identifier")
@json_option
@with_app
def accounts_unlock(identifier: str, as_json: bool) -> None:
    """Unlock a locked account (the user normally does it by resetting the password)."""
    from ..lockout import unlock

    account = _find(identifier)
    unlock(account)
    emit(as_json, _account_data(account), f"{account.identifier}: {account.status}.")


@accounts.command("set-phone")
@click.argument("identifier")
@click.argument("phone")
@json_option
@with_app
def accounts_set_phone(identifier: str, phone: str, as_json: bool) -> None:
    """Correct an account's authentication phone; its trusted devices are revoked."""
    from ..directory import update_account

    account = _find(identifier)
    update_account(account, actor="cli", phone=phone)  # revokes trusted devices, tells the owner
    emit(as_json, _account_data(account), f"{account.identifier}: phone {account.phone}.")


@accounts.command("wipe-phones")
@click.option("--establishment", "siret", help="Only this establishment's accounts.")
@click.option("--yes", is_flag=True, help="Do it (without this flag, only count).")
@json_option
@with_app
def accounts_wipe_phones(siret: str | None, yes: bool, as_json: bool) -> None:
    """Before the rollout: remove every phone number; users enter theirs at next login."""
    from .. import audit, devices

    query = db.select(Account).where(Account.phone.is_not(None))
    if siret:
        query = query.where(Account.establishment_id == _establishment(siret).id)
    found = list(db.session.execute(query).scalars())
    if yes:
        for account in found:
            account.phone = account.phone_line_type = None
            devices.revoke_all(account, "phone wiped")
        audit.record("account.phones_wiped", count=len(found), establishment=siret)
    verb = "wiped" if yes else "would wipe (add --yes)"
    emit(as_json, {"wiped" if yes else "would_wipe": len(found)}, f"{verb}: {len(found)} phone numbers.")


@accounts.command("links")
@click.argument("identifier")
@json_option
@with_app
def accounts_links(identifier: str, as_json: bool) -> None:
    """The upstream identities (issuer, sub) linked to an account."""
    from ..models import UpstreamLink

    account = _find(identifier)
    links = db.session.execute(db.select(UpstreamLink).filter_by(account_id=account.id)).scalars().all()
    rows = [{"issuer": link.issuer, "sub": link.subject, "created_at": link.created_at.isoformat(),
             "last_used_at": link.last_used_at.isoformat() if link.last_used_at else None} for link in links]
    emit(as_json, rows, "\n".join(f"{r['issuer']}  {r['sub']}" for r in rows) or "No links.")


@accounts.command("unlink")
@click.argument("identifier")
@click.option("--issuer", required=True)
@click.option("--sub", "subject", required=True)
@json_option
@with_app
def accounts_unlink(identifier: str, issuer: str, subject: str, as_json: bool) -> None:
    """Remove a link: the next federated login links again by SIRET and email."""
    from .. import audit
    from ..models import UpstreamLink

    account = _find(identifier)
    link = db.session.execute(
        db.select(UpstreamLink).filter_by(account_id=account.id, issuer=issuer, subject=subject)
    ).scalar_one_or_none()
    if link is None:
        raise AccountError("no such link for this account")
    db.session.delete(link)
    audit.record("upstream.unlinked", account_id=account.id, issuer=issuer, subject=subject)
    emit(as_json, {"unlinked": True}, f"{account.identifier}: unlinked {issuer} {subject}.")


def _client_data(client: Client) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "service": client.service.code if client.service else None,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": client.scope,
        "default_acr": client.default_acr,
        "access_token_format": client.access_token_format or "default",
    }


@main.group()
def clients() -> None:
    """Relying applications."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--client-id", help="Chosen identifier; random when omitted.")
@click.option("--service", "service_code", help="Service the client belongs to.")
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True)
@click.option("--auth-method", default="client_secret_basic",
              type=click.Choice(["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]))
@click.option("--grant-type", "grant_types", multiple=True,
              type=click.Choice(["authorization_code", "refresh_token", "client_credentials"]))
@click.option("--scope", default="openid profile email phone peps")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--default-acr", help="Minimum acr this client always requires.")
@click.option("--access-token-format", type=click.Choice(["opaque", "jwt"]),
              help="Opaque or JWT (RFC 9068) access tokens; default: oidc.access_token_format.")
@json_option
@with_app
def clients_create(name, client_id, service_code, redirect_uris, logout_uris, auth_method,
                   grant_types, scope, jwks_file, default_acr, access_token_format, as_json) -> None:
    jwks = json.loads(jwks_file.read_text(encoding="utf-8")) if jwks_file else None
    client, secret = create_client(
        name,
        client_id=client_id,
        service=get_service(service_code) if service_code else None,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(logout_uris),
        auth_method=auth_method,
        grant_types=list(grant_types) or ["authorization_code", "refresh_token"],
        scope=scope,
        jwks=jwks,
        default_acr=default_acr,
        access_token_format=access_token_format,
    )
    db.session.flush()
    data = _client_data(client)
    if secret:
        data["client_secret"] = secret
    text = f"Created client {client.client_id}."
    if secret:
        text += f"\nClient secret (shown once): {secret}"
    emit(as_json, data, text)


@clients.command("update")
@click.argument("client_id")
@click.option("--access-token-format", required=True, type=click.Choice(["opaque", "jwt", "default"]),
              help="Opaque or JWT (RFC 9068) access tokens; default: follow oidc.access_token_format.")
@json_option
@with_app
def clients_update(client_id: str, access_token_format: str, as_json: bool) -> None:
    client = set_access_token_format(client_id, None if access_token_format == "default" else access_token_format)
    emit(as_json, _client_data(client), f"Client {client.client_id}: access tokens {access_token_format}.")


@clients.command("revoke-tokens")
@click.argument("client_id")
@json_option
@with_app
def clients_revoke_tokens(client_id: str, as_json: bool) -> None:
    """End every token of CLIENT_ID now: its users' (it sends them through /authorize
    again), its codes, and its own client_credentials tokens issued up to now."""
    counts = revoke_tokens(client_id)
    emit(as_json, {"client_id": client_id, **counts},
         f"Client {client_id}: {counts['tokens']} stored tokens revoked, {counts['codes']} codes dropped; "
         "its own tokens issued until now are inactive.")


@clients.command("list")
@json_option
@with_app
def clients_list(as_json: bool) -> None:
    rows = [_client_data(c) for c in db.session.execute(db.select(Client).order_by(Client.name)).scalars()]
    text = "\n".join(f"{r['client_id']}  {r['name']}  ({r['token_endpoint_auth_method']}, "
                     f"{r['access_token_format']} access tokens)  "
                     f"{' '.join(r.get('redirect_uris') or []) or '-'}" for r in rows)
    emit(as_json, rows, text or "No clients.")
