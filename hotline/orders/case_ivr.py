"""The IVR's case intents: know the caller's matter, confirm it, check identity, read back.

Nothing about a case is said before the identity check passes: until then the caller hears
only the case number they gave or were proposed, never its parties, stage or hearings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import phonenumbers
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.orders.ivr import STATE_NAMES, orders_runtime, spoken_date, spoken_number
from hotline.voice.intents import IntentRequest, register_intent
from ivr_flows import Outcome
from workorders.case_numbers import CaseNumberError, parse_case_number, speakable
from workorders.case_registry import check_password
from workorders.cases import CourtCase
from workorders.identity import CheckResult, verify_identity
from workorders.lifecycle import OPEN_STATES, Move, MoveRequest
from workorders.matching import REPEAT_WINDOWS, cases_by_keys, match_caller
from workorders.orders import WorkOrder
from workorders.services import WorkOrderError, move_work_order

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    for name, handler in (
        ("match_caller", identify_caller),
        ("case_status", case_status),
        ("find_case", find_case),
        ("verify_identity", check_identity),
        ("case_readback", case_readback),
        ("forget_case", lambda request: Outcome("ok", data={})),
    ):
        register_intent(app, name, handler)


def _language(request: IntentRequest) -> str:
    return str(request.effect.params.get("language") or "zh-CN")


def _vars(request: IntentRequest) -> dict[str, Any]:
    return dict(request.effect.params.get("vars") or {})


def _say(language: str, zh: str, en: str) -> dict[str, str]:
    return {language: zh if language == "zh-CN" else en}


def _case_memory(case: CourtCase, *, verified: bool = False) -> dict[str, Any]:
    """What the call remembers of its case (in the flow's vars; no personal data)."""
    return {"id": case.id, "number": case.case_number, "verified": verified}


def _spoken_case(case: CourtCase, language: str) -> str:
    # Case numbers are read in Chinese or English only; other languages hear the English form.
    spoken_in = language if language.split("-")[0].casefold() in ("zh", "en") else "en-US"
    try:
        return speakable(parse_case_number(case.case_number), spoken_in)
    except CaseNumberError:
        return case.case_number


def identify_caller(request: IntentRequest) -> Outcome:
    """At the start of the call: propose the caller's likely case, or tell a repeat caller
    where their open matter stands (and attach this contact to it)."""
    language, call = _language(request), request.call
    now = clock.now(request.settings)
    match = match_caller(
        request.session, phone_e164=call.from_e164, now=now, exclude_call_id=call.id
    )
    best = match.best
    if best is None:
        return Outcome("none")
    order = best.order
    if order is not None and now - order.registered_at <= REPEAT_WINDOWS[0]:
        return _repeat_matter(request, order, best.case, now)
    if best.case is None:
        return _repeat_matter(request, order, None, now) if order is not None else Outcome("none")
    spoken = _spoken_case(best.case, language)
    prompt = (
        _say(
            language,
            f"您之前来电咨询过{spoken}案件，这次还是这个案件吗？",
            f"You called earlier about {spoken}. Is this call about the same case?",
        )
        if best.repeat
        else _say(language, f"您是否来电咨询{spoken}案件？", f"Are you calling about {spoken}?")
    )
    return Outcome("case", prompt=prompt, data=_case_memory(best.case))


def _repeat_matter(
    request: IntentRequest, order: WorkOrder, case: CourtCase | None, now: datetime
) -> Outcome:
    """The caller reported this matter recently: say where it stands and attach this call to
    it instead of opening it again (one number, one handling to the end)."""
    language, call = _language(request), request.call
    try:
        move_work_order(
            request.session,
            order_id=order.id,
            move=Move.ATTACH_CONTACT,
            actor="ivr",
            calendar=orders_runtime().calendar,
            now=now,
            request=MoveRequest(note=f"repeat call {call.call_sid}"),
            dedup_key=f"attach-call:{call.call_sid}",
        )
    except WorkOrderError as exc:
        log.warning("call %s: could not attach to %s: %s", call.call_sid, order.number, exc)
    names = STATE_NAMES.get(language, STATE_NAMES["en-US"])
    due = spoken_date(order.deadline_at, language, orders_runtime())
    number = spoken_number(order.number)
    prompt = _say(
        language,
        f"您已反映过此事，工单号 {number}，目前{names[order.state]}，办理期限为{due}。"
        "我们已将您本次来电记入该工单，无需重复反映。",
        f"You reported this matter earlier: work order {number} is {names[order.state]} "
        f"and due by {due}. We have added this call to it, so there is no need to report "
        "it again.",
    )
    return Outcome("order", prompt=prompt, data=_case_memory(case) if case else {})


def case_status(request: IntentRequest) -> Outcome:
    """Main menu "case status": verified → read back; a case known → verify; else ask."""
    case = _vars(request).get("case") or {}
    if case.get("id") and case.get("verified"):
        return case_readback(request)
    if case.get("id"):
        return Outcome("verify", data=case)  # store_as replaces vars.case: hand it back
    return Outcome("ask_number")


def find_case(request: IntentRequest) -> Outcome:
    """The case from keyed year and serial, among the caller's cases first."""
    language, values = _language(request), _vars(request)
    try:
        year, serial = int(values.get("case_year") or 0), int(values.get("case_serial") or 0)
    except ValueError:
        year = serial = 0
    match = match_caller(
        request.session,
        phone_e164=request.call.from_e164,
        now=clock.now(request.settings),
        exclude_call_id=request.call.id,
    )
    own = [c.case for c in match.candidates if c.case is not None]
    found = cases_by_keys(request.session, year=year, serial=serial, among=own) if year else []
    if len(found) == 1:
        spoken = _spoken_case(found[0], language)
        return Outcome(
            "one",
            prompt=_say(language, f"已找到{spoken}案件。", f"We found {spoken}."),
            data=_case_memory(found[0]),
        )
    if found:
        return Outcome(
            "many",
            prompt=_say(
                language,
                "有多个案件与您输入的号码相符，为您转接人工服务。",
                "Several cases match that number; we will put you through to an operator.",
            ),
        )
    return Outcome(
        "not_found",
        prompt=_say(
            language,
            f"抱歉，没有找到{year}年序号{serial}的案件。",
            f"Sorry, we found no case of {year} with number {serial}.",
        ),
    )


def check_identity(request: IntentRequest) -> Outcome:
    language, values = _language(request), _vars(request)
    case = values.get("case") or {}
    if not case.get("id"):
        return Outcome("unavailable")
    result = verify_identity(
        request.session,
        case_id=int(case["id"]),
        keys=str(values.get("case_password") or ""),
        now=clock.now(request.settings),
        check_password=check_password,
    )
    if result.result is CheckResult.OK:
        return Outcome("ok", data={**case, "verified": True})
    if result.result is CheckResult.LOCKED:
        log.warning("call %s: identity checks on case %s locked", request.call.call_sid, case["id"])
        return Outcome(
            "locked",
            data=case,
            prompt=_say(
                language,
                "验证失败次数过多，查询已暂时锁定。为您转接人工服务。",
                "Too many failed attempts: case queries are locked for a while. "
                "We will put you through to an operator.",
            ),
        )
    return Outcome(
        "wrong",
        data=case,
        prompt=_say(
            language,
            f"密码或身份证号后四位不正确，您还可以再试{result.attempts_left}次。",
            f"That password or ID number ending is not correct. "
            f"You have {result.attempts_left} more attempt(s).",
        ),
    )


def case_readback(request: IntentRequest) -> Outcome:
    """Stage, next hearing, the clerk's contact and the caller's open orders on the case —
    only after the identity check; the call then counts as resolved during the call."""
    language, values = _language(request), _vars(request)
    memory = values.get("case") or {}
    if not (memory.get("id") and memory.get("verified")):
        return Outcome("verify", data=memory)  # nothing is disclosed without the check
    case = request.session.get(CourtCase, int(memory["id"]))
    if case is None:
        return Outcome("unavailable")
    request.call.resolved_in_call = True
    text = readback_text(
        request.session, case, language, clock.now(request.settings), request.call.from_e164
    )
    return Outcome("ok", prompt={language: text}, data=memory)


def _national_digits(e164: str) -> str:
    """+8675583000001 → 075583000001: the number as dialled inside the country."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def readback_text(
    session: Session, case: CourtCase, language: str, now: datetime, phone: str | None
) -> str:
    runtime = orders_runtime()
    spoken = _spoken_case(case, language)
    stage = (case.status_text or {}).get(language) or case.stage
    parts = [
        f"{spoken}，目前处于{stage}。"
        if language == "zh-CN"
        else f"{spoken} is at this stage: {stage}."
    ]
    if case.next_hearing_at is not None and case.next_hearing_at >= now:
        local = case.next_hearing_at.astimezone(runtime.calendar.tz)
        place = case.next_hearing_place or ""
        parts.append(
            f"下次开庭时间为{local.month}月{local.day}日{local.hour}点{local.minute:02d}分，{place}。"
            if language == "zh-CN"
            else f"The next hearing is on {local.day} {local:%B} at {local:%H:%M}, {place}."
        )
    if case.clerk_name and case.clerk_phone:
        digits = " ".join(_national_digits(case.clerk_phone))
        parts.append(
            f"书记员{case.clerk_name}，联系电话 {digits}。"
            if language == "zh-CN"
            else f"The clerk is {case.clerk_name}, telephone {digits}."
        )
    names = STATE_NAMES.get(language, STATE_NAMES["en-US"])
    orders: Iterable[WorkOrder] = (
        session.execute(
            select(WorkOrder).where(
                WorkOrder.case_number == case.case_number,
                WorkOrder.contact_phone == phone,
                WorkOrder.state.in_(OPEN_STATES),
            )
        ).scalars()
        if phone
        else []
    )
    for order in orders:
        due, number = spoken_date(order.deadline_at, language, runtime), spoken_number(order.number)
        parts.append(
            f"您反映的工单 {number} 目前{names[order.state]}，办理期限为{due}。"
            if language == "zh-CN"
            else f"Your work order {number} is {names[order.state]}, due by {due}."
        )
    return "".join(parts) if language == "zh-CN" else " ".join(parts)
