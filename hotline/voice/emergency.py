"""What the IVR does when the database is slow or down: hold and retry once, then the static
emergency flow, with everything the caller did spooled to a local file (`hotline.spool`).

Nothing here touches the database. The records carry the dedup key the normal path would
have used, so a request Twilio retries after the database is back is not counted twice when
the spool is replayed (`hotline.voice.spool_replay`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request, url_for

from hotline.spool import Spool
from hotline.voice.twiml import render_emergency, render_hold_redirect, render_message
from ivr_flows import CollectNode
from workorders.base import utcnow
from workorders.call_log import request_key

log = logging.getLogger(__name__)

# Input a retried request must carry in its URL: Twilio's <Redirect> posts only call details.
CARRIED = ("Digits", "SpeechResult", "Confidence", "RecordingUrl", "RecordingSid",
           "RecordingDuration")  # fmt: skip
RETRY_ARG = "retry"

HOLD = {"zh-CN": "请稍候。", "en-US": "One moment, please."}
EMERGENCY = {
    "zh-CN": "您好，这里是法院诉讼服务热线。系统正在维护，请在提示音后留下您的姓名、电话、"
    "案号和您要反映的问题，说完请按井号键。我们会尽快给您回电。",
    "en-US": "Welcome to the court service hotline. Our system is under maintenance. After the "
    "tone, please leave your name, phone number, case number and your message, then press "
    "the pound key. We will call you back as soon as we can.",
}
KEPT = {
    "zh-CN": "您的留言已保存，我们会尽快回电。再见。",
    "en-US": "Your message is kept. We will call you back soon. Goodbye.",
}
NOTHING = {
    "zh-CN": "没有收到您的留言，请稍后再拨。再见。",
    "en-US": "We did not receive a message. Please call again later. Goodbye.",
}
SORRY = {
    "zh-CN": "抱歉，系统暂时无法处理您的来电，请稍后再拨。",
    "en-US": "Sorry, we cannot take your call right now. Please call again later.",
}


def twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")


def _language() -> str:
    """The caller's language if Redis remembers it, else the flow's default."""
    settings = current_app.config["SETTINGS"]
    hint = current_app.extensions["hotline.call_states"].language_hint(
        request.form.get("CallSid", "")
    )
    if hint in EMERGENCY:
        return str(hint)
    return str(current_app.extensions["hotline.flows"][settings.flow].default_language)


def _absolute(endpoint: str, **values: Any) -> str:
    base: str = current_app.config["SETTINGS"].public_base_url
    if base:
        return base + str(url_for(endpoint, _external=False, **values))
    return str(url_for(endpoint, _external=True, **values))


def is_retry() -> bool:
    return request.args.get(RETRY_ARG) == "1"


def request_form() -> dict[str, str]:
    """The request's parameters, plus the input a retry carried in its URL."""
    form = dict(request.form)
    if is_retry():
        for name in CARRIED:
            if name in request.args and name not in form:
                form[name] = request.args[name]
    return form


def _sensitive(node: str | None) -> bool:
    settings = current_app.config["SETTINGS"]
    flow = current_app.extensions["hotline.flows"][settings.flow]
    found = flow.nodes.get(node) if node else None
    return isinstance(found, CollectNode) and found.sensitive


def hold_and_retry(node: str | None) -> Response:
    """Ask Twilio to come back to the same step in a moment, with the caller's input."""
    values: dict[str, Any] = dict(request.args) | {RETRY_ARG: "1"}
    if not _sensitive(node):  # a password never goes into a URL: the node simply asks again
        values |= {k: request.form[k] for k in CARRIED if k in request.form}
    url = _absolute(request.endpoint or "voice.incoming", **values)
    language = _language()
    voices = current_app.config["SETTINGS"].voices
    return twiml(render_hold_redirect(HOLD.get(language, HOLD["en-US"]), language, voices, url))


def spool(kind: str, *, node: str | None = None, form: Mapping[str, str] | None = None) -> bool:
    """Write this request to the spool; False (and a loud log) if even that fails."""
    params = dict(request.form if form is None else form)
    call_sid = params.get("CallSid", "")
    if _sensitive(node) and "Digits" in params:
        params["Digits"] = "***"
    record = {
        "kind": kind,
        "path": request.path,
        "node": node,
        # The key the normal path would have stored: replays and Twilio's retries dedup on it.
        "key": request_key(call_sid, request.full_path, request.form),
        "params": params,
        "received_at": utcnow().isoformat(),
    }
    try:
        Spool(current_app.config["SETTINGS"].spool_folder).append(record)
    except OSError:
        log.critical("could not spool %s for call %s: it is only in this log", kind, record)
        return False
    return True


def emergency_flow(node: str | None, kind: str) -> Response:
    """Spool the request, then ask the caller for a message."""
    settings = current_app.config["SETTINGS"]
    language = _language()
    if not spool(kind, node=node, form=request_form()):
        return twiml(render_message(SORRY.get(language, SORRY["en-US"]), language, settings.voices))
    log.warning("call %s: database unavailable, emergency flow", request.form.get("CallSid"))
    return twiml(
        render_emergency(
            EMERGENCY.get(language, EMERGENCY["en-US"]),
            language,
            settings.voices,
            action=_absolute("voice.emergency_recorded"),
            recording_status=_absolute("voice.recording_status"),
            goodbye=NOTHING.get(language, NOTHING["en-US"]),
        )
    )


def message_kept() -> Response:
    """The emergency flow's <Record> action: the message is spooled, the caller thanked."""
    settings = current_app.config["SETTINGS"]
    language = _language()
    spool("message")
    return twiml(render_message(KEPT.get(language, KEPT["en-US"]), language, settings.voices))
