"""The OpenID Connect provider: Authlib's server with this IdP's storage and rules."""
