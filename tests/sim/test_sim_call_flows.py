"""simulate_call plays Twilio's side of whole flows against the scripted app."""

from __future__ import annotations

import io
import re
import wave
from email.utils import parsedate_to_datetime

import pytest

from hotline.sim.recordings import quiet_tone_wav

MENU = (
    '<Response><Gather numDigits="1" action="/voice/step?node={next}" timeout="3">'
    '<Say language="en-US">{prompt}</Say></Gather>'
    '<Say language="en-US">We did not hear you.</Say><Hangup/></Response>'
)
BYE = '<Response><Say language="en-US">Goodbye.</Say><Hangup/></Response>'


def three_menus() -> dict[str, str]:
    return {
        "incoming": MENU.format(next="second", prompt="Main menu."),
        "second": MENU.format(next="third", prompt="Second menu."),
        "third": MENU.format(next="bye", prompt="Third menu."),
        "bye": BYE,
    }


def test_type_ahead_answers_one_key_menus_in_turn(app, place_call):
    app.scenario = three_menus()

    report = place_call(keys="241")

    assert report.ok, report.errors
    assert [h.form["Digits"] for h in app.steps()] == ["2", "4", "1"]
    assert report.keyed == ["2", "4", "1"]
    assert report.said[-1] == ("en-US", "Goodbye.")
    assert report.ended_by == "hangup"
    assert [kind for kind, *_ in report.requests[:4]] == ["incoming", "step", "step", "step"]


def test_every_voice_request_carries_twilio_call_params(app, place_call):
    app.scenario = three_menus()

    report = place_call(keys="1 1 1")

    assert re.fullmatch(r"CA[0-9a-f]{32}", report.call_sid)
    first, *later = app.of("/voice/incoming") + app.steps()
    assert first.form["CallStatus"] == "ringing"
    assert {h.form["CallStatus"] for h in later} == {"in-progress"}
    for hit in [first, *later]:
        assert hit.form["CallSid"] == report.call_sid
        assert hit.form["AccountSid"].startswith("AC")
        assert hit.form["From"] == hit.form["Caller"] == app.caller
        assert hit.form["To"] == hit.form["Called"] == "+862012368"
        assert hit.form["Direction"] == "inbound"
        assert hit.form["ApiVersion"] == "2010-04-01"
        assert hit.form["FromCountry"] == "CN"
        assert hit.form["CallToken"].startswith("%7B%22parentCallInfoToken%22")


def test_finish_key_is_stripped_and_no_finish_key_sends_the_whole_token(app, place_call):
    app.scenario = {
        "incoming": '<Response><Gather finishOnKey="#" action="/voice/step?node=year">'
        "<Say>Year, then hash.</Say></Gather></Response>",
        "year": '<Response><Gather finishOnKey="" action="/voice/step?node=code">'
        "<Say>Code.</Say></Gather></Response>",
        "code": BYE,
    }

    report = place_call(keys="2022#, 12#3")

    assert report.ok, report.errors
    assert app.steps("year")[0].form["Digits"] == "2022"
    assert app.steps("code")[0].form["Digits"] == "12#3"


def test_no_input_posts_empty_digits_only_with_action_on_empty_result(app, place_call):
    app.scenario = {
        "incoming": '<Response><Gather numDigits="1" actionOnEmptyResult="true" '
        'action="/voice/step?node=empty"><Say>Choose.</Say></Gather></Response>',
        "empty": MENU.format(next="never", prompt="Again."),  # no action on empty: falls through
    }

    report = place_call(keys=".")

    assert report.ok, report.errors
    assert app.steps("empty")[0].form["Digits"] == ""
    assert not app.steps("never")
    assert report.said[-1] == ("en-US", "We did not hear you.")
    assert report.lines.count("  caller says nothing") == 2
    assert report.ended_by == "hangup"


def test_running_off_the_document_ends_the_call(app, place_call):
    app.scenario = {"incoming": "<Response><Say>Hello.</Say><Pause length='4'/></Response>"}

    report = place_call()

    assert report.ok
    assert report.ended_by == "end-of-twiml"
    assert report.duration_s >= 5  # 1 s of speech and the 4 s pause, counted, not slept


