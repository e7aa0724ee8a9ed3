"""Call load: whole simulated DTMF calls at rising concurrency against the hotline (gunicorn)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Server,
    python_module,
    read_access_log,
    run_json,
    running,
    stats,
)

NAME = "call_load"
KEYS = "2,4,1,2"  # English, FAQ, fees, end: 5 voice requests and 3 status callbacks per call
KINDS = ("incoming", "step", "status")
MODES = {
    "quick": {"steps": (25, 50), "calls_per_client": 4, "warmup_calls": 20},
    "full": {"steps": (50, 100, 200, 300), "calls_per_client": 4, "warmup_calls": 50},
}
TARGET_N = 200


def run(quick: bool) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    cfg = MODES[mode]
    server = Server("hotline", "hotline:create_app()", hotline=True)
    steps: list[dict[str, Any]] = []
    with running(server):
        # Warm-up: both workers connected to SQLite and Redis, flows parsed, code paths hot.
        _place(server, cfg["warmup_calls"], 10, seed=999)
        for seed, n in enumerate(cfg["steps"], start=1):
            offset = server.access_log.stat().st_size
            calls = n * cfg["calls_per_client"]
            started = time.perf_counter()
            result = _place(server, calls, n, seed=seed)
            wall = time.perf_counter() - started
            time.sleep(0.3)  # gunicorn logs a request after answering it: let the last land
            lines = read_access_log(server.access_log, offset)
            report = result["report"]
            steps.append(
                {
                    "concurrency": n,
                    "calls": report["calls"],
                    "failed": report["failed"],
                    "incomplete": result["incomplete"],
                    "calls_per_s": round(report["calls_per_s"], 2),
                    "requests": report["requests"],
                    "wall_s": round(report["wall_s"], 3),
                    "process_wall_s": round(wall, 3),
                    "client_ms": {k: stats(result["samples"].get(k, [])) for k in KINDS},
                    "server_ms": {
                        k: stats(a.micros / 1000 for a in lines if _kind(a.path) == k)
                        for k in KINDS
                    },
                    "non_2xx_in_access_log": sum(1 for a in lines if not 200 <= a.status < 300),
                    "ended_by": report["ended_by"],
                    "shapes": result["shapes"],
                    "failures": report["failures"],
                    "incomplete_examples": result["incomplete_examples"],
                }
            )
        server_log = server.unexpected_errors()
    tested = [s["concurrency"] for s in steps]
    clean = [s["concurrency"] for s in steps if s["failed"] == 0 and s["incomplete"] == 0]
    # Largest N such that it and every smaller step were clean: one lucky step above a failing
    # one does not count.
    largest = 0
    for step in steps:
        if step["failed"] or step["incomplete"]:
            break
        largest = step["concurrency"]
    return {
        "benchmark": NAME,
        "mode": mode,
        "settings": {
            **cfg,
            "keys": KEYS,
            "gunicorn": {
                "workers": server.workers,
                "threads": server.threads,
                "worker_class": "gthread",
                "config": "python:hotline.gunicorn_conf",
            },
            "load": "hotline.sim.load.run_load in a separate process, one call per thread at once",
            "units": "ms; calls/s; spread = q1/q3, iqr, min/max",
        },
        "steps": steps,
        "zero_failure_concurrencies": clean,
        "largest_zero_failure_n": largest,
        "target_n": TARGET_N,
        # None: every step was clean but none reached the target (quick mode stops at 50).
        "target_met": True if largest >= TARGET_N else (None if clean == tested else False),
        "server_log": server_log[:20],
        "errors_total": sum(s["failed"] + s["incomplete"] for s in steps),
    }


def _place(server: Server, calls: int, concurrency: int, *, seed: int) -> dict[str, Any]:
    command = python_module(
        "benchmarks.loadgen",
        "calls",
        "--url", server.url,
        "--token", AUTH_TOKEN,
        "--account-sid", ACCOUNT_SID,
        "--keys", KEYS,
        "--calls", str(calls),
        "--concurrency", str(concurrency),
        "--seed", str(seed),
    )  # fmt: skip
    return run_json(command, timeout_s=600)


def _kind(path: str) -> str:
    return {"/voice/incoming": "incoming", "/voice/step": "step", "/voice/status": "status"}.get(
        path, "other"
    )


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for s in result["steps"]:
        p99 = " ".join(
            f"{k[:3]} {s['client_ms'][k].get('p99', 0):.0f}/{s['server_ms'][k].get('p99', 0):.0f}"
            for k in KINDS
        )
        rows.append(
            (
                f"N={s['concurrency']}: calls, failed+incomplete, calls/s",
                f"{s['calls']}, {s['failed']}+{s['incomplete']}, {s['calls_per_s']:.1f}",
                "",
                "",
                f"p99 ms client/server: {p99}",
            )
        )
    rows.append(
        (
            "largest N with zero failed calls",
            str(result["largest_zero_failure_n"]),
            "",
            "",
            f">= {TARGET_N} "
            + {True: "ok", False: "MISSED", None: "(not tested at this size)"}[
                result["target_met"]
            ],
        )
    )
    return rows
