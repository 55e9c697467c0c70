"""The hosted login: a sequence of steps (password now; phone, code and confirmation
slot in after it) that ends by opening a session and resuming the authorization."""
