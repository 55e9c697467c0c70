"""WSGI entry point: ``gunicorn wsgi:app``."""

from idp.app import create_app
from idp.messaging import warn_development_senders

app = create_app()
warn_development_senders(app)
