"""TwiML rendering: the one place engine actions become Twilio's XML."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather as GatherVerb
from twilio.twiml.voice_response import VoiceResponse

from ivr_flows import Action, Enqueue, Gather, Hangup, Pause, Record, Say

# Twilio's <Say> cuts long text; keep well under its ~3000 character limit.
MAX_SAY_CHARS = 2800


@dataclass(frozen=True)
class Urls:
    """Absolute URLs the rendered TwiML points Twilio at (ids only in query strings)."""

    step: Callable[[str], str]  # node id -> the step URL for that node
    recording_status: str
    queue_wait: str


def render(
    actions: Iterable[Action],
    *,
    voices: Mapping[str, tuple[str, str]],
    urls: Urls,
    stream_url: str | None = None,
    call_sid: str = "",
) -> str:
    response = VoiceResponse()
    if stream_url:
        # Fork the caller's audio to our recogniser; TwiML goes on at once. Stream URLs take no
        # query string (Twilio), so the call is named in a <Parameter>.
        start = response.start()
        stream = start.stream(url=stream_url, track="inbound_track", name=f"speech-{call_sid}"[:64])
        stream.parameter(name="callSid", value=call_sid)
    for action in actions:
        _render_one(response, action, voices, urls)
    return str(response)


def _say(
    target: VoiceResponse | GatherVerb, say: Say, voices: Mapping[str, tuple[str, str]]
) -> None:
    voice, language = voices.get(say.language) or next(iter(voices.values()))
    target.say(say.text[:MAX_SAY_CHARS], voice=voice, language=language)


def _render_one(
    response: VoiceResponse,
    action: Action,
    voices: Mapping[str, tuple[str, str]],
    urls: Urls,
) -> None:
    if isinstance(action, Say):
        _say(response, action, voices)
    elif isinstance(action, Pause):
        response.pause(length=action.seconds)
    elif isinstance(action, Gather):
        gather = response.gather(
            input="dtmf",
            action=urls.step(action.node),
            method="POST",
            timeout=action.timeout_s,
            num_digits=action.num_digits,
            finish_on_key=action.finish_on_key,
            # No input still posts to the action, so the flow counts the timeout itself.
            action_on_empty_result=True,
        )
        for prompt in action.prompts:
            if isinstance(prompt, Say):
                _say(gather, prompt, voices)
            else:
                gather.pause(length=prompt.seconds)
    elif isinstance(action, Record):
        response.record(
            action=urls.step(action.node),
            method="POST",
            max_length=action.max_length_s,
            timeout=action.timeout_s,
            finish_on_key=action.finish_on_key,
            play_beep=action.play_beep,
            trim="trim-silence",
            recording_status_callback=urls.recording_status,
            recording_status_callback_method="POST",
        )
        # Twilio skips the action when nothing was recorded; come back to the node anyway so
        # the flow takes its "empty" route instead of the call dropping.
        response.redirect(urls.step(action.node), method="POST")
    elif isinstance(action, Enqueue):
        response.enqueue(
            action.queue,
            action=urls.step(action.node),
            method="POST",
            wait_url=urls.queue_wait,
            wait_url_method="POST",
        )
    elif isinstance(action, Hangup):
        response.hangup()
    else:  # pragma: no cover - the Action union is closed
        raise TypeError(f"cannot render {action!r}")


def render_message(text: str, language: str, voices: Mapping[str, tuple[str, str]]) -> str:
    """A complete document that says one thing and hangs up (used when nothing else can run)."""
    response = VoiceResponse()
    _say(response, Say(text=text, language=language), voices)
    response.hangup()
    return str(response)


def render_hold(text: str, language: str, voices: Mapping[str, tuple[str, str]]) -> str:
    """What a queued caller hears while waiting: a message and a pause, then Twilio asks again."""
    response = VoiceResponse()
    _say(response, Say(text=text, language=language), voices)
    response.pause(length=10)
    return str(response)


def render_hold_redirect(
    text: str, language: str, voices: Mapping[str, tuple[str, str]], url: str
) -> str:
    """A short holding prompt, then Twilio asks `url` again (a dependency was slow or down)."""
    response = VoiceResponse()
    _say(response, Say(text=text, language=language), voices)
    response.pause(length=1)
    response.redirect(url, method="POST")
    return str(response)


def render_emergency(
    text: str,
    language: str,
    voices: Mapping[str, tuple[str, str]],
    *,
    action: str,
    recording_status: str,
    goodbye: str,
) -> str:
    """The static emergency flow: ask for a message and record it, with no database behind."""
    response = VoiceResponse()
    _say(response, Say(text=text, language=language), voices)
    response.record(
        action=action,
        method="POST",
        max_length=180,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=recording_status,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    # Reached only if the caller said nothing: Twilio then continues past <Record>.
    _say(response, Say(text=goodbye, language=language), voices)
    response.hangup()
    return str(response)
