"""The policy's schema: what a security team may write in the YAML file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _network(value: object) -> IPv4Network | IPv6Network:
    if not isinstance(value, str):
        raise ValueError("expected a network such as 192.0.2.0/24 or 2001:db8::/48")
    return ip_network(value, strict=False)


IPNetwork = Annotated[IPv4Network | IPv6Network, BeforeValidator(_network)]
Channel = Literal["sms", "voice"]
LINE_TYPES = ("mobile", "fixed_line", "voip", "fixed_line_or_mobile", "other")
SensitiveAction = Literal[
    "admin.create_account",
    "admin.change_contact",
    "self.change_email",
    "self.change_phone",
    "self.change_password",
]
Action = Literal["login", SensitiveAction]
SENSITIVE_ACTIONS: tuple[SensitiveAction, ...] = get_args(SensitiveAction)
ACTIONS: tuple[Action, ...] = ("login", *SENSITIVE_ACTIONS)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcrLevels(_Section):
    single_factor: str = Field(min_length=1)
    multi_factor: str = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.single_factor == self.multi_factor:
            raise ValueError("the two acr values must differ")
        return self


class Limit(_Section):
    count: int = Field(ge=1, le=10_000)
    window: Duration


class SendLimits(_Section):
    per_account: Limit
    per_phone: Limit
    per_ip: Limit


class Codes(_Section):
    length: int = Field(ge=6, le=10)
    lifetime: Duration
    resend_delay: Duration
    max_attempts: int = Field(ge=1, le=10)
    send_limits: SendLimits
    # A number whose codes go by SMS may ask for a voice call instead (French numbers only).
    voice_on_request: bool = False


class Channels(_Section):
    mobile: Channel
    fixed_line: Channel
    voip: Channel
    fixed_line_or_mobile: Channel
    other: Channel


class TrustedDevice(_Section):
    lifetime: Duration


class LocalLockout(_Section):
    max_failures: int = Field(ge=1, le=100)


class FederatedThrottle(_Section):
    max_failures: int = Field(ge=1, le=100)
    wait: Duration


class Lockout(_Section):
    local: LocalLockout
    federated: FederatedThrottle
    per_ip: Limit                   # failed logins from one address, whatever the identifiers
    per_ip_and_identifier: Limit    # failed logins for one identifier from one address


class TrustedNetwork(_Section):
    """A network the operator declares (a town hall's shared address…): its addresses get
    their own per-address ceilings instead of the general ones."""

    name: str = Field(min_length=1)
    networks: list[IPNetwork] = Field(min_length=1)
    failed_logins: Limit
    code_sends: Limit


@dataclass(frozen=True)
class AddressLimits:
    """The per-address ceilings that apply to one client address."""

    failed_logins: Limit
    code_sends: Limit
    network: str | None = None      # the trusted network that gave them, if any


class Passwords(_Section):
    min_length: int = Field(ge=8, le=128)
    reset_link_lifetime: Duration
    welcome_link_lifetime: Duration = timedelta(days=7)  # a new account's link to choose its password
    reset_emails_per_hour: int = Field(ge=1, le=100)


# France and its overseas departments and collectivities (ISO 3166 codes).
FRENCH_REGIONS = ("FR", "GP", "BL", "MF", "MQ", "GF", "RE", "YT", "PM", "WF", "PF", "NC")


class Phones(_Section):
    shared_numbers_allowed: bool
    # Where codes may be sent (against toll fraud); voice calls only to French numbers.
    allowed_regions: list[Annotated[str, Field(pattern=r"^([A-Z]{2}|001)$")]] = Field(
        default=list(FRENCH_REGIONS), min_length=1)


class Administrators(_Section):
    minimum_per_establishment: int = Field(ge=1, le=20)


class Accounts(_Section):
    """Accounts are nominative: names and mailboxes that name a function, not a person,
    are refused (compared without case or accents, word by word)."""

    generic_names: list[Annotated[str, Field(min_length=2)]] = []


class Notifications(_Section):
    """Security notices emailed to the account's address."""

    new_trusted_workstation: bool = True


class Sensitive(_Section):
    actions: list[SensitiveAction]
    services: list[str]


class RuleWhen(_Section):
    """Conditions, all of which must hold; a list means any of its values."""

    login_method: Literal["local", "federated"] | list[Literal["local", "federated"]] | None = None
    profile: Literal["administrator", "user"] | list[Literal["administrator", "user"]] | None = None
    client: str | list[str] | None = None
    service: str | list[str] | None = None
    action: Action | list[Action] | None = None
    establishment: str | list[str] | None = None


class RuleSet(_Section):
    """What a matching rule changes."""

    trusted_device_lifetime: Duration | None = None
    require_code: bool | None = None
    code_lifetime: Duration | None = None


class Rule(_Section):
    name: str = Field(min_length=1)
    when: RuleWhen
    set: RuleSet


class Policy(_Section):
    version: Literal[1]
    acr: AcrLevels
    codes: Codes
    channels: Channels
    trusted_device: TrustedDevice
    lockout: Lockout
    passwords: Passwords
    phones: Phones
    administrators: Administrators
    sensitive: Sensitive
    accounts: Accounts = Accounts()
    notifications: Notifications = Notifications()
    trusted_networks: list[TrustedNetwork] = []
    rules: list[Rule] = []

    @property
    def acr_values(self) -> list[str]:
        """The acr values from the weakest to the strongest."""
        return [self.acr.single_factor, self.acr.multi_factor]

    def limits_for_address(self, address: str | None) -> AddressLimits:
        """The per-address ceilings for ``address``: a trusted network's, else the general ones."""
        try:
            ip = ip_address(address or "")
        except ValueError:
            ip = None
        for trusted in self.trusted_networks:
            if ip is not None and any(ip in network for network in trusted.networks):
                return AddressLimits(trusted.failed_logins, trusted.code_sends, trusted.name)
        return AddressLimits(self.lockout.per_ip, self.codes.send_limits.per_ip)