def test_redirect_follows_get_and_post_with_valid_signatures(app, place_call):
    app.scenario = {
        "incoming": '<Response><Redirect method="GET">/voice/step?node=a&amp;x=%E5%BC%A0'
        "</Redirect></Response>",
        "a": "<Response><Redirect>step?node=b</Redirect></Response>",
        "b": BYE,
    }

    report = place_call()

    assert report.ok, report.errors
    got = app.steps()
    assert [(h.method, h.query["node"]) for h in got] == [("GET", "a"), ("POST", "b")]
    assert got[0].query["x"] == "张"
    assert got[0].query["CallSid"] == report.call_sid
    assert not app.rejected


def test_record_posts_action_then_signed_status_callback_with_fetchable_wav(app, place_call):
    app.scenario = {
        "incoming": "<Response><Say>Leave a message after the tone.</Say>"
        '<Record action="/voice/record-done" finishOnKey="#" maxLength="60" '
        'recordingStatusCallback="/voice/recording-status"/></Response>',
        "record-done": BYE,
    }

    report = place_call()

    assert report.ok, report.errors
    (sid,) = report.recorded
    (done,) = app.of("/voice/record-done")
    assert done.form["RecordingSid"] == sid
    assert done.form["RecordingDuration"] == "2"
    assert done.form["Digits"] == "#"
    assert done.form["RecordingUrl"].endswith(f"/recordings/{done.form['AccountSid']}/{sid}")
    assert app.early_fetch[sid] == 404  # not stored yet while the action runs
    (status,) = app.of("/voice/recording-status")
    assert status.form["RecordingStatus"] == "completed"
    assert status.form["RecordingSource"] == "RecordVerb"
    assert status.form["RecordingChannels"] == "1"
    assert status.form["CallSid"] == report.call_sid
    with wave.open(io.BytesIO(app.recordings[sid])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == 16000


def test_record_serves_the_given_audio(app, place_call):
    app.scenario = {
        "incoming": '<Response><Record action="/voice/step?node=bye" '
        'recordingStatusCallback="/voice/recording-status"/></Response>',
        "bye": BYE,
    }
    audio = quiet_tone_wav(3.0, hz=300)

    report = place_call(recording=audio)

    assert report.ok, report.errors
    assert app.recordings[report.recorded[0]] == audio
    assert app.steps("bye")[0].form["RecordingDuration"] == "3"


def test_enqueue_hears_wait_twiml_leaves_on_key_and_posts_action(app, place_call):
    app.scenario = {
        "incoming": '<Response><Enqueue waitUrl="/voice/wait" '
        'action="/voice/step?node=after_queue">general</Enqueue></Response>',
        "wait": '<Response><Gather numDigits="1" action="/voice/step?node=wait_choice">'
        "<Say>You are number 1. Press 1 for a callback.</Say></Gather></Response>",
        "wait_choice": "<Response><Say>We will call you back.</Say><Leave/></Response>",
        "after_queue": BYE,
    }

    report = place_call(keys="1")

    assert report.ok, report.errors
    assert report.enqueued == ["general"]
    (wait,) = app.of("/voice/wait")
    assert wait.form["QueuePosition"] == "1"
    assert wait.form["CurrentQueueSize"] == "1"
    assert app.steps("wait_choice")[0].form["Digits"] == "1"
    (after,) = app.steps("after_queue")
    assert after.form["QueueResult"] == "leave"
    assert after.form["QueueSid"] == wait.form["QueueSid"]
    assert report.said[-1] == ("en-US", "Goodbye.")
    assert report.ended_by == "hangup"


def test_silent_caller_hangs_up_in_queue_and_the_action_is_not_played(app, place_call):
    app.scenario = {
        "incoming": '<Response><Enqueue waitUrl="/voice/wait" '
        'action="/voice/step?node=after_queue">general</Enqueue></Response>',
        "wait": "<Response><Say>Please hold.</Say><Pause length='10'/></Response>",
        "after_queue": BYE,
    }

    report = place_call()

    assert report.ok, report.errors
    (after,) = app.steps("after_queue")
    assert after.form["QueueResult"] == "hangup"
    assert int(after.form["QueueTime"]) >= 10
    assert ("en-US", "Goodbye.") not in report.said
    assert report.ended_by == "caller"


def test_dial_posts_no_answer_to_its_action(app, place_call):
    app.scenario = {
        "incoming": '<Response><Dial action="/voice/step?node=dialled" timeout="20">'
        "<Queue>general</Queue></Dial></Response>",
        "dialled": BYE,
    }

    report = place_call()

    assert report.ok, report.errors
    assert report.dials == ["queue:general"]
    assert app.steps("dialled")[0].form["DialCallStatus"] == "no-answer"


def test_media_streams_are_noted_and_newer_voices_accepted(app, place_call):
    app.scenario = {
        "incoming": '<Response><Start><Stream url="wss://example.org/voice/stream"/></Start>'
        '<Say language="cmn-CN" voice="Polly.Zhiyu-Neural">您好</Say>'
        '<Connect><Stream url="wss://example.org/voice/stream">'
        '<Parameter name="call" value="x"/></Stream></Connect><Hangup/></Response>'
    }

    report = place_call()

    assert report.ok, report.errors
    assert report.streams == ["wss://example.org/voice/stream"] * 2
    assert report.said == [("cmn-CN", "您好")]


@pytest.mark.parametrize("order", ["in-order", "reversed", "shuffled"])
def test_status_callbacks_are_numbered_by_event_and_sent_in_the_chosen_order(
    app, place_call, order
):
    app.scenario = {"incoming": BYE}

    report = place_call(status_order=order)

    assert report.ok, report.errors
    arrived = [(h.form["CallStatus"], h.form["SequenceNumber"]) for h in app.of("/voice/status")]
    expected = [("ringing", "0"), ("in-progress", "1"), ("completed", "2")]
    assert sorted(arrived, key=lambda pair: pair[1]) == expected
    if order == "in-order":
        assert arrived == expected
    elif order == "reversed":
        assert arrived == expected[::-1]
    for hit in app.of("/voice/status"):
        assert hit.form["CallbackSource"] == "call-progress-events"
        assert parsedate_to_datetime(hit.form["Timestamp"]).utcoffset().total_seconds() == 0
        assert ("CallDuration" in hit.form) == (hit.form["CallStatus"] == "completed")
    (completed,) = [h for h in app.of("/voice/status") if h.form["CallStatus"] == "completed"]
    assert int(completed.form["CallDuration"]) == report.duration_s
    assert completed.form["Duration"] == "1"


def test_status_events_can_be_limited_to_completed(app, place_call):
    app.scenario = {"incoming": BYE}
    app.status_answer = ("<Response/>", 200)

    report = place_call(status_events=("completed",))

    assert report.ok, report.errors
    assert [(h.form["CallStatus"], h.form["SequenceNumber"]) for h in app.of("/voice/status")] == [
        ("completed", "0")
    ]


def test_behind_a_proxy_the_public_url_is_signed(app, place_call):
    app.public_base_url = "https://hotline.example.org"
    app.scenario = {
        "incoming": "<Response><Redirect>https://hotline.example.org/voice/step?node=bye"
        "</Redirect></Response>",
        "bye": BYE,
    }

    report = place_call(public_base_url="https://hotline.example.org")

    assert report.ok, report.errors
    assert [h.path for h in app.hits][:2] == ["/voice/incoming", "/voice/step"]
    assert not app.rejected


def test_a_3xx_answer_is_followed_without_the_digits(app, place_call):
    app.scenario = {
        "incoming": '<Response><Gather numDigits="1" action="/voice/step?node=moved">'
        "<Say>Menu.</Say></Gather></Response>",
        "moved": ("", 302, {"Location": "/voice/step?node=bye"}),
        "bye": BYE,
    }

    report = place_call(keys="3")

    assert report.ok, report.errors
    assert app.steps("moved")[0].form["Digits"] == "3"
    (bye,) = app.steps("bye")
    assert "Digits" not in bye.form
    assert bye.form["CallSid"] == report.call_sid
    assert [status for _, _, status, _ in report.requests[:3]] == [200, 302, 200]


def test_gather_with_method_get_sends_digits_in_the_query(app, place_call):
    app.scenario = {
        "incoming": '<Response><Gather numDigits="2" method="GET" '
        'action="/voice/step?node=got"><Say>Two keys.</Say></Gather></Response>',
        "got": BYE,
    }

    report = place_call(keys="42")

    assert report.ok, report.errors
    (got,) = app.steps("got")
    assert got.method == "GET"
    assert got.query["Digits"] == "42"
    assert got.form == {}
