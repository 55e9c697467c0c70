"""Configuration: ``config/default.yaml`` overlaid by the file named in ``IDP_CONFIG``.

Secrets come from the environment: ``IDP_SECRET_KEY`` and ``IDP_DATABASE_URL``.
Every problem is reported as :class:`ConfigError` naming the file, the key and the problem.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from .durations import parse_duration
from .yamlfile import FileProblem, first_problem, read_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.yaml"
DEV_SECRET_FILE = "secret_key"

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class ConfigError(FileProblem):
    """A configuration problem, with the file and the key it concerns."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionConfig(_Section):
    lifetime: Duration
    login_flow_lifetime: Duration


class OIDCConfig(_Section):
    authorization_code_lifetime: Duration
    access_token_lifetime: Duration
    refresh_token_lifetime: Duration
    id_token_lifetime: Duration
    client_assertion_max_lifetime: Duration
    signing_alg: Literal["RS256", "ES256"]
    rsa_key_size: int
    # Access tokens: opaque (random for a user, sealed for a client's own), or JWTs
    # (RFC 9068) signed like ID tokens. A client's own access_token_format overrides this.
    access_token_format: Literal["opaque", "jwt"]

    @field_validator("rsa_key_size")
    @classmethod
    def _strong_enough(cls, value: int) -> int:
        if value < 2048:
            raise ValueError("must be at least 2048 bits")
        return value


SenderName = Literal["outbox", "console", "smtp", "vonage_sms", "vonage_voice"]
DEVELOPMENT_SENDERS = ("outbox", "console")
CHANNEL_SENDERS = {
    "sms": ("outbox", "console", "vonage_sms"),
    "voice": ("outbox", "console", "vonage_voice"),
    "email": ("outbox", "console", "smtp"),
}


class SmtpConfig(_Section):
    host: str
    port: int
    sender: str
    starttls: bool
    username: str | None
    timeout: Duration
    password: str | None = None


class VonageConfig(_Section):
    api_key: str | None
    application_id: str | None
    sms_sender_id: str
    voice_caller_number: str | None
    api_host: str | None
    rest_host: str | None
    ca_bundle: str | None
    timeout: Duration
    api_secret: str | None = None
    private_key: str | None = None

    @field_validator("private_key")
    @classmethod
    def _pkcs8_pem(cls, value: str | None) -> str | None:
        """The voice API signs with this key: refuse at start-up what it cannot load."""
        if not value:
            return value
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        if "-----BEGIN PRIVATE KEY-----" not in value:
            raise ValueError("must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----), with its newlines")
        try:
            load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("is not a readable PKCS#8 PEM private key") from None
        return value


class MessagesConfig(_Section):
    sms: list[SenderName]
    voice: list[SenderName]
    email: list[SenderName]
    outbox_file: str
    smtp: SmtpConfig
    vonage: VonageConfig

    @model_validator(mode="after")
    def _senders_fit_channels(self):
        for channel, allowed in CHANNEL_SENDERS.items():
            senders = getattr(self, channel)
            if not senders:
                raise ValueError(f"{channel}: needs at least one sender")
            wrong = [name for name in senders if name not in allowed]
            if wrong:
                raise ValueError(f"{channel}: {', '.join(wrong)} cannot send {channel} messages")
        return self


class UIConfig(_Section):
    default_locale: Literal["fr", "en"]
    locales: list[Literal["fr", "en"]]


