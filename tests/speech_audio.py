"""Test speech: Korean phrases synthesised with espeak-ng and brought to 8 kHz with sox.

Synthetic speech is decoded far worse than human speech (reference/speech.md): good enough to
exercise the pipeline and grammars, not to judge free-form accuracy. Files are cached per
session, so each phrase is synthesised once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from functools import cache
from pathlib import Path

ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
_CACHE = Path(tempfile.gettempdir()) / "hotline-test-speech"


@cache
def korean_wav(text: str, *, speed: int = 140) -> bytes:
    """`text` spoken by espeak-ng's Korean voice, as an 8 kHz 16-bit mono WAV."""
    _CACHE.mkdir(exist_ok=True)
    name = hashlib.sha256(f"{text}|{speed}".encode()).hexdigest()[:16]
    out = _CACHE / f"{name}.wav"
    if not out.exists():
        # Made under a private name and renamed: concurrent test runs share this cache.
        with tempfile.TemporaryDirectory(dir=_CACHE) as work:
            raw, narrow = Path(work) / "espeak.wav", Path(work) / "8k.wav"
            say = ["espeak-ng", "-v", "ko", "-s", str(speed), "-w", str(raw), text]
            subprocess.run(say, check=True)
            subprocess.run(
                ["sox", str(raw), "-r", "8000", "-b", "16", "-c", "1", str(narrow)], check=True
            )
            os.replace(narrow, out)
    return out.read_bytes()


def allison(name: str) -> bytes:
    """A real telephone prompt (Debian asterisk-core-sounds-en-wav, 8 kHz, CC-BY-SA-3.0)."""
    return (ALLISON / f"{name}.wav").read_bytes()
