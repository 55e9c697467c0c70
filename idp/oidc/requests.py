"""An authorization request rebuilt from stored parameters, for resuming after login."""

from __future__ import annotations

from collections import defaultdict

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from flask import request
from werkzeug.datastructures import MultiDict


class _StoredPayload(OAuth2Payload):
    def __init__(self, params: MultiDict):
        self._params = params

    @property
    def data(self) -> MultiDict:
        return self._params

    @property
    def datalist(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = defaultdict(list)
        for key, value in self._params.items(multi=True):
            values[key].append(value)
        return values


class AuthorizationRequest(OAuth2Request):
    """The parameters of an authorization request, wherever they came from."""

    def __init__(self, params: MultiDict):
        super().__init__("GET", request.url, headers=request.headers)
        self._params = params
        self.payload = _StoredPayload(params)
        self.login_session = None
        self.claims_request = None

    @property
    def args(self) -> MultiDict:
        return self._params

    @property
    def form(self) -> MultiDict:
        return MultiDict()
