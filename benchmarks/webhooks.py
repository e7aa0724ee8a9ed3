"""Webhooks: signed voice webhooks under gunicorn beside a bare Flask TwiML app, interleaved."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

from benchmarks.common import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Server,
    median,
    percentile,
    python_module,
    read_access_log,
    run_json,
    running,
    stats,
)

NAME = "webhooks"
APPS = ("hotline", "bare")
KINDS = ("incoming", "step", "status")
RATE = 200.0  # req/s of the fixed-rate phase: DESIGN.md's latency target is at this rate
CLIENTS = 16  # closed loop: as many clients as the server has threads (2 workers × 8)
MODES = {
    "quick": {"rounds": 2, "warmup_s": 1.0, "fixed_s": 4.0, "closed_s": 3.0},
    "full": {"rounds": 4, "warmup_s": 3.0, "fixed_s": 15.0, "closed_s": 10.0},
}
TARGET_SERVER_P99_MS = 15.0
TARGET_RATIO = 0.5


def run(quick: bool) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    cfg = MODES[mode]
    servers = {
        "hotline": Server("hotline", "hotline:create_app()", hotline=True),
        "bare": Server("bare", "benchmarks.bare_app:app", hotline=False),
    }
    turns: list[dict[str, Any]] = []
    access: dict[str, list[Any]] = {}
    server_log_problems: dict[str, list[str]] = {}
    with running(*servers.values()):
        for rnd in range(1, cfg["rounds"] + 1):
            # A B A B: both apps are up the whole time and take turns, so drift on this shared
            # machine lands on both sides of the ratio.
            for app in APPS:
                server = servers[app]
                command = python_module(
                    "benchmarks.loadgen",
                    "webhooks",
                    "--url", server.url,
                    "--token", AUTH_TOKEN,
                    "--account-sid", ACCOUNT_SID,
                    "--app", app,
                    "--tag", f"r{rnd}",
                    "--warmup-s", str(cfg["warmup_s"]),
                    "--fixed-s", str(cfg["fixed_s"]),
                    "--rate", str(RATE),
                    "--closed-s", str(cfg["closed_s"]),
                    "--clients", str(CLIENTS),
                )  # fmt: skip
                budget = cfg["warmup_s"] + cfg["fixed_s"] + cfg["closed_s"] + 60
                result = run_json(command, timeout_s=budget)
                result["round"] = rnd
                turns.append(result)
        time.sleep(0.3)  # gunicorn writes the access line after the answer: let the last land
        for app, server in servers.items():
            access[app] = read_access_log(server.access_log)
            server_log_problems[app] = server.unexpected_errors()
        settings = {
            "workers": servers["hotline"].workers,
            "threads": servers["hotline"].threads,
            "worker_class": "gthread",
            "config": "python:hotline.gunicorn_conf",
        }
    return summarise(mode, cfg, turns, access, server_log_problems, settings)


def summarise(
    mode: str,
    cfg: dict[str, Any],
    turns: list[dict[str, Any]],
    access: dict[str, list[Any]],
    server_log_problems: dict[str, list[str]],
    gunicorn: dict[str, Any],
) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for app in APPS:
        mine = [t for t in turns if t["app"] == app]
        rows = [row for t in mine for row in t["rows"]]
        outcomes = Counter((r[0], r[2]) for r in rows)
        client: dict[str, Any] = {}
        for phase in ("fixed", "closed"):
            client[phase] = {
                kind: stats(r[4] for r in rows if r[0] == phase and r[1] == kind and r[2] == "ok")
                for kind in KINDS
            }
        server = server_times(access[app])
        per_round_server = {
            f"r{t['round']}": {
                kind: _p50_p99(
                    a.micros / 1000
                    for a in access[app]
                    if a.tag == f"r{t['round']}/fixed" and a.kind == kind
                )
                for kind in KINDS
            }
            for t in mine
        }
        throughput = [t["phases"]["closed"]["req_per_s"] for t in mine]
        # Lines without a bench tag are the readiness probe (a 404 on the bare app): not load.
        non_2xx_logged = sum(1 for a in access[app] if a.tag != "-" and not 200 <= a.status < 300)
        apps[app] = {
            "closed_loop_req_per_s": {
                "per_round": throughput,
                "median": median(throughput),
                "min": min(throughput),
                "max": max(throughput),
                "n_rounds": len(throughput),
            },
            "fixed_rate": {
                "target_req_per_s": RATE,
                "achieved_req_per_s_per_round": [
                    t["phases"]["fixed"]["achieved_req_per_s"] for t in mine
                ],
                "send_lag_ms": stats(r[5] for r in rows if r[0] == "fixed"),
            },
            "server_ms": server,
            "server_ms_fixed_per_round": per_round_server,
            "client_ms": client,
            "errors": {
                "non_2xx_or_no_answer": sum(
                    n for (_, o), n in outcomes.items() if o == "http-error"
                ),
                "wrong_answer": sum(n for (_, o), n in outcomes.items() if o == "wrong-answer"),
                "non_2xx_in_access_log": non_2xx_logged,
                "by_phase": {f"{p}/{o}": n for (p, o), n in sorted(outcomes.items())},
                "examples": [e for t in mine for e in t["examples"]][:5],
                "server_log": server_log_problems[app][:20],
            },
            "requests": len(rows),
        }
    ratios = ratios_of(apps, turns)
    hot = apps["hotline"]
    fixed_server = hot["server_ms"]["fixed"]
    return {
        "benchmark": NAME,
        "mode": mode,
        "settings": {
            **cfg,
            "rate_req_per_s": RATE,
            "closed_loop_clients": CLIENTS,
            "gunicorn": gunicorn,
            "flow": "incoming → step (Digits=2) → status completed, unique CallSid per call",
            "units": "ms; req/s; spread = q1/q3, iqr, min/max",
        },
        "apps": apps,
        "ratios": ratios,
        "targets": {
            "server_p99_ms_at_200_req_per_s": TARGET_SERVER_P99_MS,
            "server_p99_met": {
                k: fixed_server[k].get("p99", float("inf")) <= TARGET_SERVER_P99_MS for k in KINDS
            },
            "throughput_ratio": TARGET_RATIO,
            "throughput_ratio_met": ratios["throughput_hotline_over_bare"]["median"]
            >= TARGET_RATIO,
        },
        "errors_total": sum(
            apps[a]["errors"]["non_2xx_or_no_answer"] + apps[a]["errors"]["wrong_answer"]
            for a in APPS
        ),
    }


def server_times(lines: list[Any]) -> dict[str, Any]:
    """Gunicorn's request time (µs → ms) by phase and kind, pooled over the rounds."""
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for line in lines:
        phase = line.tag.partition("/")[2]
        if phase and line.kind in KINDS:
            grouped[phase, line.kind].append(line.micros / 1000)
    return {
        phase: {kind: stats(grouped[phase, kind]) for kind in KINDS}
        for phase in ("fixed", "closed", "warmup")
    }


