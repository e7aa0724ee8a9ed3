"""Twilio voice webhooks: signature check, parameters, per-call state, TwiML out."""

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")

from hotline.voice import callback_routes, queue_routes, routes  # noqa: E402, F401