class UpstreamConfig(_Section):
    """An upstream OpenID provider users may log in with (``kind`` picks defaults)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    kind: Literal["oidc", "net-entreprises"] = "oidc"
    label: str | None = None
    issuer: str
    client_id: str = Field(min_length=1)
    client_secret: str | None = None   # from IDP_UPSTREAM_<ID>_SECRET
    scopes: list[str] = ["openid", "profile", "email"]
    claims: dict[Literal["siret", "email", "given_name", "family_name"], str] = {}
    use_userinfo: bool = True
    timeout: Duration = timedelta(seconds=10)
    ca_bundle: str | None = None

    @field_validator("issuer")
    @classmethod
    def _issuer_is_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or value.endswith("/"):
            raise ValueError("must be an absolute http(s) URL without trailing slash")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("must use https (http only on loopback)")
        return value

    @property
    def secret_variable(self) -> str:
        return "IDP_UPSTREAM_" + self.id.upper().replace("-", "_") + "_SECRET"


class JobsConfig(_Section):
    """``idp worker``: how often it looks for work, and how failed sends are retried."""

    poll: Duration
    first_retry: Duration
    max_retry: Duration
    max_attempts: int = Field(ge=1, le=50)


class MetricsConfig(_Section):
    """``/metrics`` (see :mod:`idp.metrics`): served to direct requests from
    ``allowed_networks`` or bearing the token from ``IDP_METRICS_TOKEN``; 404 to anyone else."""

    enabled: bool = True
    allowed_networks: list[IPvAnyNetwork] = [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]
    token: str | None = None   # from IDP_METRICS_TOKEN

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("must be 32 characters or more")
        return value


class LoggingConfig(_Section):
    format: Literal["text", "json"] = "text"   # json: one object a line, with the request id


_EMAIL = re.compile(r"[^@\s:/\\]+@[^@\s:/\\]+\.[^@\s:/\\]+")  # no scheme, no path: an address


def _link(value: str) -> str:
    parts = urlsplit(value)
    if "\\" in value or any(ord(char) < 33 for char in value):
        raise ValueError("must not hold backslashes, spaces or control characters")
    if value.startswith("/") and not value.startswith("//"):
        return value
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be a path on this site (/...) or an absolute http(s) URL")
    return value


class SiteLinks(_Section):
    """The footer's links that RGAA requires; the defaults are the provider's own pages."""

    legal: str = "/mentions-legales"
    privacy: str = "/donnees-personnelles"
    accessibility: str = "/accessibilite"

    _links_are_urls = field_validator("legal", "privacy", "accessibility")(_link)


class SiteConfig(_Section):
    """What the operator states about the service (see README, "Pages and theme")."""

    publisher: str = "PEP's"          # named by the legal notice and the accessibility statement
    links: SiteLinks = SiteLinks()
    accessibility_status: Literal["full", "partial", "none"] = "partial"  # RGAA: totalement/partiellement/non conforme
    support: str | None = None         # whom agents contact when no administrator can be named (email or URL)
    theme_dir: str | None = None       # templates/, static/ and i18n/ overriding the defaults

    @field_validator("support")
    @classmethod
    def _support(cls, value: str | None) -> str | None:
        if value is None or _EMAIL.fullmatch(value):
            return value
        return _link(value)

    @property
    def support_href(self) -> str | None:
        """Where the support link leads: ``mailto:`` for an address, the URL otherwise."""
        if self.support is None:
            return None
        return f"mailto:{self.support}" if _EMAIL.fullmatch(self.support) else self.support


class Settings(_Section):
    environment: Literal["development", "production"]
    issuer: str
    instance_path: str
    database_url: str
    policy_file: str
    session: SessionConfig
    oidc: OIDCConfig
    messages: MessagesConfig
    ui: UIConfig
    jobs: JobsConfig
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    upstreams: list[UpstreamConfig] = []
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    site: SiteConfig = SiteConfig()
    secret_key: str = ""

    @field_validator("upstreams")
    @classmethod
    def _unique_ids(cls, value: list[UpstreamConfig]) -> list[UpstreamConfig]:
        ids = [u.id for u in value]
        if len(ids) != len(set(ids)):
            raise ValueError("upstream ids must be unique")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_is_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment or value.endswith("/"):
            raise ValueError("must have no query, fragment or trailing slash")
        return value

    def path(self, value: str) -> Path:
        """Resolve a path from the configuration against the project folder."""
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def instance_dir(self) -> Path:
        return self.path(self.instance_path)


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_mapping(path, ConfigError)


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_key(data: dict[str, Any], dotted: str) -> bool:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


SECRET_VARIABLES = (
    ("IDP_SMTP_PASSWORD", "smtp", "password"),
    ("IDP_VONAGE_API_SECRET", "vonage", "api_secret"),
    ("IDP_VONAGE_PRIVATE_KEY", "vonage", "private_key"),
)


def load_settings(
    overlay: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read, merge and validate the configuration.

    ``overlay`` defaults to ``$IDP_CONFIG``; ``overrides`` (used by tests and tools) is laid
    over both files.
    """
    environ = os.environ if environ is None else environ
    overlay = overlay or environ.get("IDP_CONFIG") or None
    sources: list[tuple[str, dict[str, Any]]] = [(str(DEFAULT_CONFIG), _read_yaml(DEFAULT_CONFIG))]
    if overlay:
        sources.append((str(overlay), _read_yaml(Path(overlay))))
    if overrides:
        sources.append(("(overrides)", overrides))
    if environ.get("IDP_ISSUER"):  # `make run PORT=N` serves on another port with the matching issuer
        sources.append(("$IDP_ISSUER", {"issuer": environ["IDP_ISSUER"]}))
    if environ.get("IDP_DATABASE_URL"):
        sources.append(("$IDP_DATABASE_URL", {"database_url": environ["IDP_DATABASE_URL"]}))
    if environ.get("IDP_SECRET_KEY"):
        sources.append(("$IDP_SECRET_KEY", {"secret_key": environ["IDP_SECRET_KEY"]}))
    if environ.get("IDP_METRICS_TOKEN"):
        sources.append(("$IDP_METRICS_TOKEN", {"metrics": {"token": environ["IDP_METRICS_TOKEN"]}}))
    for variable, section, key in SECRET_VARIABLES:
        if environ.get(variable):
            sources.append((f"${variable}", {"messages": {section: {key: environ[variable]}}}))
    upstream_secrets = {k: v for k, v in environ.items() if k.startswith("IDP_UPSTREAM_") and k.endswith("_SECRET")}

    merged: dict[str, Any] = {}
    for _, data in sources:
        merged = _merge(merged, data)

    def source_of(key: str) -> str:
        for name, data in reversed(sources):
            if _has_key(data, key):
                return name
        return sources[-1][0] if len(sources) > 1 else sources[0][0]

    for index, upstream in enumerate(merged.get("upstreams") or []):
        if isinstance(upstream, dict) and isinstance(upstream.get("id"), str):
            variable = "IDP_UPSTREAM_" + upstream["id"].upper().replace("-", "_") + "_SECRET"
            if variable in upstream_secrets:
                merged["upstreams"][index] = {**upstream, "client_secret": upstream_secrets[variable]}

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        key, problem = first_problem(exc)
        raise ConfigError(source_of(key), key, problem) from None
    _check_environment(settings, source_of)
    _check_secrets(settings, source_of)
    _check_theme(settings, source_of)
    return settings


