"""Grammar mode with the real model: the vocabulary from the graph, unknown words split into
known pieces, the nearest phrase decided, and the live listener fed like Twilio feeds it."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hotline.config import Settings
from hotline.redis_store import redis_client
from hotline.sim.media import telephone_ulaw
from hotline.speech.audio import read_wav, telephone_channel
from hotline.speech.channel import Expectation, SpeechChannel
from hotline.speech.grammar import build_grammar, decide, digit_grammar, split_word
from hotline.speech.live import CallListener, ProtocolError
from hotline.speech.recognizer import recognise
from tests.helpers import new_call_sid
from tests.speech_audio import korean_wav


def test_vocabulary_comes_from_the_graph(ko_models: Any) -> None:
    vocab = ko_models.get("ko-KR").vocabulary
    assert len(vocab) > 400_000 and "상담원" in vocab and "사건조회" not in vocab


def test_unknown_words_are_split_into_known_pieces(ko_models: Any) -> None:
    vocab = ko_models.get("ko-KR").vocabulary
    assert split_word("사건조회", vocab) == ["사건", "조회"]
    assert split_word("상담원", vocab) == ["상담원"]
    assert split_word("☃☃", vocab) is None
    grammar = build_grammar({"사건조회": "1", "상담원": "0", "☃☃": "9"}, vocab)
    assert dict(grammar.forms) == {"사건 조회": "1", "상담원": "0"}
    assert grammar.dropped == ("☃☃",)
    # Serialised as the words themselves: vosk treats \\uXXXX escapes as unknown words.
    assert "상담원" in grammar.to_json()


def test_nearest_phrase_and_its_confidence() -> None:
    grammar = build_grammar({"상담원": "0", "민원 접수": "2"}, frozenset())
    sure = decide(grammar, "상담원", [{"word": "상담원", "conf": 1.0}])
    assert sure is not None and sure.key == "0" and sure.confidence == 1.0
    mixed = decide(
        grammar, "민원 상담원", [{"word": "민원", "conf": 1.0}, {"word": "상담원", "conf": 0.5}]
    )
    assert mixed is not None and mixed.key == "0" and mixed.confidence < 0.6
    assert decide(grammar, "", []) is None


def test_digit_words_become_digits(ko_models: Any) -> None:
    grammar = digit_grammar("ko-KR", ko_models.get("ko-KR").vocabulary)
    decision = decide(grammar, "삼 오 삼", [{"conf": 1.0}] * 3)
    assert decision is not None and decision.key == "353"


@pytest.mark.parametrize(
    ("text", "key"), [("상담원", "0"), ("한국어", "3"), ("네", "1"), ("아니요", "2")]
)
def test_telephone_speech_is_decided(ko_models: Any, text: str, key: str) -> None:
    model = ko_models.get("ko-KR")
    phrases = {"상담원": "0", "한국어": "3", "네": "1", "아니요": "2"}
    grammar = build_grammar(phrases, model.vocabulary)
    audio = read_wav(korean_wav(text))
    result = recognise(model, telephone_channel(audio.pcm), 8000, grammar, seed=1)
    decision = decide(grammar, result.text, result.words)
    assert decision is not None and decision.key == key, result.text
    assert result.rtf < 5  # sanity only: speed is measured in benchmarks/speech.py


def _listener(
    ko_models: Any, settings: Settings, moved: list[str]
) -> tuple[CallListener, SpeechChannel, str]:
    channel = SpeechChannel(lambda: redis_client(settings))
    sid = new_call_sid()
    channel.expect(
        Expectation(
            sid,
            "main_menu",
            7,
            "menu",
            "ko-KR",
            {"ko-KR": {"상담원": "0", "민원 접수": "2"}},
            "http://x/step",
        )
    )
    listener = CallListener(
        speech=ko_models,
        channel=channel,
        move=lambda _, url: moved.append(url),
        min_confidence=0.6,
        seed=1,
    )
    return listener, channel, sid


@pytest.mark.parametrize(
    "chunk", [160, 33, 1000]
)  # Twilio sends 160 bytes, but any length is valid
def test_listener_decides_whatever_the_chunking(
    ko_models: Any, settings: Settings, chunk: int
) -> None:
    moved: list[str] = []
    listener, channel, sid = _listener(ko_models, settings, moved)
    assert listener.handle({"event": "connected", "protocol": "Call", "version": "1.0.0"})
    assert listener.handle(
        {
            "event": "start",
            "streamSid": "MZ1",
            "start": {
                "callSid": sid,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )
    ulaw = telephone_ulaw(korean_wav("상담원")) + b"\xff" * 8000
    for offset in range(0, len(ulaw), chunk):
        payload = base64.b64encode(ulaw[offset : offset + chunk]).decode()
        listener.handle(
            {
                "event": "media",
                "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload},
            }
        )
    assert listener.handle({"event": "mark", "mark": {"name": "x"}})
    assert not listener.handle({"event": "stop", "stop": {}})
    result = channel.take_result(sid, "main_menu")
    assert result is not None and result.key == "0" and result.sure and result.seq == 7
    assert moved == ["http://x/step"] and listener.timing.decisions


def test_listener_refuses_what_breaks_the_protocol(ko_models: Any, settings: Settings) -> None:
    listener, _, sid = _listener(ko_models, settings, [])
    with pytest.raises(ProtocolError, match="before start"):
        listener.handle({"event": "media", "media": {"payload": ""}})
    with pytest.raises(ProtocolError, match="callSid"):
        listener.handle({"event": "start", "start": {}})
    with pytest.raises(ProtocolError, match="media format"):
        listener.handle(
            {
                "event": "start",
                "start": {
                    "callSid": sid,
                    "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 16000},
                },
            }
        )
    listener.handle({"event": "start", "start": {"callSid": sid}})
    with pytest.raises(ProtocolError, match="base64"):
        listener.handle({"event": "media", "media": {"payload": "***"}})
    with pytest.raises(ProtocolError, match="unknown event"):
        listener.handle({"event": "bogus"})


def test_speech_after_the_call_moved_on_is_dropped(ko_models: Any, settings: Settings) -> None:
    moved: list[str] = []
    listener, channel, sid = _listener(ko_models, settings, moved)
    listener.handle({"event": "start", "start": {"callSid": sid}})
    ulaw = telephone_ulaw(korean_wav("상담원"))
    listener.audio(ulaw[: len(ulaw) // 2])  # speech still going on…
    assert listener.utterance is not None
    channel.clear_expectation(sid)  # …when the caller keys something and the call moves on
    listener.audio(b"\xff" * 8000)
    assert channel.take_result(sid, "main_menu") is None and moved == []
