"""The IVR's queue, callback and survey intents: `transfer` (into a skill queue, or the
after-hours / queue-full path), `request_callback` (keeps the caller's place), and the
survey flow's `survey_intro`, `survey_answer` and `survey_comment`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.orders.jobs import schedule_timers
from hotline.orders.runtime import OrdersRuntime
from hotline.queues.callers import agents_on_duty, choose_queue, keep_place
from hotline.queues.jobs import enqueue_offer, schedule_callback_job
from hotline.queues.presence import publish
from hotline.queues.runtime import QueueRuntime
from hotline.voice.intents import IntentRequest, register_intent
from ivr_flows import Outcome
from workorders.callbacks import Callback, CallbackPurpose
from workorders.lifecycle import Satisfaction, State
from workorders.orders import WorkOrder
from workorders.queueing import (
    QueueOutcome,
    current_entry,
    enter_queue,
    record_closed,
    waiting_count,
)
from workorders.surveys import SurveyAnswer, record_survey_answer

log = logging.getLogger(__name__)

PROMPTS = {
    "zh-CN": {
        "after_hours": "抱歉，现在不是人工服务时间（工作日9点至18点）。",
        "no_agents": "抱歉，目前没有坐席可以接听。",
        "queue_full": "抱歉，目前排队人数已满。",
        "callback_ok": "好的，我们将按您的排队顺序给您回电，请保持电话畅通。",
        "callback_later": "好的，我们将在服务时间内给您回电。",
        "no_number": "抱歉，无法回拨您当前的号码。",
        "survey_intro": "您好，这里是法院诉讼服务热线。关于您的工单 {number}，"
        "我们想了解您对办理结果是否满意。",
        "survey_thanks": "感谢您的评价。",
        "survey_redo": "很抱歉让您不满意，我们将重新办理您的诉求，并由负责人跟进。",
        "comment_saved": "您的意见已经录音保存。",
    },
    "en-US": {
        "after_hours": "Sorry, our agents answer on working days from 9 am to 6 pm.",
        "no_agents": "Sorry, no agent can take your call right now.",
        "queue_full": "Sorry, too many callers are waiting right now.",
        "callback_ok": "Thank you. We will call you back in your turn; please keep your phone "
        "at hand.",
        "callback_later": "Thank you. We will call you back during our opening hours.",
        "no_number": "Sorry, we cannot call back the number you are calling from.",
        "survey_intro": "Hello, this is the court hotline. We would like to know whether you are "
        "satisfied with how your work order {number} was handled.",
        "survey_thanks": "Thank you for your answer.",
        "survey_redo": "We are sorry you are not satisfied. Your matter will be handled again "
        "and a supervisor will follow it.",
        "comment_saved": "Your comment has been recorded.",
    },
    "ko-KR": {
        "after_hours": "죄송합니다. 상담원 연결은 평일 오전 9시부터 오후 6시까지입니다.",
        "no_agents": "죄송합니다. 지금은 전화를 받을 수 있는 상담원이 없습니다.",
        "queue_full": "죄송합니다. 지금은 대기 중인 고객이 너무 많습니다.",
        "callback_ok": "감사합니다. 대기 순서대로 다시 전화 드리겠습니다. 전화를 받을 수 있게 "
        "해 주십시오.",
        "callback_later": "감사합니다. 상담 시간 중에 다시 전화 드리겠습니다.",
        "no_number": "죄송합니다. 지금 거신 번호로는 다시 전화 드릴 수 없습니다.",
        "survey_intro": "안녕하십니까, 법원 상담 전화입니다. 접수 번호 {number}의 처리 결과에 "
        "만족하시는지 여쭙고자 합니다.",
        "survey_thanks": "답변해 주셔서 감사합니다.",
        "survey_redo": "만족스럽지 못하셨다니 죄송합니다. 다시 처리하고 책임자가 확인하겠습니다.",
        "comment_saved": "의견이 녹음되었습니다.",
    },
}


def init_app(app: Flask) -> None:
    app.extensions["hotline.queues"] = QueueRuntime.for_settings(app.config["SETTINGS"])
    register_intent(app, "transfer", transfer)
    register_intent(app, "request_callback", request_callback)
    register_intent(app, "survey_intro", survey_intro)
    register_intent(app, "survey_answer", survey_answer)
    register_intent(app, "survey_comment", survey_comment)


def _runtime() -> QueueRuntime:
    runtime: QueueRuntime = current_app.extensions["hotline.queues"]
    return runtime


def _language(request: IntentRequest) -> str:
    # Transfer effects carry only the queue: the call's own language is the one in use.
    language = str(request.effect.params.get("language") or request.call.language or "zh-CN")
    return language if language in PROMPTS else "en-US"


def _vars(request: IntentRequest) -> Any:
    return request.effect.params.get("vars") or (request.call.flow_context or {}).get("vars") or {}


def _say(request: IntentRequest, key: str, **values: Any) -> dict[str, str]:
    language = _language(request)
    return {language: PROMPTS[language][key].format(**values)}


def transfer(request: IntentRequest) -> Outcome:
    """Into the caller's skill queue; or, outside the agents' hours, with nobody signed in or
    the queue full, the flow's callback-or-message path (counted as a transfer requested)."""
    runtime = _runtime()
    session, call = request.session, request.call
    params = request.effect.params
    queue = choose_queue(
        session, runtime, requested=str(params.get("queue") or ""), vars_=_vars(request)
    )
    now = runtime.now()
    closed: tuple[str, QueueOutcome] | None = None
    if not runtime.in_service(now):
        closed = ("after_hours", QueueOutcome.AFTER_HOURS)
    elif agents_on_duty(session, runtime, queue) == 0:
        closed = ("no_agents", QueueOutcome.AFTER_HOURS)
    elif waiting_count(session, queue) >= runtime.config.rule(queue).max_size:
        closed = ("queue_full", QueueOutcome.QUEUE_FULL)
    if closed is not None:
        record_closed(
            session, call_sid=call.call_sid, call_id=call.id, queue=queue,
            from_e164=call.from_e164, outcome=closed[1], now=now,
        )  # fmt: skip
        outcome = "queue_full" if closed[1] is QueueOutcome.QUEUE_FULL else "after_hours"
        return Outcome(outcome, prompt=_say(request, closed[0]), data={"queue": queue})
    entry = enter_queue(
        session, call_sid=call.call_sid, call_id=call.id, queue=queue, from_e164=call.from_e164,
        now=now,
    )  # fmt: skip
    settings = request.settings
    request.after_commit.append(lambda: enqueue_offer(settings))
    request.after_commit.append(
        lambda: publish(runtime.redis, "queue", queue=queue, call_sid=call.call_sid, change="in")
    )
    log.info("call %s queued in %s at position %s", call.call_sid, queue, entry.position_at_entry)
    return Outcome("queued", data={"queue": queue})


