"""The Vosk backend: one `Model` per language per process, one recogniser per stream.

The only module that imports `vosk`. Models are loaded explicitly from a path (never by
language name: that downloads at run time) and before any worker forks or threads start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import vosk

from hotline.config import Settings
from hotline.speech import models as catalogue
from hotline.speech.audio import frames
from hotline.speech.grammar import Grammar, vocabulary

log = logging.getLogger(__name__)

vosk.SetLogLevel(-1)  # Kaldi's own logging would flood the worker logs
_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_seed_lock = threading.Lock()
# Loaded models by path: whoever in this process asks again (a CLI command run in-process, a
# second SpeechModels) shares the one Model rather than loading another 0.5 GB.
_by_path: dict[str, Any] = {}
_load_lock = threading.Lock()


@dataclass
class LoadedModel:
    name: str
    language: str
    path: str
    model: Any  # vosk.Model
    load_s: float

    @property
    def vocabulary(self) -> frozenset[str]:
        return vocabulary(self.path)


@dataclass
class SpeechModels:
    """The models this process loaded, per language, and why other languages have none."""

    loaded: dict[str, LoadedModel] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    seed: int = 0

    def get(self, language: str) -> LoadedModel | None:
        if language in self.loaded:
            return self.loaded[language]
        primary = language.split("-")[0].casefold()
        return next(
            (m for lang, m in self.loaded.items() if lang.split("-")[0].casefold() == primary), None
        )

    @property
    def languages(self) -> list[str]:
        return sorted(self.loaded)


def load_models(settings: Settings, *, warm_vocabulary: bool = True) -> SpeechModels:
    """Load every resolved model once (call before forking or starting stream threads)."""
    chosen, problems = catalogue.resolve(settings)
    speech = SpeechModels(missing=dict(problems), seed=settings.speech_seed)
    for language, info in chosen.items():
        start = time.perf_counter()
        try:
            with _load_lock:
                model = _by_path.get(str(info.path))
                if model is None:
                    model = _by_path[str(info.path)] = vosk.Model(str(info.path))
        except Exception as exc:  # vosk raises a bare Exception when Kaldi cannot load
            speech.missing[language] = f"{info.name} failed to load: {exc}"
            log.error("speech: %s model %s failed to load: %s", language, info.path, exc)
            continue
        loaded = LoadedModel(
            info.name, language, str(info.path), model, time.perf_counter() - start
        )
        speech.loaded[language] = loaded
        if warm_vocabulary:
            loaded.vocabulary  # noqa: B018  (read the symbol table now, not on the first call)
        log.info("speech: %s uses %s (loaded in %.1f s)", language, info.name, loaded.load_s)
    if not speech.loaded:
        reasons = "; ".join(f"{k}: {v}" for k, v in speech.missing.items()) or "no model installed"
        log.warning("speech: no model loaded, the IVR is DTMF-only (%s)", reasons)
    return speech


def seed_dither(seed: int) -> None:
    """Kaldi dithers with libc rand(): seeding it makes two decodes of the same audio agree."""
    if seed:
        with _seed_lock:
            _libc.srand(seed)


def new_recogniser(
    model: LoadedModel, rate: int, grammar: Grammar | None = None, *, seed: int = 0
) -> Any:
    seed_dither(seed)
    if grammar is not None:
        recogniser = vosk.KaldiRecognizer(model.model, rate, grammar.to_json())
    else:
        recogniser = vosk.KaldiRecognizer(model.model, rate)
    recogniser.SetWords(True)
    return recogniser


@dataclass
class Result:
    text: str
    words: list[dict[str, Any]]
    audio_s: float
    cpu_s: float

    @property
    def rtf(self) -> float:
        return self.cpu_s / self.audio_s if self.audio_s else 0.0

    @property
    def confidence(self) -> float:
        confs = [float(w.get("conf", 0.0)) for w in self.words]
        return sum(confs) / len(confs) if confs else 0.0


def _parse(raw: str) -> tuple[str, list[dict[str, Any]]]:
    data = json.loads(raw)
    return str(data.get("text", "")).strip(), list(data.get("result") or [])


def recognise(
    model: LoadedModel,
    pcm: bytes,
    rate: int,
    grammar: Grammar | None = None,
    *,
    seed: int = 0,
    chunk_ms: int = 200,
) -> Result:
    """Decode a whole utterance or recording; segments at Vosk's endpoints are joined.

    Audio goes in small chunks: a long C call cannot be interrupted (job timeouts, shutdown).
    """
    start = time.process_time()
    recogniser = new_recogniser(model, rate, grammar, seed=seed)
    texts: list[str] = []
    words: list[dict[str, Any]] = []
    for chunk in frames(pcm, rate=rate, ms=chunk_ms):
        if recogniser.AcceptWaveform(chunk):
            text, ws = _parse(recogniser.Result())
            texts.append(text)
            words.extend(ws)
    text, ws = _parse(recogniser.FinalResult())
    texts.append(text)
    words.extend(ws)
    return Result(
        " ".join(t for t in texts if t), words, len(pcm) / 2 / rate, time.process_time() - start
    )


def words_summary(words: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Words with confidences and times, rounded for storage."""
    return [
        {
            "word": w.get("word", ""),
            "conf": round(float(w.get("conf", 0.0)), 3),
            "start": round(float(w.get("start", 0.0)), 2),
            "end": round(float(w.get("end", 0.0)), 2),
        }
        for w in words
    ]
