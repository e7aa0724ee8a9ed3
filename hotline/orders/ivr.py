"""The IVR's work-order intents: open an order from a recorded statement, read orders back."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from hotline import clock
from hotline.orders.jobs import enqueue_routing
from hotline.orders.runtime import OrdersRuntime
from hotline.voice.intents import IntentRequest, register_intent
from ivr_flows import Outcome
from workorders.cases import CourtCase
from workorders.orders import Channel, WorkOrder
from workorders.services import (
    Intake,
    WorkOrderError,
    find_by_number,
    open_orders_for_contact,
    register_work_order,
)

log = logging.getLogger(__name__)

STATE_NAMES = {
    "zh-CN": {"registered": "已登记", "dispatched": "已派发承办部门", "accepted": "已受理",
              "in_progress": "正在办理", "replied": "已答复", "completed": "已办结",
              "closed": "已回访结案", "merged": "已并入其他工单"},
    "en-US": {"registered": "registered", "dispatched": "sent to the department in charge",
              "accepted": "accepted", "in_progress": "being handled", "replied": "answered",
              "completed": "completed", "closed": "closed after follow-up",
              "merged": "merged into another order"},
}  # fmt: skip
MAX_READ_BACK = 3


def init_app(app: Flask) -> None:
    register_intent(app, "open_work_order", open_work_order)
    register_intent(app, "work_order_status", work_order_status)
    register_intent(app, "lookup_work_order", lookup_work_order)


def orders_runtime() -> OrdersRuntime:
    runtime: OrdersRuntime = current_app.extensions["hotline.orders"]
    return runtime


def spoken_number(number: str) -> str:
    """WO-2026-000123 → "2 0 2 6, 0 0 0 1 2 3": read digit by digit, as callers key it back."""
    _, year, serial = number.split("-")
    return f"{' '.join(year)}, {' '.join(serial)}"


def spoken_date(when: datetime, language: str, runtime: OrdersRuntime) -> str:
    local = when.astimezone(runtime.calendar.tz)
    if language == "zh-CN":
        return f"{local.month}月{local.day}日{local.hour}点"
    return f"{local.day} {local:%B} at {local.hour}:00"


def open_work_order(request: IntentRequest) -> Outcome:
    """The caller's recorded statement becomes an order; they hear its number and limit."""
    params: Mapping[str, Any] = request.effect.params
    language = str(params.get("language") or "zh-CN")
    statement = (params.get("vars") or {}).get("statement") or {}
    call = request.call
    runtime = orders_runtime()
    case = _known_case(request)
    intake = Intake(
        channel=Channel.PHONE,
        category="other",
        summary="来电留言" if language == "zh-CN" else "Statement left by phone",
        statement="",
        contact_phone=call.from_e164,
        call_id=call.id,
        recording_url=statement.get("url") or None,
        region=request.settings.default_region,
        language=language,
        case_number=case.case_number if case else None,
        case_division=case.division if case else None,
    )
    try:
        order, _ = register_work_order(
            request.session,
            intake=intake,
            actor="ivr",
            calendar=runtime.calendar,
            now=clock.now(request.settings),
        )
    except WorkOrderError as exc:
        log.warning("call %s: could not open a work order: %s", call.call_sid, exc)
        return Outcome("unavailable")
    settings = request.settings
    order_id = order.id
    request.after_commit.append(lambda: enqueue_routing(settings, order_id))
    days = order.category.limit_for(order.urgency)
    number, due = spoken_number(order.number), spoken_date(order.deadline_at, language, runtime)
    prompt = {
        "zh-CN": f"您的诉求已登记，工单号是 {number}。我们将在{days}个工作日内，"
        f"也就是{due}前答复您。",
        "en-US": f"Your matter has been registered. Your work order number is {number}. "
        f"We will reply within {days} working days, by {due}.",
    }
    return Outcome(
        "ok",
        prompt={language: prompt.get(language, prompt["en-US"])},
        data={"number": order.number, "id": order.id},
    )


def _known_case(request: IntentRequest) -> CourtCase | None:
    """The case this call is about, once the caller confirmed or keyed it (vars.case)."""
    memory = (request.effect.params.get("vars") or {}).get("case") or {}
    return request.session.get(CourtCase, int(memory["id"])) if memory.get("id") else None


def _read_back(orders: list[WorkOrder], language: str, runtime: OrdersRuntime) -> str:
    names = STATE_NAMES.get(language, STATE_NAMES["en-US"])
    parts = []
    for order in orders[:MAX_READ_BACK]:
        due = spoken_date(order.deadline_at, language, runtime)
        number = spoken_number(order.number)
        if language == "zh-CN":
            parts.append(f"工单 {number}，目前{names[order.state]}，办理期限为{due}。")
        else:
            parts.append(f"Work order {number} is {names[order.state]}; it is due by {due}.")
    return " ".join(parts)


def work_order_status(request: IntentRequest) -> Outcome:
    """Read back the open orders of the caller's number; "none" lets the flow ask for one."""
    language = str(request.effect.params.get("language") or "zh-CN")
    phone = request.call.from_e164
    orders = open_orders_for_contact(request.session, phone_e164=phone) if phone else []
    if not orders:
        return Outcome("none")
    text = _read_back(orders, language, orders_runtime())
    return Outcome("ok", prompt={language: text}, data={"numbers": [o.number for o in orders]})


_KEYED = re.compile(r"^(20\d\d)(\d{1,6})$")


def number_from_keys(keys: str) -> str | None:
    """Keys for WO-2026-000123: the year then the serial, with or without the zeros
    (`2026123` or `2026000123`)."""
    match = _KEYED.match(keys or "")
    if not match:
        return None
    return f"WO-{match[1]}-{int(match[2]):06d}"


def lookup_work_order(request: IntentRequest) -> Outcome:
    params = request.effect.params
    language = str(params.get("language") or "zh-CN")
    keys = str((params.get("vars") or {}).get("order_digits") or "")
    number = number_from_keys(keys)
    order = find_by_number(request.session, number) if number else None
    if order is None:
        spoken = " ".join(keys) or "-"
        text = {
            "zh-CN": f"抱歉，没有找到工单 {spoken}。",
            "en-US": f"Sorry, we could not find work order {spoken}.",
        }
        return Outcome("not_found", prompt={language: text.get(language, text["en-US"])})
    # Only the state and deadline are read, never names or statements: safe for anyone who
    # holds the number, like a receipt.
    return Outcome(
        "ok",
        prompt={language: _read_back([order], language, orders_runtime())},
        data={"numbers": [order.number]},
    )
