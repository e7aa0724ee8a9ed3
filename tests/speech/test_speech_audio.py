"""Audio without audioop: G.711 µ-law against sox, WAV checks, framing, decimation; and energy
endpointing on real telephone prompts (Debian's asterisk-core-sounds-en-wav)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.speech.audio import (
    AudioError,
    decimate_to_8k,
    frames,
    pcm_to_ulaw,
    read_wav,
    silence,
    ulaw_to_pcm,
    wav_bytes,
)
from hotline.speech.endpoint import Edge, Endpointer
from tests.speech_audio import allison


def test_ulaw_matches_sox_both_ways(tmp_path: Path) -> None:
    pcm = struct.pack("<65536h", *range(-32768, 32768))
    src = tmp_path / "ramp.wav"
    src.write_bytes(wav_bytes(pcm))
    ulaw = tmp_path / "ramp.ul"
    subprocess.run(["sox", "-D", str(src), "-t", "ul", "-e", "mu-law", str(ulaw)], check=True)
    ours, theirs = pcm_to_ulaw(pcm), ulaw.read_bytes()
    # sox rounds at segment edges its own way (ours is bit-exact with the Sun reference that
    # audioop used): agree almost everywhere, and never by more than one step.
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert len(differ) < 65536 // 100
    level = struct.unpack("<256h", ulaw_to_pcm(bytes(range(256))))
    for i in differ:  # neighbouring levels: at most one quantisation step apart
        assert abs(level[ours[i]] - level[theirs[i]]) <= 1024
    back = tmp_path / "back.raw"
    every = tmp_path / "every.ul"
    every.write_bytes(bytes(range(256)))
    subprocess.run(
        ["sox", "-D", "-t", "ul", "-r", "8000", "-c", "1", str(every), "-t", "s16", str(back)],
        check=True,
    )
    assert ulaw_to_pcm(bytes(range(256))) == back.read_bytes()


def test_known_ulaw_codes() -> None:
    assert pcm_to_ulaw(b"\0\0") == b"\xff"  # silence
    assert ulaw_to_pcm(b"\x00\x80") == struct.pack("<2h", -32124, 32124)


@given(st.binary(max_size=400))
def test_decode_then_encode_is_stable(data: bytes) -> None:
    # 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
    assert pcm_to_ulaw(ulaw_to_pcm(data)) == data.replace(b"\x7f", b"\xff")


def test_frames_cut_any_length() -> None:
    pcm = silence(0.05)  # 50 ms: two whole 20 ms frames and a 10 ms tail
    assert [len(f) for f in frames(pcm)] == [320, 320, 160]


def test_decimation_keeps_duration_and_refuses_odd_rates() -> None:
    assert len(decimate_to_8k(silence(1.0, rate=16000), 16000)) == len(silence(1.0))
    with pytest.raises(AudioError, match="11025"):
        decimate_to_8k(silence(0.1, rate=11025), 11025)


def _wav(
    tag: int, channels: int, rate: int, bits: int, data: bytes, *, fmt_size: int = 16
) -> bytes:
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits
    )
    fmt = fmt[:fmt_size]
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (b"", "not a WAV file"),
        (b"ID3\x04" + b"\0" * 40, "not a WAV file"),
        (_wav(1, 2, 8000, 16, b"\0" * 8), "2 channels"),
        (_wav(1, 1, 8000, 8, b"\0" * 8), "8-bit PCM is not supported"),
        (_wav(6, 1, 8000, 8, b"\0" * 8), "A-law"),
        (_wav(3, 1, 8000, 32, b"\0" * 8), "floating point"),
        (_wav(1, 1, 4000, 16, b"\0" * 8), "4000 Hz"),
        (_wav(1, 1, 8000, 16, b"\0" * 8, fmt_size=10), "short fmt chunk"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no fmt chunk"),
        (_wav(1, 1, 8000, 16, b"")[:36], "no data chunk"),
    ],
)
def test_bad_wav_files_are_named(audio: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        read_wav(audio)


def test_ulaw_wav_and_truncated_pcm_are_read(tmp_path: Path) -> None:
    assert read_wav(_wav(7, 1, 8000, 8, b"\xff" * 80)).pcm == b"\0" * 160
    truncated = wav_bytes(silence(1.0))[:-1001]  # a download cut short: what arrived is used
    assert read_wav(truncated).seconds == pytest.approx(0.937, abs=0.01)
    with pytest.raises(AudioError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


def test_telephone_prompts_are_real_8k_audio() -> None:
    audio = read_wav(allison("vm-goodbye"))
    assert audio.rate == 8000 and 0.3 < audio.seconds < 3


def _edges(pcm: bytes, endpointer: Endpointer) -> list[tuple[Edge, int]]:
    return [(e, endpointer.elapsed_ms) for f in frames(pcm) if (e := endpointer.feed(f))]


@pytest.mark.parametrize("prompt", ["vm-goodbye", "auth-thankyou", "vm-password"])
def test_endpointing_finds_the_prompt_in_silence(prompt: str) -> None:
    speech = read_wav(allison(prompt)).pcm
    pcm = silence(1.0) + speech + silence(1.0)
    endpointer = Endpointer()
    edges = _edges(pcm, endpointer)
    assert edges[0][0] is Edge.START and edges[-1][0] is Edge.END, edges
    speech_ms = len(speech) * 1000 // 16000
    assert 900 <= endpointer.speech_started_ms <= 1000 + speech_ms // 2
    assert edges[-1][1] <= 1000 + speech_ms + endpointer.hangover_ms + 100


def test_silence_and_hum_have_no_speech() -> None:
    endpointer = Endpointer()
    assert _edges(silence(3.0), endpointer) == []
    hum = struct.pack("<8000h", *([40, -40] * 4000))  # steady low-level noise
    assert _edges(hum * 2, endpointer) == []


def test_endless_speech_is_cut_at_max_length() -> None:
    loud = read_wav(allison("vm-goodbye")).pcm * 20
    endpointer = Endpointer(max_ms=2000)
    edges = _edges(loud, endpointer)
    assert edges[1][0] is Edge.END and edges[1][1] - edges[0][1] <= 2100
