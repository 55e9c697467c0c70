"""An authorization request's parameters as Authlib's ``OAuth2Request``, wherever they
came from: the query string, the form, or a login flow that stored them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from flask import request
from werkzeug.datastructures import MultiDict

from ..provenance import Provenance


class _StoredPayload(OAuth2Payload):
    def __init__(self, params: MultiDict[str, str]) -> None:
        self._params = params

    @property
    def data(self) -> MultiDict[str, str]:
        return self._params

    @property
    def datalist(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = defaultdict(list)
        for key, value in self._params.items(multi=True):
            values[key].append(value)
        return values


class AuthorizationRequest(OAuth2Request):
    """The parameters of an authorization request; ``provenance`` is set just before a
    code is issued, for :meth:`~idp.oidc.grants.AuthorizationCodeGrant.save_authorization_code`."""

    def __init__(self, params: MultiDict[str, str]) -> None:
        super().__init__("GET", request.url, headers=request.headers)
        self._params = params
        self.payload = _StoredPayload(params)
        self.provenance: Provenance | None = None

    @property
    def args(self) -> MultiDict[str, str]:
        return self._params

    @property
    def form(self) -> MultiDict[str, Any]:
        return MultiDict()