def ratios_of(apps: dict[str, Any], turns: list[dict[str, Any]]) -> dict[str, Any]:
    by_round = {(t["app"], t["round"]): t["phases"]["closed"]["req_per_s"] for t in turns}
    rounds = sorted({t["round"] for t in turns})
    per_round = [
        round(by_round["hotline", r] / by_round["bare", r], 3)
        for r in rounds
        if by_round.get(("bare", r))
    ]
    hot, bare = apps["hotline"], apps["bare"]
    out: dict[str, Any] = {
        "throughput_hotline_over_bare": {
            "per_round": per_round,
            "median": round(median(per_round), 3),
            "min": min(per_round),
            "max": max(per_round),
            "of_medians": round(
                hot["closed_loop_req_per_s"]["median"] / bare["closed_loop_req_per_s"]["median"], 3
            ),
        }
    }
    for source in ("server_ms", "client_ms"):
        for stat in ("median", "p99"):
            out[f"{source}_{stat}_fixed_hotline_over_bare"] = {
                kind: _ratio(hot[source]["fixed"][kind], bare[source]["fixed"][kind], stat)
                for kind in KINDS
            }
    return out


def _ratio(a: dict[str, Any], b: dict[str, Any], stat: str) -> float | None:
    if not a.get(stat) or not b.get(stat):
        return None
    return round(a[stat] / b[stat], 2)


def _p50_p99(samples: Any) -> dict[str, Any]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 50), 3),
        "p99": round(percentile(ordered, 99), 3),
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, hotline, bare, ratio, target) rows for the summary printed at the end."""
    hot, bare, ratios = result["apps"]["hotline"], result["apps"]["bare"], result["ratios"]
    tput = ratios["throughput_hotline_over_bare"]
    rows = [
        (
            f"closed-loop req/s ({CLIENTS} clients), median [min-max]",
            _range(hot["closed_loop_req_per_s"]),
            _range(bare["closed_loop_req_per_s"]),
            f"{tput['median']:.2f} [{tput['min']:.2f}-{tput['max']:.2f}]",
            f">= {TARGET_RATIO:.2f}x " + _ok(result["targets"]["throughput_ratio_met"]),
        ),
        (
            f"fixed-rate achieved req/s (target {RATE:g})",
            _list(hot["fixed_rate"]["achieved_req_per_s_per_round"]),
            _list(bare["fixed_rate"]["achieved_req_per_s_per_round"]),
            "",
            f"send lag p99 {hot['fixed_rate']['send_lag_ms'].get('p99', 0):.1f}"
            f"/{bare['fixed_rate']['send_lag_ms'].get('p99', 0):.1f} ms",
        ),
    ]
    for kind in KINDS:
        h, b = hot["server_ms"]["fixed"][kind], bare["server_ms"]["fixed"][kind]
        met = result["targets"]["server_p99_met"][kind]
        rows.append(
            (
                f"server ms @{RATE:g}/s {kind}: p50 / p99 (n)",
                _pp(h),
                _pp(b),
                _ratio_text(ratios["server_ms_median_fixed_hotline_over_bare"][kind]),
                f"p99 <= {TARGET_SERVER_P99_MS:g} " + _ok(met),
            )
        )
    for kind in KINDS:
        h, b = hot["client_ms"]["fixed"][kind], bare["client_ms"]["fixed"][kind]
        rows.append(
            (
                f"client ms @{RATE:g}/s {kind}: p50 / p99 (n)",
                _pp(h),
                _pp(b),
                _ratio_text(ratios["client_ms_median_fixed_hotline_over_bare"][kind]),
                "",
            )
        )
    errors = [
        result["apps"][a]["errors"]["non_2xx_or_no_answer"]
        + result["apps"][a]["errors"]["wrong_answer"]
        for a in APPS
    ]
    rows.append(
        (
            "errors (non-2xx / no answer / wrong answer)",
            str(errors[0]),
            str(errors[1]),
            "",
            "must be 0 " + _ok(sum(errors) == 0),
        )
    )
    return rows


def _range(s: dict[str, Any]) -> str:
    return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"


def _list(values: list[Any]) -> str:
    return ", ".join(f"{v:.0f}" if v is not None else "-" for v in values)


def _pp(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "-"
    return f"{s['median']:.2f} / {s['p99']:.2f} ({s['n']})"


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"
