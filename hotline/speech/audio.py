"""Telephone audio without `audioop` (gone in Python 3.13): G.711 µ-law ↔ 16-bit PCM by lookup
table, 20 ms framing, decimation to 8 kHz, and WAV files read with their format checked."""

from __future__ import annotations

import io
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TELEPHONE_RATE = 8000
FRAME_MS = 20
_BIAS = 0x84


class AudioError(ValueError):
    """Audio the pipeline cannot use, with a message fit for an operator."""


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -sample if sign else sample


_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _linear_to_ulaw(sample: int) -> int:
    """The Sun G.711 reference on the 14-bit value (as audioop did): bit-exact with it."""
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + (_BIAS >> 2)
    segment = next((i for i, end in enumerate(_SEG_END) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


# 256 two-byte little-endian samples, one per µ-law byte: decoding is a table join.
_DECODE: tuple[bytes, ...] = tuple(struct.pack("<h", _ulaw_to_linear(b)) for b in range(256))
# One µ-law byte per 16-bit sample value, indexed by the sample as unsigned (s & 0xFFFF).
_ENCODE = bytes(_linear_to_ulaw(s - 65536 if s >= 32768 else s) for s in range(65536))


def ulaw_to_pcm(data: bytes) -> bytes:
    """G.711 µ-law bytes → 16-bit little-endian mono PCM (twice as many bytes)."""
    return b"".join(map(_DECODE.__getitem__, data))


def pcm_to_ulaw(pcm: bytes) -> bytes:
    """16-bit little-endian mono PCM → G.711 µ-law (an odd trailing byte is dropped)."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    return bytes(_ENCODE[s & 0xFFFF] for s in samples)


def telephone_channel(pcm: bytes) -> bytes:
    """What survives a G.711 line: 8 kHz PCM through µ-law and back."""
    return ulaw_to_pcm(pcm_to_ulaw(pcm))


def frames(
    data: bytes, *, rate: int = TELEPHONE_RATE, ms: int = FRAME_MS, width: int = 2
) -> Iterator[bytes]:
    """Consecutive `ms` chunks of audio (the last one may be shorter)."""
    size = rate * ms // 1000 * width
    for start in range(0, len(data), size):
        yield data[start : start + size]


def silence(seconds: float, *, rate: int = TELEPHONE_RATE) -> bytes:
    return b"\0\0" * int(rate * seconds)


def rms(pcm: bytes) -> float:
    """Root-mean-square level of 16-bit PCM (0 for empty input)."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    return float((sum(s * s for s in samples) / len(samples)) ** 0.5)


def decimate_to_8k(pcm: bytes, rate: int) -> bytes:
    """Bring 16/24/32/48 kHz PCM down to 8 kHz: a moving-average low-pass, then every n-th sample.

    Crude but enough for an operator's check of "how would this sound on the phone"; telephone
    audio itself is never resampled (and never upsampled: that costs accuracy).
    """
    if rate == TELEPHONE_RATE:
        return pcm
    if rate < TELEPHONE_RATE or rate % TELEPHONE_RATE:
        raise AudioError(
            f"cannot bring {rate} Hz audio to 8000 Hz: use 8000, 16000, 24000, 32000 or 48000 Hz"
        )
    step = rate // TELEPHONE_RATE
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    out = array(
        "h",
        (int(sum(samples[i : i + step]) / step) for i in range(0, len(samples) - step + 1, step)),
    )
    return out.tobytes()


@dataclass(frozen=True)
class Audio:
    """16-bit little-endian mono PCM and its sample rate."""

    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


_PCM, _ULAW, _EXTENSIBLE = 1, 7, 0xFFFE


def read_wav(source: bytes | str | Path) -> Audio:
    """A WAV file as 16-bit PCM: PCM 16-bit or G.711 µ-law, mono, 8–48 kHz.

    Raises AudioError naming what is wrong (not a WAV, truncated, stereo, 8-bit, A-law…).
    """
    name = str(source) if not isinstance(source, bytes) else "audio"
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise AudioError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    body: bytes | None = None
    stream = io.BytesIO(data[12:])
    while True:
        header = stream.read(8)
        if len(header) < 8:
            break
        chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
        chunk = stream.read(size)
        if size % 2:
            stream.read(1)
        if chunk_id == b"fmt ":
            if len(chunk) < 16:
                raise AudioError(f"{name}: corrupt WAV (short fmt chunk)")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", chunk[:16])
            if tag == _EXTENSIBLE and len(chunk) >= 26:
                tag = struct.unpack("<H", chunk[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            body = chunk  # a truncated file keeps what arrived; checked below
            if len(chunk) < size and not chunk:
                break
    if fmt is None:
        raise AudioError(f"{name}: corrupt WAV (no fmt chunk)")
    if body is None:
        raise AudioError(f"{name}: corrupt WAV (no data chunk)")
    tag, channels, rate, bits = fmt
    if channels != 1:
        raise AudioError(f"{name}: {channels} channels; only mono audio is supported")
    if not 8000 <= rate <= 48000:
        raise AudioError(f"{name}: sample rate {rate} Hz is not supported (8000–48000 Hz)")
    if tag == _PCM and bits == 16:
        pcm = body[: len(body) - len(body) % 2]
    elif tag == _ULAW and bits == 8:
        pcm = ulaw_to_pcm(body)
    else:
        kind = {_PCM: f"{bits}-bit PCM", 6: "A-law", 3: "floating point"}.get(tag, f"format {tag}")
        raise AudioError(f"{name}: {kind} is not supported; use 16-bit PCM or µ-law WAV")
    return Audio(pcm=pcm, rate=rate)


def wav_bytes(pcm: bytes, rate: int = TELEPHONE_RATE) -> bytes:
    """16-bit mono PCM wrapped as a WAV file (as Twilio stores recordings)."""
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buf.getvalue()
