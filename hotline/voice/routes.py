"""The voice webhooks: `/voice/incoming`, `/voice/step`, `/voice/status`, `/voice/recording`."""

from __future__ import annotations

import logging

from flask import Response, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from hotline.db import get_session
from hotline.jobs import enqueue_call_outcome
from hotline.queues.callers import abandon_if_queued, record_queue_result
from hotline.speech.queueing import enqueue_transcription
from hotline.voice import bp, emergency, live_speech, params
from hotline.voice.calls import CallTurn, run_turn
from hotline.voice.outbound import StartContext, queue_left, queue_now, start_context
from hotline.voice.signature import require_twilio_signature
from hotline.voice.twiml import render_message
from workorders.call_log import apply_status, find_event, record_event, request_key, upsert_call
from workorders.calls import EventKind
from workorders.phones import mask_number

log = logging.getLogger(__name__)

# Said when the request cannot be tied to a call or the database is unreachable; the caller
# must hear something sensible rather than Twilio's error tone.
SORRY = {
    "zh-CN": "抱歉，系统暂时无法处理您的来电，请稍后再拨。",
    "en-US": "Sorry, we cannot take your call right now. Please call again later.",
}


def twiml(xml: str) -> Response:
    return Response(xml, status=200, mimetype="text/xml")


def sorry() -> Response:
    settings = current_app.config["SETTINGS"]
    flow = current_app.extensions["hotline.flows"][settings.flow]
    language = flow.default_language
    return twiml(render_message(SORRY.get(language, SORRY["en-US"]), language, settings.voices))


@bp.post("/incoming")
@require_twilio_signature
def incoming() -> Response:
    # Outbound calls the workers place name their flow (e.g. the satisfaction survey).
    return _voice_turn(node=None, start=start_context(request.args))


@bp.post("/step")
@require_twilio_signature
def step() -> Response:
    raw_node = request.args.get("node")
    node = params.node_id(raw_node)
    if node is None:
        log.warning("step request with a bad node id %r: resuming the call at recovery", raw_node)
    return _voice_turn(node=node, bad_node=node is None)


def _voice_turn(
    *, node: str | None, bad_node: bool = False, start: StartContext | None = None
) -> Response:
    info = params.call_info(request.form)
    if info is None:
        log.warning("voice request to %s without a usable CallSid", request.path)
        return sorry()
    form = emergency.request_form()
    session = get_session()
    try:
        call, created = upsert_call(
            session, info=info, region=current_app.config["SETTINGS"].default_region
        )
        key = request_key(info.call_sid, request.full_path, request.form)
        replay = find_event(session, dedup_key=key)
        if replay is not None and replay.response is not None:
            session.rollback()
            log.info("replayed request for call %s: same answer, nothing changed", info.call_sid)
            return twiml(replay.response)
        if created and node is not None:
            log.info("step for unknown call %s: created it", info.call_sid)
        if start is not None and call.step_seq == 0:
            start.apply(session, call)
        left = None
        if "QueueResult" in request.form:  # the <Enqueue> action: how the caller left the queue
            left = record_queue_result(
                session, call_sid=info.call_sid, form=request.form, now=queue_now()
            )
        turn = CallTurn(session=session, call=call, form=form, node=node, bad_node=bad_node)
        xml, state = run_turn(turn)
        kept = dict(form)
        if turn.sensitive_input and "Digits" in kept:
            kept["Digits"] = "***"  # a password or ID digits: never in the call log
        if turn.spoken:
            kept.update(turn.spoken)
        record_event(
            session,
            call=call,
            kind=EventKind.INCOMING if request.path.endswith("/incoming") else EventKind.STEP,
            dedup_key=key,
            params=kept,
            node=node,
            call_status=info.status,
        ).response = xml
        session.commit()
    except (OperationalError, InterfaceError) as exc:
        # The database is down or too slow: hold and try once more, then the emergency flow.
        session.rollback()
        kind = "incoming" if request.path.endswith("/incoming") else "step"
        log.error("database unavailable on call %s: %s", info.call_sid, exc.orig)
        if not emergency.is_retry():
            return emergency.hold_and_retry(node)
        return emergency.emergency_flow(node, kind)
    except SQLAlchemyError:
        session.rollback()
        log.exception("database error on call %s", info.call_sid)
        return sorry()
    current_app.extensions["hotline.call_states"].save(info.call_sid, state)
    for job in turn.after_commit:
        job()
    if left is not None:
        queue_left(left)
    if created:
        log.info("call %s from %s", info.call_sid, mask_number(call.from_e164))
    return twiml(xml)


