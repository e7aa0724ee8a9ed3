"""The webhooks baseline: a bare Flask app answering one POST route with a fixed TwiML document."""

from __future__ import annotations

from flask import Flask, Response

TWIML = '<Response><Gather input="dtmf" action="/x" numDigits="1"><Say>hi</Say></Gather></Response>'

app = Flask(__name__)


@app.post("/twiml")
def twiml() -> Response:
    # No signature check, no database, no Redis: the floor any Flask TwiML endpoint pays.
    return Response(TWIML, status=200, mimetype="text/xml")
