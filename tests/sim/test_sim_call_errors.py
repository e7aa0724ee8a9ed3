"""simulate_call reports every way the app can break Twilio's protocol, and stops there."""

from __future__ import annotations

import socket

import pytest

from hotline.sim.call import simulate_call

BYE = "<Response><Say>Goodbye.</Say><Hangup/></Response>"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (("boom", 500), "HTTP 500"),
        (("", 404), "HTTP 404"),
        (("<Response/>", 200, {"Content-Type": "text/html"}), "Content-Type 'text/html"),
        ("<Response><Say><Gather/></Say></Response>", "invalid TwiML"),
        ("<Response><Transfer>agent</Transfer></Response>", "Element 'Transfer'"),
        ("<Response><Say>unclosed</Response>", "not well-formed"),
        ("<Response>" + "<Say>padding</Say>" * 4000 + "</Response>", "64 kB"),
    ],
    ids=["500", "404", "html", "gather-in-say", "unknown-verb", "broken-xml", "too-big"],
)
def test_a_bad_answer_to_a_voice_request_fails_the_call(app, place_call, answer, expected):
    app.scenario = {
        "incoming": '<Response><Gather numDigits="1" action="/voice/step?node=bad">'
        "<Say>Menu.</Say></Gather></Response>",
        "bad": answer,
    }

    report = place_call(keys="1 1")

    assert not report.ok
    assert expected in report.errors[0]
    assert report.ended_by == "error"
    assert "/voice/step?node=bad" in report.errors[0]
    # Twilio still reports the end of the call.
    assert len(app.of("/voice/status")) == 3


def test_a_wrong_auth_token_is_rejected_by_the_app_and_reported(app, creds):
    app.scenario = {"incoming": BYE}

    report = simulate_call(
        app.base_url,
        auth_token="not-the-token",
        account_sid=creds["account_sid"],
        from_number=app.caller,
    )

    assert report.ended_by == "error"
    assert "HTTP 403" in report.errors[0]
    assert app.rejected[0] == "/voice/incoming"
    assert not app.hits


def test_a_proxy_setup_without_public_base_url_fails_the_signature(app, place_call):
    app.public_base_url = "https://hotline.example.org"
    app.scenario = {"incoming": BYE}

    report = place_call()

    assert "HTTP 403" in report.errors[0]


def test_a_flow_that_never_ends_hits_max_requests(app, place_call):
    app.scenario = {
        "incoming": "<Response><Redirect>/voice/step?node=loop</Redirect></Response>",
        "loop": "<Response><Pause/><Redirect>/voice/step?node=loop</Redirect></Response>",
    }

    report = place_call(max_requests=10)

    assert report.ended_by == "max-requests"
    assert "did not end after 10 voice requests" in report.errors[0]
    assert len(app.steps("loop")) == 9


def test_a_silent_caller_in_a_menu_that_repeats_forever_hits_max_requests(app, place_call):
    menu = (
        '<Response><Gather numDigits="1" action="/voice/step?node=menu">'
        "<Say>Menu.</Say></Gather><Redirect>/voice/step?node=menu</Redirect></Response>"
    )
    app.scenario = {"incoming": menu, "menu": menu}

    report = place_call(keys="1", max_requests=6)

    assert report.ended_by == "max-requests"
    assert report.keyed == ["1"]


def test_a_slow_answer_is_a_twilio_timeout(app, place_call):
    app.scenario = {"incoming": "<Response><Redirect>/voice/slow</Redirect></Response>"}

    report = place_call(timeout_s=0.3)

    assert report.ended_by == "error"
    assert "11205" in report.errors[0]
    assert report.requests[1][2] == 0  # no HTTP status: Twilio gave up


def test_a_connection_refused_is_reported(creds):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = simulate_call(
        f"http://127.0.0.1:{port}", **creds, from_number="+8613800138000", status_events=()
    )

    assert report.ended_by == "error"
    assert "connection failed" in report.errors[0]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(("oops", 500), "HTTP 500"), (("not xml", 200), "not TwiML")],
)
def test_a_bad_answer_to_a_status_callback_is_reported(app, place_call, answer, expected):
    app.scenario = {"incoming": BYE}
    app.status_answer = answer

    report = place_call(status_events=("completed",))

    assert report.ended_by == "hangup"
    assert len(report.errors) == 1
    assert expected in report.errors[0]


def test_wait_twiml_with_a_verb_twilio_does_not_allow_there_is_reported(app, place_call):
    app.scenario = {
        "incoming": '<Response><Enqueue waitUrl="/voice/wait">general</Enqueue></Response>',
        "wait": "<Response><Dial>+8613800000000</Dial></Response>",
    }

    report = place_call()

    assert "<Dial> in queue wait TwiML" in report.errors[0]
    assert report.ended_by == "caller"


def test_bad_arguments_fail_before_dialling(app, place_call):
    with pytest.raises(ValueError, match="keys token"):
        place_call(keys="12a")
    with pytest.raises(ValueError, match="status order"):
        place_call(status_order="sideways")
    with pytest.raises(ValueError, match="status events"):
        place_call(status_events=("busy",))
    with pytest.raises(ValueError, match="WAV"):
        place_call(recording=b"RIFF nonsense")
    assert not app.hits
