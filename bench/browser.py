"""The bench's browser: cookies kept as a browser keeps them, over Python's own http.client.

The logins of ``make bench`` are driven from Python, on the two cores the server uses:
whatever the load generator spends is taken from the server. ``requests`` spends about
0.6 ms of CPU a request on this machine's kind (8 ms a login with a code); a bare
``http.client`` connection about a fifth of that. The tests keep their ``requests``
browser (tests/live/conftest.py), which this one mirrors.
"""

from __future__ import annotations

import base64
import http.client
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlencode, urlsplit

from tests.live.conftest import remember_cookies


@dataclass
class Response:
    status_code: int
    headers: Message
    body: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Browser:
    """One person's browser on one server: its cookies (``Secure`` ones included, as
    browsers keep them on loopback) and one connection, kept alive as the server allows
    and opened again when the server closed it (an idle one, after ``keepalive``)."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None
        self._netloc = ""

    def request(self, method: str, url: str, *, params: dict | None = None, data: dict | None = None,
                auth: tuple[str, str] | None = None, cookies: bool = True) -> Response:
        parts = urlsplit(url)
        if self._connection is None or parts.netloc != self._netloc:
            self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            self._netloc = parts.netloc
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params)
        sent: dict[str, str] = {}
        if cookies and self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if auth is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        body = None
        if data is not None:
            body = urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self._connection.request(method, target, body=body, headers=sent)
            answer = self._connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # An idle connection the server closed meanwhile: once more, on a new one.
            self._connection.close()
            self._connection.request(method, target, body=body, headers=sent)
            answer = self._connection.getresponse()
        response = Response(answer.status, answer.headers, answer.read())
        if answer.will_close:
            self._connection.close()
        if cookies:
            remember_cookies(self.cookies, answer.headers.get_all("Set-Cookie") or ())
        return response

    def get(self, url: str, **kwargs) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Response:
        return self.request("POST", url, **kwargs)