@bp.post("/status")
@require_twilio_signature
def status() -> Response:
    info = params.call_info(request.form)
    if info is None:
        log.warning("status callback without a usable CallSid: ignored")
        return Response(status=204)
    abandoned = None
    session = get_session()
    settings = current_app.config["SETTINGS"]
    try:
        call, created = upsert_call(session, info=info, region=settings.default_region)
        if created:
            log.info("status callback for unknown call %s: created it", info.call_sid)
        key = request_key(info.call_sid, request.full_path, request.form)
        if find_event(session, dedup_key=key) is not None:
            session.rollback()
            return Response(status=204)
        sequence = params.to_int(request.form.get("SequenceNumber"))
        record_event(
            session,
            call=call,
            kind=EventKind.STATUS,
            dedup_key=key,
            params=request.form,
            sequence_number=sequence,
            call_status=info.status,
        )
        ended = apply_status(
            session,
            call=call,
            status=info.status or "",
            sequence_number=sequence,
            at=params.timestamp(request.form.get("Timestamp")),
            duration_s=params.to_int(request.form.get("CallDuration")),
        )
        if ended:  # a caller still queued is gone, even if the Enqueue action never comes
            abandoned = abandon_if_queued(session, call_sid=info.call_sid, now=queue_now())
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        # Twilio does not retry status callbacks: keep it for the replay, or the call's end
        # (and its outcome) would be lost.
        log.exception("database error on status callback for %s: spooled", info.call_sid)
        emergency.spool("status")
        return Response(status=204)
    if abandoned is not None:
        queue_left(abandoned)
    if ended:
        # Commit, then enqueue: the job must find the final status when it runs.
        enqueue_call_outcome(settings, info.call_sid)
        current_app.extensions["hotline.call_states"].forget(info.call_sid)
        live_speech.channel().forget(info.call_sid)
    return Response(status=204)


@bp.post("/recording")
@require_twilio_signature
def recording_status() -> Response:
    """Twilio's recordingStatusCallback: kept as an event; a completed recording is queued for
    the speech worker (download, keep, transcribe), once per RecordingSid."""
    info = params.call_info(request.form)
    if info is None:
        return Response(status=204)
    session = get_session()
    settings = current_app.config["SETTINGS"]
    fresh = False
    try:
        call, _ = upsert_call(session, info=info, region=settings.default_region)
        key = request_key(info.call_sid, request.full_path, request.form)
        if find_event(session, dedup_key=key) is None:
            record_event(
                session, call=call, kind=EventKind.RECORDING, dedup_key=key, params=request.form
            )
            session.commit()
            fresh = True
    except SQLAlchemyError:
        session.rollback()
        log.exception("database error on recording callback for %s: spooled", info.call_sid)
        emergency.spool("recording")
    sid = request.form.get("RecordingSid", "")
    url = request.form.get("RecordingUrl", "")
    completed = request.form.get("RecordingStatus", "completed") == "completed"
    if fresh and completed and params.sid_ok(sid) and url.startswith(("http://", "https://")):
        # Commit, then enqueue; the job id is the RecordingSid, so a replay queues nothing.
        enqueue_transcription(
            settings,
            recording_sid=sid,
            call_sid=info.call_sid,
            url=url,
            duration_s=params.to_int(request.form.get("RecordingDuration")),
        )
    return Response(status=204)


@bp.post("/emergency/recorded")
@require_twilio_signature
def emergency_recorded() -> Response:
    """The emergency flow's <Record> action: spool the message (no database), thank the caller."""
    if params.call_info(request.form) is None:
        return sorry()
    return emergency.message_kept()
