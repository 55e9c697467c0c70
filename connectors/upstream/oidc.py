"""A generic OpenID Connect upstream on Authlib's OpenID client: discovery, code flow with
PKCE, ``state`` and ``nonce``, and an ID token validated through the upstream's JWKS
(signature, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``azp``). Claims come from the
ID token and, if configured, from UserInfo; a mapping names which claim holds the SIRET,
the email and the names.

The client is Authlib's own (the mixins its Flask integration builds ``FlaskOAuth2App``
from), without the framework part: ``state``, ``nonce`` and the PKCE verifier come from
the :class:`UpstreamRequest` that the login flow keeps, never from a Flask session.

Caching, per upstream and per process: the discovery document, once read, is kept for
:data:`METADATA_TTL` seconds, and the JWKS is kept with it. An ID token signed with a key
the kept JWKS does not hold (an upstream key rotation) makes Authlib fetch the JWKS again
once; a key the upstream withdraws is no longer trusted once the discovery document, and
the JWKS with it, is read again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError, MissingClaimError

from .base import UpstreamError, UpstreamIdentity, UpstreamRequest

DEFAULT_CLAIMS = {"siret": "siret", "email": "email", "given_name": "given_name", "family_name": "family_name"}
METADATA_TTL = 300  # seconds: the discovery document, and the JWKS kept with it, are re-read after 5 minutes
# Accepted whatever the discovery document advertises: never "none", never an HMAC.
SIGNING_ALGORITHMS = ("RS256", "ES256", "PS256")
# The only discovery entries kept. Authlib hands the metadata to every OAuth2Session it builds
# as keyword arguments, so an unexpected entry ("verify", "proxies", "jwks", "prompt"…) would
# change how the session behaves or what it sends.
_METADATA_KEYS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
_REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@contextmanager
def _fetching(url: str) -> Iterator[None]:
    """Turn what ``requests`` raises while reading ``url`` into an :class:`UpstreamError`."""
    try:
        yield
    except requests.Timeout:
        raise UpstreamError(f"timeout fetching {url}") from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise UpstreamError(f"{url} answered {status}") from None
    except requests.JSONDecodeError:
        raise UpstreamError(f"{url} did not answer JSON") from None
    except requests.RequestException as exc:
        raise UpstreamError(f"unreachable: {type(exc).__name__}") from None


def _fresh(metadata: dict[str, Any]) -> bool:
    loaded_at = metadata.get("_loaded_at")
    return loaded_at is not None and time.monotonic() - loaded_at < METADATA_TTL


class OpenIDClient(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's OpenID client for one upstream, built as Authlib builds ``FlaskOAuth2App``.

    Every HTTP call goes through an :class:`OAuth2Session` made from ``client_kwargs``,
    so the timeout, the CA bundle and ``trust_env=False`` apply to discovery, JWKS, token
    and UserInfo requests alike.

    Two of Authlib's methods are replaced, for the cache: Authlib keeps the discovery
    document for the life of the process and merges it, unchecked, into one shared dict.
    Here each reading of the discovery document, checked and filtered, becomes a new
    dict (``server_metadata``), replaced as a whole after :data:`METADATA_TTL` seconds or
    when the JWKS kept in it is fetched again; a lock makes one thread at a time read the
    discovery document, the others then use what it read (or the error it met). Authlib's
    ``parse_id_token`` is unchanged: it takes the JWKS from :meth:`fetch_jwk_set` and, on an
    unknown ``kid``, calls it again with ``force=True``.
    """

    client_cls = OAuth2Session

    def __init__(self, name: str, issuer: str, client_id: str, client_secret: str, scopes: list[str],
                 timeout: float, ca_bundle: str | None):
        http: dict[str, Any] = {"default_timeout": timeout}
        if ca_bundle:
            http.update(verify=ca_bundle, trust_env=False)
        super().__init__(
            framework=None, name=name, client_id=client_id, client_secret=client_secret,
            server_metadata_url=issuer + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": " ".join(scopes), "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                # Authlib takes an access token for expired 60 s early by default; here it is
                # used once, for UserInfo, right after it is issued.
                "leeway": 0,
                **http,
            },
        )
        self.issuer = issuer
        self._lock = threading.Lock()
        self._failure: tuple[float, str] | None = None  # when the last reading of discovery failed, and why

    def _get_json(self, url: str) -> dict[str, Any]:
        with _fetching(url), self._get_session() as session:
            response = session.request("GET", url, withhold_token=True)
            if response.status_code != 200:
                raise UpstreamError(f"{url} answered {response.status_code}")
            document = response.json()
        if not isinstance(document, dict):
            raise UpstreamError(f"{url} did not answer a JSON object")
        return document

    def load_server_metadata(self) -> dict[str, Any]:
        """The discovery document, read again once it is :data:`METADATA_TTL` seconds old."""
        metadata = self.server_metadata
        if _fresh(metadata):
            return metadata
        asked_at = time.monotonic()
        with self._lock:
            metadata = self.server_metadata
            if _fresh(metadata):
                return metadata  # another thread read it while this one waited
            if self._failure and self._failure[0] >= asked_at:
                # The reading this thread waited for has just failed: say so rather than
                # make every waiting thread spend a timeout in turn.
                raise UpstreamError(self._failure[1])
            try:
                metadata = self._read_metadata()
            except UpstreamError as exc:
                self._failure = (time.monotonic(), exc.reason)
                raise
            self.server_metadata = metadata
            return metadata

    def _read_metadata(self) -> dict[str, Any]:
        document = self._get_json(self._server_metadata_url)
        if document.get("issuer") != self.issuer:
            raise UpstreamError("discovery issuer mismatch")
        missing = [key for key in _REQUIRED_METADATA if not isinstance(document.get(key), str)]
        if missing:
            raise UpstreamError(f"discovery document without {', '.join(missing)}")
        metadata = {key: document[key] for key in _METADATA_KEYS if isinstance(document.get(key), str)}
        metadata["id_token_signing_alg_values_supported"] = list(SIGNING_ALGORITHMS)
        metadata["_loaded_at"] = time.monotonic()
        return metadata

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        """The upstream's JWKS, kept with the discovery document; ``force`` fetches it again."""
        metadata = self.load_server_metadata()
        if metadata.get("jwks") and not force:
            return metadata["jwks"]
        jwks = self._get_json(metadata["jwks_uri"])
        if not isinstance(jwks.get("keys"), list):
            raise UpstreamError(f"{metadata['jwks_uri']} did not answer a JWK set")
        with self._lock:
            if self.server_metadata.get("_loaded_at") == metadata["_loaded_at"]:
                self.server_metadata = {**metadata, "jwks": jwks}
        return jwks

    def _on_update_token(self, token, refresh_token=None, access_token=None):
        """Nothing to update: tokens are used once, right after the code is exchanged, and
        never stored (Authlib's version hands them to a web framework; there is none here)."""


