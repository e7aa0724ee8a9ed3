"""validate_twiml: Twilio's schema, the 64 kB limit, and only the listed schema gaps."""

from __future__ import annotations

import pytest

from hotline.sim.validate import KNOWN_GAPS, MAX_TWIML_BYTES, validate_twiml

VALID = [
    '<?xml version="1.0" encoding="UTF-8"?><Response/>',
    '<Response><Say language="en-US" voice="Polly.Joanna">Hi</Say><Hangup/></Response>',
    '<Response><Gather input="dtmf" numDigits="1" action="/voice/step?node=a&amp;seq=1" '
    'timeout="5" actionOnEmptyResult="true"><Say>Menu</Say><Pause length="1"/>'
    "<Play>https://example.org/a.wav</Play></Gather><Redirect>/voice/x</Redirect></Response>",
    '<Response><Record action="/r" maxLength="120" finishOnKey="#" playBeep="true" '
    'trim="trim-silence" recordingStatusCallback="/rs"/></Response>',
    '<Response><Enqueue waitUrl="/w" action="/a">general</Enqueue></Response>',
    '<Response><Dial action="/d" timeout="30" callerId="+862012368"><Queue>general</Queue>'
    "</Dial></Response>",
    '<Response><Start><Stream url="wss://example.org/s" track="inbound_track"/></Start></Response>',
    '<Response><Reject reason="busy"/></Response>',
    # The known gaps, each in its allowed shape:
    '<Response><Connect action="/c"><Stream url="wss://example.org/s">'
    '<Parameter name="a" value="b"/></Stream></Connect></Response>',
    "<Response><Say>Calling you back.</Say><Leave/></Response>",
    '<Response><Say language="cmn-CN" voice="Polly.Zhiyu-Neural">您好</Say></Response>',
    '<Response><Say language="cmn-CN" voice="Google.cmn-CN-Standard-A">您好</Say></Response>',
    "<Response><Say>ok</Say><!-- a comment --></Response>",
]

INVALID = [
    ("<Response><Say><Gather/></Say></Response>", "Gather"),
    ("<Response><Foo/></Response>", "Foo"),
    ('<Response><Gather numDigits="one"/></Response>', "numDigits"),
    ("<Response><Gather><Record/></Gather></Response>", "Record"),
    ('<Response><Say voice="Polly.Zhiyu-Bogus">x</Say></Response>', "voice"),
    ('<Response><Reject reason="nope"/></Response>', "reason"),
    ("<Say>x</Say>", "not <Response>"),
    ("<Response><Say>x</Response>", "well-formed"),
    ("", "empty"),
    ("<Response><Connect><Room>r</Room></Connect></Response>", "exactly one <Stream>"),
    ('<Response><Connect><Stream url="wss://x/s" bogus="1"/></Connect></Response>', "bogus"),
    ("<Response><Connect><Stream/></Connect></Response>", "needs a url"),
    ('<Response><Leave reason="x"/></Response>', "<Leave>"),
    ("<Response><Gather><Leave/></Gather></Response>", "Leave"),
    ('<Response><Start><Stream url="https://x/s"/></Start></Response>', "wss://"),
    ('<Response><Start><Stream url="wss://x/s?call=1"/></Start></Response>', "query string"),
]


@pytest.mark.parametrize("doc", VALID)
def test_valid_twiml_has_no_problems(doc):
    assert validate_twiml(doc) == []
    assert validate_twiml(doc.encode()) == []


@pytest.mark.parametrize(("doc", "expected"), INVALID)
def test_invalid_twiml_is_reported(doc, expected):
    problems = validate_twiml(doc)
    assert problems
    assert any(expected in p for p in problems), problems


def test_size_limit_is_64_kb_of_bytes():
    def doc(n: int) -> str:
        return "<Response><Say>" + "a" * n + "</Say></Response>"

    shell = len(doc(0))
    assert validate_twiml(doc(MAX_TWIML_BYTES - shell)) == []
    problems = validate_twiml(doc(MAX_TWIML_BYTES - shell + 1))
    assert len(problems) == 1
    assert "64 kB" in problems[0]


def test_entities_are_not_expanded():
    doc = (
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response><Say>&x;</Say></Response>'
    )
    problems = validate_twiml(doc)
    assert any("DOCTYPE" in p for p in problems)
    assert "root:" not in "".join(problems)


def test_the_list_of_schema_gaps_stays_short():
    assert len(KNOWN_GAPS) == 4
