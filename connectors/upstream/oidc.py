"""A generic OpenID Connect upstream on Authlib's client: discovery, code flow with PKCE,
``state`` and ``nonce``, and an ID token validated through the upstream's JWKS (signature,
``iss``, ``aud``, ``exp``, ``nonce``). Claims come from the ID token and, if configured,
from UserInfo; a mapping names which claim holds the SIRET, the email and the names."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .base import UpstreamError, UpstreamIdentity, UpstreamRequest

DEFAULT_CLAIMS = {"siret": "siret", "email": "email", "given_name": "given_name", "family_name": "family_name"}
METADATA_TTL = 300  # seconds: discovery and keys are re-read at most every 5 minutes


@dataclass
class OIDCUpstream:
    id: str
    label: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email"])
    claims: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLAIMS))
    use_userinfo: bool = True
    timeout: float = 10
    ca_bundle: str | None = None
    leeway: int = 60
    _metadata: tuple[float, dict[str, Any]] | None = field(default=None, repr=False)

    # --- plumbing -----------------------------------------------------------
    def _http(self) -> requests.Session:
        session = requests.Session()
        if self.ca_bundle:
            session.verify, session.trust_env = self.ca_bundle, False
        return session

    def _get_json(self, url: str, **kwargs) -> dict[str, Any]:
        try:
            response = self._http().get(url, timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise UpstreamError(f"timeout fetching {url}") from None
        except requests.RequestException as exc:
            raise UpstreamError(f"unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise UpstreamError(f"{url} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"{url} did not answer JSON") from None

    def metadata(self) -> dict[str, Any]:
        if self._metadata and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        document = self._get_json(self.issuer + "/.well-known/openid-configuration")
        if document.get("issuer") != self.issuer:
            raise UpstreamError("discovery issuer mismatch")
        self._metadata = (time.monotonic() + METADATA_TTL, document)
        return document

    def _client(self, request: UpstreamRequest) -> OAuth2Session:
        client = OAuth2Session(self.client_id, self.client_secret, scope=" ".join(self.scopes),
                               redirect_uri=request.redirect_uri, code_challenge_method="S256",
                               token_endpoint_auth_method="client_secret_basic")
        if self.ca_bundle:
            client.verify, client.trust_env = self.ca_bundle, False
        return client

    # --- the interface ---------------------------------------------------------
    def start(self, request: UpstreamRequest) -> str:
        endpoint = self.metadata()["authorization_endpoint"]
        url, _ = self._client(request).create_authorization_url(
            endpoint, state=request.state, nonce=request.nonce, code_verifier=request.code_verifier)
        return url

    def finish(self, params: dict[str, str], request: UpstreamRequest) -> UpstreamIdentity:
        if params.get("error"):
            raise UpstreamError(f"upstream error: {params['error']} {params.get('error_description', '')}".strip())
        if not params.get("code"):
            raise UpstreamError("no code in the answer")
        metadata = self.metadata()
        try:
            token = self._client(request).fetch_token(
                metadata["token_endpoint"], code=params["code"], code_verifier=request.code_verifier,
                timeout=self.timeout)
        except OAuth2Error as exc:
            raise UpstreamError(f"token endpoint refused: {exc.error}") from None
        except requests.Timeout:
            raise UpstreamError("timeout at the token endpoint") from None
        except requests.RequestException as exc:
            raise UpstreamError(f"token endpoint unreachable: {type(exc).__name__}") from None
        if not token.get("id_token"):
            raise UpstreamError("no ID token")
        claims = self._validate_id_token(token["id_token"], request.nonce, metadata)
        if self.use_userinfo and metadata.get("userinfo_endpoint"):
            info = self._get_json(metadata["userinfo_endpoint"],
                                  headers={"Authorization": f"Bearer {token['access_token']}"})
            if info.get("sub") != claims["sub"]:
                raise UpstreamError("userinfo subject differs from the ID token's")
            claims = {**info, **claims}
        return self._identity(claims)

    def _validate_id_token(self, id_token: str, nonce: str, metadata: dict[str, Any]) -> dict[str, Any]:
        keys = KeySet.import_key_set(self._get_json(metadata["jwks_uri"]))
        try:
            decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
        except (JoseError, ValueError) as exc:
            raise UpstreamError(f"bad ID token signature: {exc}") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise UpstreamError(f"ID token rejected: {exc.error} {exc.description or ''}".strip()) from None
        audience = decoded.claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and decoded.claims.get("azp") != self.client_id:
            raise UpstreamError("ID token for several audiences without azp")
        return decoded.claims

    def _identity(self, claims: dict[str, Any]) -> UpstreamIdentity:
        def pick(name: str) -> str | None:
            value = claims.get(self.claims.get(name, name))
            return str(value).strip() if value not in (None, "") else None

        amr = claims.get("amr")
        return UpstreamIdentity(
            issuer=self.issuer, subject=str(claims["sub"]), siret=pick("siret"), email=pick("email"),
            given_name=pick("given_name"), family_name=pick("family_name"),
            amr=tuple(str(v) for v in amr) if isinstance(amr, list) else (),
        )
