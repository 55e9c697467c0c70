"""Net-entreprises: a configured instance of the generic OpenID Connect upstream.

``kind: net-entreprises`` in an upstream's configuration takes these defaults (its label
and the names of its claims); the issuer, the client and the secret are configuration
like any other upstream's.
"""

from __future__ import annotations

KIND = "net-entreprises"
LABEL = "Net-entreprises"
CLAIMS = {"siret": "siret", "email": "email", "given_name": "given_name", "family_name": "family_name"}
