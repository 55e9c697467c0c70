"""Local stand-ins for the outside world, spoken to over real sockets on 127.0.0.1:
an HTTPS server that answers like Vonage's SMS and Voice APIs, an SMTP server, and small
OpenID providers."""

from __future__ import annotations

import base64
import collections
import datetime
import hashlib
import ipaddress
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import RSAKey

from .conftest import free_port


def reply_json(handler: BaseHTTPRequestHandler, payload: dict, status: int = 200) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class LoopbackServer:
    """A threaded HTTP server on a free loopback port, started and stopped by ``with``."""

    def serve(self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for IP 127.0.0.1 and its key, as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "stub-cert.pem", folder / "stub-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def pkcs8_private_key() -> tuple[str, RSAKey]:
    """A Vonage application key: PKCS#8 PEM (the SDK refuses PKCS#1) and its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, RSAKey.import_key(public)


class VonageStub(LoopbackServer):
    """Answers ``POST /sms/json`` and ``POST /v1/calls`` as Vonage does, recording requests.

    ``mode`` picks the answer: ``ok``, ``sms-status-N`` (an SMS API error status),
    ``http-401``/``http-429``/``http-500``, or ``slow`` (longer than the client's timeout)."""

    def __init__(self, folder: Path, api_key: str, api_secret: str, application_id: str, voice_key: RSAKey):
        self.cert, self.key = self_signed_certificate(folder)
        self.port = free_port()
        self.requests: list[dict] = []
        self.mode = "ok"
        self.credentials = (api_key, api_secret)
        self.application_id, self.voice_key = application_id, voice_key
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.handle(self, body)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.serve(Handler, context)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _reply(self, handler, status: int, payload: dict) -> None:
        reply_json(handler, payload, status)

    def handle(self, handler, body: bytes) -> None:
        record = {"path": handler.path, "headers": dict(handler.headers), "mode": self.mode}
        if handler.path == "/sms/json":
            record["form"] = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            expected = base64.b64encode(":".join(self.credentials).encode()).decode()
            record["authenticated"] = handler.headers.get("Authorization") == f"Basic {expected}"
        else:
            record["json"] = json.loads(body or b"{}")
            token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                claims = jwt.decode(token, self.voice_key, algorithms=["RS256"]).claims
                record["authenticated"] = claims.get("application_id") == self.application_id
            except Exception:  # noqa: BLE001 - any bad token is simply unauthenticated
                record["authenticated"] = False
        self.requests.append(record)
        mode = self.mode
        if mode == "slow":
            time.sleep(3)
        if mode.startswith("http-"):
            return self._reply(handler, int(mode[5:]), {"type": "error", "title": mode})
        if not record["authenticated"]:
            return self._reply(handler, 401, {"type": "unauthorized", "title": "Bad credentials"})
        if handler.path == "/sms/json":
            status = mode.removeprefix("sms-status-") if mode.startswith("sms-status-") else "0"
            message = {"status": status, "message-id": uuid.uuid4().hex, "to": record["form"].get("to")}
            if status != "0":
                message["error-text"] = {"1": "Throttled", "2": "Missing params", "6": "Invalid message"}.get(
                    status, "Error")
            return self._reply(handler, 200, {"message-count": "1", "messages": [message]})
        return self._reply(handler, 201, {"uuid": uuid.uuid4().hex, "status": "started",
                                          "direction": "outbound", "conversation_uuid": "CON-" + uuid.uuid4().hex})


class _Mailbox:
    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a free loopback port, keeping what it receives."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = _Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def outage(self) -> None:
        """Stop listening, as a mail server that went down."""
        self.controller.stop()

    def back(self) -> None:
        """Listen again on the same port, keeping the mailbox."""
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[dict]:
        return self.mailbox.messages


class MisbehavingProvider(LoopbackServer):
    """A minimal OpenID provider on loopback whose ID tokens are wrong on purpose.

    ``mode``: ``bad-signature`` (signed by a key not in its JWKS), ``wrong-audience``,
    ``expired``, ``wrong-nonce``, ``slow`` (the token endpoint outlives the client's
    timeout), or ``boasting`` (a valid token whose ``amr`` claims factors nobody checked).
    The authorization endpoint sends the browser straight back with a code."""

    def __init__(self, client_id: str):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good", "alg": "RS256"}, private=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "good", "alg": "RS256"}, private=True)
        self.mode = "bad-signature"
        self.nonces: dict[str, str] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                provider.get(self)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                provider.token(self, {k: v[0] for k, v in parse_qs(body).items()})

            def log_message(self, *args):
                pass

        self.serve(Handler)

    def _json(self, handler, payload: dict, status: int = 200) -> None:
        reply_json(handler, payload, status)

    def get(self, handler) -> None:
        path, _, query = handler.path.partition("?")
        if path == "/.well-known/openid-configuration":
            return self._json(handler, {
                "issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]})
        if path == "/jwks":
            return self._json(handler, {"keys": [self.key.as_dict(private=False)]})
        if path == "/authorize":
            params = {k: v[0] for k, v in parse_qs(query).items()}
            code = uuid.uuid4().hex
            self.nonces[code] = params.get("nonce", "")
            handler.send_response(302)
            target = f"{params['redirect_uri']}?code={code}&state={params['state']}"
            handler.send_header("Location", target)
            handler.end_headers()
            return None
        return self._json(handler, {"error": "not_found"}, 404)

    def token(self, handler, form: dict) -> None:
        if self.mode == "slow":
            time.sleep(3)
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "stub-user", "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": self.nonces.get(form.get("code", ""), ""), "siret": "21330063500017",
                  "email": "nobody@stub.example"}
        key = self.key
        if self.mode == "bad-signature":
            key = self.other_key
        elif self.mode == "wrong-audience":
            claims["aud"] = "someone-else"
        elif self.mode == "expired":
            claims["exp"], claims["iat"] = now - 3600, now - 7200
        elif self.mode == "wrong-nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.mode == "boasting":
            claims["amr"] = ["mfa", "hwk", "otp"]
        id_token = jwt.encode({"alg": "RS256", "kid": "good"}, claims, key)
        return self._json(handler, {"access_token": uuid.uuid4().hex, "token_type": "Bearer",
                                    "expires_in": 300, "id_token": id_token})


class KeyRotatingProvider(LoopbackServer):
    """A minimal OpenID provider on loopback that gets everything right, counts the requests
    it answers (``hits``, by path) and changes its signing key when told to.

    ``rotate()`` signs with a new key (a new ``kid``) and publishes it next to the old ones,
    as a provider rotating its keys does. With ``rogue`` set, ID tokens are signed with a key
    whose ``kid`` its JWKS never holds. It checks the client's secret (HTTP Basic) and the
    PKCE verifier, and answers UserInfo for the access tokens it issued."""

    def __init__(self, client_id: str, client_secret: str, claims: dict):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id, self.client_secret, self.claims = client_id, client_secret, claims
        self.hits: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.published: list[RSAKey] = []
        self.rotate()
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "rogue", "alg": "RS256"}, private=True)
        self.rogue = False
        self.codes: dict[str, dict[str, str]] = {}
        self.access_tokens: set[str] = set()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                provider.get(self)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                provider.token(self, {k: v[0] for k, v in parse_qs(body).items()})

            def log_message(self, *args):
                pass

        self.serve(Handler)

    def rotate(self) -> str:
        """Sign with a new key from now on; the old keys stay published. Returns the new kid."""
        kid = f"key-{len(self.published) + 1}"
        self.published.insert(0, RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256"}, private=True))
        return kid

    def _count(self, handler) -> str:
        path = handler.path.partition("?")[0]
        with self.lock:
            self.hits[path] += 1
        return path

    def get(self, handler) -> None:
        path, query = self._count(handler), handler.path.partition("?")[2]
        if path == "/.well-known/openid-configuration":
            return reply_json(handler, {
                "issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
                "userinfo_endpoint": self.issuer + "/userinfo",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]})
        if path == "/jwks":
            return reply_json(handler, {"keys": [key.as_dict(private=False) for key in self.published]})
        if path == "/userinfo":
            token = handler.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.access_tokens:
                return reply_json(handler, {"error": "invalid_token"}, 401)
            return reply_json(handler, {"sub": self.claims["sub"], **self.claims})
        if path == "/authorize":
            params = {k: v[0] for k, v in parse_qs(query).items()}
            code = uuid.uuid4().hex
            self.codes[code] = params
            handler.send_response(302)
            handler.send_header("Location", f"{params['redirect_uri']}?code={code}&state={params['state']}")
            handler.end_headers()
            return None
        return reply_json(handler, {"error": "not_found"}, 404)

    def token(self, handler, form: dict) -> None:
        self._count(handler)
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if handler.headers.get("Authorization") != f"Basic {expected}":
            return reply_json(handler, {"error": "invalid_client"}, 401)
        asked = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if (asked is None or challenge != asked.get("code_challenge")
                or form.get("redirect_uri") != asked["redirect_uri"]):
            return reply_json(handler, {"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {**self.claims, "iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": asked.get("nonce", "")}
        key = self.rogue_key if self.rogue else self.published[0]
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        access_token = uuid.uuid4().hex
        self.access_tokens.add(access_token)
        return reply_json(handler, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                    "id_token": id_token})