def _check_theme(settings: Settings, source_of) -> None:
    folder = settings.site.theme_dir
    if folder is not None and not settings.path(folder).is_dir():
        raise ConfigError(source_of("site.theme_dir"), "site.theme_dir", f"{folder} is not a folder")


def _check_secrets(settings: Settings, source_of) -> None:
    """Each configured sender and upstream has what it needs, named by the key or variable."""
    messages = settings.messages
    used = {*messages.sms, *messages.voice, *messages.email}
    needs = []
    if "vonage_sms" in used:
        needs += [("messages.vonage.api_key", messages.vonage.api_key),
                  ("$IDP_VONAGE_API_SECRET", messages.vonage.api_secret)]
    if "vonage_voice" in used:
        needs += [("messages.vonage.application_id", messages.vonage.application_id),
                  ("messages.vonage.voice_caller_number", messages.vonage.voice_caller_number),
                  ("$IDP_VONAGE_PRIVATE_KEY", messages.vonage.private_key)]
    for index, upstream in enumerate(settings.upstreams):
        needs.append((f"${upstream.secret_variable}", upstream.client_secret))
        if settings.environment == "production" and not upstream.issuer.startswith("https://"):
            raise ConfigError(source_of("upstreams"), f"upstreams.{index}.issuer", "must use https in production")
    for key, value in needs:
        if not value:
            file = key if key.startswith("$") else source_of(key)
            raise ConfigError(file, key.lstrip("$") if key.startswith("$") else key,
                              "is required by the configured senders and upstreams")


def _check_environment(settings: Settings, source_of) -> Settings:
    if settings.environment != "production":
        return settings
    if urlsplit(settings.issuer).scheme != "https":
        raise ConfigError(source_of("issuer"), "issuer", "must use https in production")
    for channel in CHANNEL_SENDERS:
        refused = [name for name in getattr(settings.messages, channel) if name in DEVELOPMENT_SENDERS]
        if refused:
            key = f"messages.{channel}"
            raise ConfigError(
                source_of(key), key, f"the development sender {refused[0]!r} is refused in production"
            )
    if len(settings.secret_key) < 32:
        raise ConfigError(
            "$IDP_SECRET_KEY", "secret_key", "production needs IDP_SECRET_KEY of 32 characters or more"
        )
    return settings


def development_secret(settings: Settings) -> str:
    """The secret key of a development instance, created once in the instance folder."""
    path = settings.instance_dir / DEV_SECRET_FILE
    if not path.exists():
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