def request_callback(request: IntentRequest) -> Outcome:
    """A callback that keeps the caller's place (from the queue, or asked in the menu)."""
    runtime = _runtime()
    session, call = request.session, request.call
    entry = current_entry(session, call.call_sid)
    now = runtime.now()
    from_queue = entry is not None and entry.outcome in (
        QueueOutcome.CALLBACK,
        QueueOutcome.TIMEOUT,
        QueueOutcome.AFTER_HOURS,
        QueueOutcome.QUEUE_FULL,
    )
    if entry is not None and from_queue:
        queue = entry.queue
    else:
        queue = choose_queue(session, runtime, requested="", vars_=_vars(request))
    kept = keep_place(
        session,
        runtime,
        call=call,
        queue=queue,
        entry=entry if from_queue else None,
        now=now,
        language=_language(request),
    )
    if kept.callback is None:
        return Outcome("unavailable", prompt=_say(request, "no_number"))
    callback = kept.callback
    settings = request.settings
    request.after_commit.append(lambda: schedule_callback_job(settings, callback))
    key = "callback_ok" if callback.due_at <= now else "callback_later"
    return Outcome("ok", prompt=_say(request, key), data={"callback": callback.id})


# --- the satisfaction survey call ----------------------------------------------------------


def _survey(session: Session, request: IntentRequest) -> tuple[Callback, WorkOrder] | None:
    vars_ = request.effect.params.get("vars") or {}
    raw = vars_.get("callback_id")
    callback = session.get(Callback, int(str(raw))) if str(raw or "").isdigit() else None
    if callback is None or callback.purpose != CallbackPurpose.SURVEY:
        return None
    order = session.get(WorkOrder, callback.work_order_id) if callback.work_order_id else None
    return (callback, order) if order is not None else None


def survey_intro(request: IntentRequest) -> Outcome:
    found = _survey(request.session, request)
    if found is None or found[1].state != State.COMPLETED:
        return Outcome("gone")
    number = " ".join(found[1].number.split("-")[-1].lstrip("0"))
    return Outcome("ok", prompt=_say(request, "survey_intro", number=number))


def survey_answer(request: IntentRequest) -> Outcome:
    answer = str(request.effect.params.get("answer") or "")
    found = _survey(request.session, request)
    if found is None or answer not in Satisfaction._value2member_map_:
        return Outcome("unavailable")
    callback, order = found
    if order.state != State.COMPLETED:
        return Outcome("gone")
    orders: OrdersRuntime = current_app.extensions["hotline.orders"]
    row = record_survey_answer(
        request.session,
        order_id=order.id,
        answer=answer,
        channel="ivr",
        actor="ivr:survey",
        calendar=orders.calendar,
        now=_runtime().now(),
        callback_id=callback.id,
        call_sid=request.call.call_sid,
    )
    if row.reopened:
        settings = request.settings
        request.after_commit.append(lambda: schedule_timers(settings, order, orders))
        return Outcome("ok", prompt=_say(request, "survey_redo"), data={"answer": answer})
    return Outcome("ok", prompt=_say(request, "survey_thanks"), data={"answer": answer})


def survey_comment(request: IntentRequest) -> Outcome:
    vars_ = request.effect.params.get("vars") or {}
    recording = vars_.get("comment") or {}
    url = recording.get("url") if isinstance(recording, dict) else None
    row = request.session.execute(
        select(SurveyAnswer).where(SurveyAnswer.call_sid == request.call.call_sid)
    ).scalar_one_or_none()
    if row is None or not url:
        return Outcome("none")
    row.comment_recording_url = str(url)
    return Outcome("ok", prompt=_say(request, "comment_saved"))
