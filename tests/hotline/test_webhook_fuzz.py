"""Hostile input: any signed parameters on any webhook get a valid answer, never a 500."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.sim.validate import validate_twiml
from tests.helpers import TEST_ACCOUNT_SID, new_call_sid

TEXT = st.text(max_size=80)  # any unicode, including control characters and surrogate-free junk
VALUES = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "",
            "anonymous",
            "+266696687",
            "+8613800138000",
            "9" * 300,
            "hangup",
            "-1",
            "ringing",
            "completed",
            "in-progress",
            "nan",
            "1e999",
            "%00",
            "<Say/>",
        ]
    ),
)
KNOWN = [
    "CallSid",
    "From",
    "To",
    "Caller",
    "Called",
    "CallStatus",
    "Digits",
    "Direction",
    "SequenceNumber",
    "Timestamp",
    "CallDuration",
    "RecordingUrl",
    "RecordingDuration",
    "RecordingSid",
    "QueueResult",
    "QueueTime",
    "QueuePosition",
    "DequeingCallSid",
    "DialCallStatus",
    "DialCallDuration",
    "DialCallSid",
    "SpeechResult",
    "Confidence",
    "AccountSid",
]
PARAMS = st.dictionaries(st.one_of(st.sampled_from(KNOWN), TEXT.filter(bool)), VALUES, max_size=12)
PATHS = st.sampled_from(
    [
        "/voice/incoming",
        "/voice/step?node=main_menu&seq=3",
        "/voice/step?node=report_problem&seq=2",
        "/voice/step?node=case_password&seq=4",
        "/voice/step?node=operator&seq=9",
        "/voice/step?node=%E5%BC%A0&seq=x",
        "/voice/step",
        "/voice/status",
        "/voice/recording",
        "/voice/queue-wait",
        "/voice/queue-key",
        "/voice/incoming?flow=survey&callback=999999",
        "/voice/incoming?flow=nope&callback=x",
        "/voice/agent/answer?agent=nobody",
        "/voice/agent/bridged?agent=nobody",
        "/voice/agent/dial-done?agent=nobody",
        "/voice/agent/status?agent=nobody",
        "/voice/callback/agent?attempt=999999",
        "/voice/callback/customer?attempt=x",
        "/voice/callback/dialled?attempt=999999",
        "/voice/callback/status?attempt=999999&leg=agent",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, params=PARAMS, real_sid=st.booleans())
def test_any_signed_webhook_input_gets_a_valid_answer(
    twilio_post: Any, path: str, params: dict[str, str], real_sid: bool
) -> None:
    if real_sid:
        params = {**params, "CallSid": new_call_sid(), "AccountSid": TEST_ACCOUNT_SID}
    response = twilio_post(path, params)
    assert response.status_code in (200, 204), (path, params, response.data[:300])
    if response.status_code == 200 and response.data:
        assert response.mimetype == "text/xml"
        assert validate_twiml(response.data) == [], (path, params, response.data[:500])