@dataclass
class OIDCUpstream:
    """One configured upstream. ``client`` is its Authlib client, made once, so that its
    cache lives as long as the process."""

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
    leeway: int = 60  # seconds of clock skew allowed on the ID token's exp, iat and nbf
    client: OpenIDClient = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.client = OpenIDClient(self.id, self.issuer, self.client_id, self.client_secret, self.scopes,
                                   self.timeout, self.ca_bundle)

    # --- the interface ---------------------------------------------------------
    def start(self, request: UpstreamRequest) -> str:
        answer = self.client.create_authorization_url(
            request.redirect_uri, state=request.state, nonce=request.nonce, code_verifier=request.code_verifier)
        return answer["url"]

    def finish(self, params: dict[str, str], request: UpstreamRequest) -> UpstreamIdentity:
        if params.get("error"):
            raise UpstreamError(f"upstream error: {params['error']} {params.get('error_description', '')}".strip())
        if not params.get("code"):
            raise UpstreamError("no code in the answer")
        token = self._token(params["code"], request)
        if not token.get("id_token"):
            raise UpstreamError("no ID token")
        claims = self._validate_id_token(token, request.nonce)
        if self.use_userinfo and (endpoint := self.client.load_server_metadata().get("userinfo_endpoint")):
            info = self._userinfo(token, endpoint)
            if info.get("sub") != claims["sub"]:
                raise UpstreamError("userinfo subject differs from the ID token's")
            claims = {**info, **claims}
        return self._identity(claims)

    # --- the steps -------------------------------------------------------------
    def _token(self, code: str, request: UpstreamRequest) -> dict[str, Any]:
        try:
            return self.client.fetch_access_token(request.redirect_uri, code=code,
                                                  code_verifier=request.code_verifier)
        except OAuthError as exc:
            raise UpstreamError(f"token endpoint refused: {exc.error}") from None
        except requests.Timeout:
            raise UpstreamError("timeout at the token endpoint") from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "an error"
            raise UpstreamError(f"token endpoint answered {status}") from None
        except requests.RequestException as exc:
            raise UpstreamError(f"token endpoint unreachable: {type(exc).__name__}") from None
        except ValueError:  # a 2xx or 4xx answer that is not a JSON object
            raise UpstreamError("token endpoint did not answer a JSON object") from None

    def _validate_id_token(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        options = {
            "iss": {"essential": True, "value": self.issuer},
            "sub": {"essential": True},
            "aud": {"essential": True, "value": self.client_id},
            "exp": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        try:
            return dict(self.client.parse_id_token(token, nonce, claims_options=options, leeway=self.leeway))
        except InvalidKeyIdError as exc:  # Authlib fetched the JWKS again: the key is not there either
            raise UpstreamError(f"bad ID token signature: {exc.description}, even in a fresh JWKS") from None
        except MissingClaimError as exc:
            if exc.claim == "azp":  # required by Authlib when the token names other audiences too
                raise UpstreamError("ID token for several audiences without azp") from None
            raise UpstreamError(f"ID token rejected: {exc.error} {exc.description}".strip()) from None
        except ClaimError as exc:
            raise UpstreamError(f"ID token rejected: {exc.error} {exc.description}".strip()) from None
        except (JoseError, ValueError) as exc:
            raise UpstreamError(f"bad ID token signature: {exc}") from None

    def _userinfo(self, token: dict[str, Any], url: str) -> dict[str, Any]:
        try:
            with _fetching(url):
                return dict(self.client.userinfo(token=token))
        except OAuthError as exc:  # Authlib would not send this access token
            raise UpstreamError(f"access token unusable for userinfo: {exc.error}") from None
        except (TypeError, ValueError):  # JSON, but not an object
            raise UpstreamError(f"{url} did not answer a JSON object") from None

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
