"""Every login page's address, in one place."""

from __future__ import annotations

from flask import Blueprint

from .code import code
from .confirm import confirm
from .establishment import establishment
from .password import password
from .phone import phone
from .upstream import upstream_callback, upstream_start

bp = Blueprint("login", __name__)

GET_POST = ["GET", "POST"]
bp.add_url_rule("/login", "password", password, methods=GET_POST)
bp.add_url_rule("/login/upstream/callback", "upstream_callback", upstream_callback, methods=["GET"])
bp.add_url_rule("/login/upstream/<upstream_id>", "upstream_start", upstream_start, methods=["GET"])
bp.add_url_rule("/login/phone", "phone", phone, methods=GET_POST)
bp.add_url_rule("/login/code", "code", code, methods=GET_POST)
bp.add_url_rule("/login/confirm", "confirm", confirm, methods=GET_POST)
bp.add_url_rule("/login/establishment", "establishment", establishment, methods=GET_POST)
