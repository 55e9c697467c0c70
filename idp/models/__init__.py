"""Database models. Every table lives in the shared database: no state in process memory."""

from .accounts import Account, AccountService, Establishment, Service
from .audit import AuditEvent
from .delegations import Delegation
from .federation import UpstreamLink
from .jobs import Job
from .limits import RateLimitHit
from .mfa import OneTimeCode, PasswordReset, TrustedDevice
from .oauth import AuthorizationCode, Client, ClientAssertionJti, RevokedAccessToken, SigningKey, Token
from .sessions import LoginFlow, LoginSession

__all__ = [
    "Account",
    "AccountService",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "ClientAssertionJti",
    "Delegation",
    "Establishment",
    "Job",
    "LoginFlow",
    "LoginSession",
    "OneTimeCode",
    "PasswordReset",
    "RateLimitHit",
    "RevokedAccessToken",
    "Service",
    "SigningKey",
    "Token",
    "TrustedDevice",
    "UpstreamLink",
]
