"""TwiML of queues, agents and callbacks: what a waiting caller hears, what an agent's call
dials, and how a callback's two legs are joined. Pure functions of plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.twiml.voice_response import Dial, VoiceResponse

Voices = Mapping[str, tuple[str, str]]

# Between two announcements Twilio plays this silence, then requests the wait URL again.
HOLD_PAUSE_S = 15

TEXT = {
    "zh-CN": {
        "position": "您前面还有{ahead}位来电者，您目前排在第{position}位。",
        "next": "您目前排在第1位，坐席空闲后将立即为您接通。",
        "estimate": "预计等待约{minutes}分钟。",
        "offer": "如需改为回电，并保留您的排队位置，请按1。",
        "callback_kept": "好的，正在为您登记回电。",
        "no_callback": "抱歉，无法回拨您当前的号码，请继续等待。",
        "timeout": "抱歉，让您久等了。",
        "connecting": "正在为您接通坐席，请讲。",
        "agent_no_caller": "目前没有等待的来电。",
        "agent_callback": "回电任务：正在为您拨打来电者 {number}。",
        "callback_hello": "您好，这里是法院诉讼服务热线，为您回电，正在为您接通坐席，请稍候。",
        "callback_sorry": "抱歉，坐席暂时无法接听，我们会再次给您回电。再见。",
        "goodbye": "再见。",
    },
    "en-US": {
        "position": "There are {ahead} callers ahead of you; you are number {position} in line.",
        "next": "You are number 1 in line: you are next, and an agent will be with you as "
        "soon as one is free.",
        "estimate": "The estimated wait is about {minutes} minutes.",
        "offer": "To get a callback instead and keep your place in line, press 1.",
        "callback_kept": "Certainly, we are booking your callback.",
        "no_callback": "Sorry, we cannot call back the number you are calling from. "
        "Please stay on the line.",
        "timeout": "Sorry for the long wait.",
        "connecting": "Connecting you to an agent now.",
        "agent_no_caller": "No caller is waiting any more.",
        "agent_callback": "Callback: calling {number} for you now.",
        "callback_hello": "Hello, this is the court hotline calling you back. Connecting you to "
        "an agent, please hold.",
        "callback_sorry": "Sorry, no agent can take the call right now. We will call you again. "
        "Goodbye.",
        "goodbye": "Goodbye.",
    },
    "ko-KR": {
        "position": "앞에 {ahead}분이 기다리고 계십니다. 고객님은 {position}번째입니다.",
        "next": "고객님은 1번째입니다. 상담원이 연결되는 대로 바로 받겠습니다.",
        "estimate": "예상 대기 시간은 약 {minutes}분입니다.",
        "offer": "대기 순서를 유지한 채 전화를 다시 받으시려면 1번을 누르세요.",
        "callback_kept": "네, 다시 전화 드리도록 접수하겠습니다.",
        "no_callback": "죄송합니다. 지금 거신 번호로는 다시 전화 드릴 수 없습니다. 잠시만 기다려 "
        "주십시오.",
        "timeout": "오래 기다리게 해서 죄송합니다.",
        "connecting": "상담원에게 연결해 드리겠습니다.",
        "agent_no_caller": "기다리는 고객이 없습니다.",
        "agent_callback": "회신 전화: {number} 번으로 연결합니다.",
        "callback_hello": "안녕하십니까, 법원 상담 전화에서 다시 전화 드렸습니다. 상담원에게 "
        "연결해 드리겠습니다. 잠시만 기다려 주십시오.",
        "callback_sorry": "죄송합니다. 지금은 상담원이 받을 수 없습니다. 다시 전화 드리겠습니다. "
        "안녕히 계십시오.",
        "goodbye": "안녕히 계십시오.",
    },
}


def text(language: str, key: str, **values: object) -> str:
    table = TEXT.get(language) or TEXT["en-US"]
    return table[key].format(**values)


def _say(response: Any, words: str, language: str, voices: Voices) -> None:
    voice, say_language = voices.get(language) or next(iter(voices.values()))
    response.say(words, voice=voice, language=say_language)


def wait_announcement(
    *,
    language: str,
    voices: Voices,
    position: int,
    estimate_s: float | None,
    key_url: str | None,
) -> str:
    """Position, estimated wait, the callback offer (a Gather inside the wait TwiML), then
    silence; when the document ends Twilio requests the wait URL again."""
    response = VoiceResponse()
    words = (
        text(language, "next")
        if position <= 1
        else text(language, "position", ahead=position - 1, position=position)
    )
    if estimate_s is not None and position > 1:
        words += text(language, "estimate", minutes=max(1, round(estimate_s / 60)))
    if key_url:
        gather = response.gather(
            input="dtmf", num_digits=1, action=key_url, method="POST", timeout=5
        )
        _say(gather, words + text(language, "offer"), language, voices)
    else:
        _say(response, words, language, voices)
    response.pause(length=HOLD_PAUSE_S)
    return str(response)


def leave_queue(language: str, voices: Voices, key: str) -> str:
    """A message, then `<Leave/>`: the caller's Enqueue action gets QueueResult=leave."""
    response = VoiceResponse()
    _say(response, text(language, key), language, voices)
    response.leave()
    return str(response)


def message(language: str, voices: Voices, key: str, *, hangup: bool = False) -> str:
    response = VoiceResponse()
    _say(response, text(language, key), language, voices)
    if hangup:
        response.hangup()
    return str(response)


def empty() -> str:
    return str(VoiceResponse())


def hangup() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def agent_takes_queue(*, queue: str, action_url: str, bridged_url: str, ring_s: int) -> str:
    """The agent's call: bridge the front caller of `queue`; `bridged_url` is requested for
    the caller as the bridge starts (`<Queue url>`), `action_url` when it ends."""
    response = VoiceResponse()
    dial = Dial(action=action_url, method="POST", timeout=ring_s)
    dial.queue(queue, url=bridged_url, method="POST")
    response.append(dial)
    response.hangup()
    return str(response)


def dial_citizen(
    *,
    language: str,
    voices: Voices,
    spoken_number: str,
    number: str,
    caller_id: str | None,
    action_url: str,
    ring_s: int,
) -> str:
    """Agent first: the agent hears whom they are calling, then the citizen is dialled."""
    response = VoiceResponse()
    _say(response, text(language, "agent_callback", number=spoken_number), language, voices)
    dial = Dial(action=action_url, method="POST", timeout=ring_s, caller_id=caller_id)
    dial.number(number)
    response.append(dial)
    response.hangup()
    return str(response)


def dial_agent(
    *, language: str, voices: Voices, address: str, caller_id: str | None, action_url: str,
    ring_s: int,
) -> str:  # fmt: skip
    """Customer first: the citizen is greeted, then the agent is dialled."""
    response = VoiceResponse()
    _say(response, text(language, "callback_hello"), language, voices)
    dial = Dial(action=action_url, method="POST", timeout=ring_s, caller_id=caller_id)
    if address.startswith("client:"):
        dial.client(address[len("client:") :])
    else:
        dial.number(address)
    response.append(dial)
    return str(response)
