"""Hostile Media Streams messages: whatever JSON arrives on the websocket, the listener either
handles it or refuses it with a ProtocolError (the stream logs it and goes on) — never an
exception that would kill the call's stream thread."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.config import Settings
from hotline.redis_store import redis_client
from hotline.speech.channel import SpeechChannel
from hotline.speech.live import CallListener
from tests.helpers import new_call_sid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.binary(max_size=400).map(lambda b: base64.b64encode(b).decode()) | st.text(
    max_size=30
)
messages = st.fixed_dictionaries(
    {"event": st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop", "x", 3])},
    optional={
        "start": st.fixed_dictionaries(
            {},
            optional={
                "callSid": st.just(new_call_sid()) | json_values,
                "mediaFormat": st.fixed_dictionaries(
                    {},
                    optional={"encoding": json_values, "sampleRate": json_values},
                )
                | json_values,
            },
        )
        | json_values,
        "media": st.fixed_dictionaries(
            {}, optional={"payload": payloads | json_values, "track": json_values}
        )
        | json_values,
        "streamSid": json_values,
    },
)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(stream=st.lists(messages, min_size=1, max_size=6))
def test_any_message_sequence_is_handled_or_refused(
    stream: list[dict[str, Any]], ko_models: Any, settings: Settings
) -> None:
    listener = CallListener(
        speech=ko_models,
        channel=SpeechChannel(lambda: redis_client(settings)),
        move=lambda _sid, _url: None,
        min_confidence=0.6,
        seed=1,
    )
    for message in stream:
        # A ProtocolError (a ValueError) is logged by the stream, which goes on; anything
        # else would end the call's stream thread.
        with contextlib.suppress(ValueError):
            listener.handle(message)
    listener.finish()
