"""SSE fan-out: how long a KPI change takes to reach 100 open supervisor dashboards.

Measured: a signed `/voice/incoming` (a new call: the KPI listener counts it and announces
it on the live channel `kpis`) → the `kpis` event read on each of 100 open
`/console/live/kpis` streams (the dashboard's own), per stream. Baseline in the same run:
the same with 1 stream open. Rounds alternate (1, 100, 1, 100 …); each round opens its
streams, waits until all are subscribed, sends the events 0.5 s apart, closes the streams.
Load (streams and webhooks) comes from a separate process (`python -m benchmarks.sse_fanout
client …`). Server: gunicorn gthread, 2 workers × 72 threads, 64 streams per process.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests

from benchmarks.common import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BIN,
    ROOT,
    Server,
    machine_info,
    median,
    python_module,
    run_json,
    running,
    stats,
)

NAME = "sse_fanout"
MODES = {"quick": {"rounds": 2, "events": 5}, "full": {"rounds": 4, "events": 20}}
FAN = 100
LOGIN, PASSWORD = "bench-supervisor", "bench supervisor password 1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GAP_S = 0.5
EVENT_TIMEOUT_S = 10.0


# --- the client process -----------------------------------------------------------------------


def _session(url: str) -> requests.Session:
    s = requests.Session()
    token = CSRF.search(s.get(url + "/console/login", timeout=10).text)
    assert token, "no CSRF token on the login page"
    form = {"login": LOGIN, "password": PASSWORD, "csrf_token": token.group(1)}
    r = s.post(url + "/console/login", data=form, timeout=10, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return s


class Stream(threading.Thread):
    def __init__(self, url: str, cookies: Any) -> None:
        super().__init__(daemon=True)
        self.url, self.cookies = url, cookies
        self.ready = threading.Event()
        self.arrivals: list[float] = []
        self.response: requests.Response | None = None
        self.error = ""

    def run(self) -> None:
        try:
            self.response = requests.get(self.url + "/console/live/kpis", cookies=self.cookies,
                                         stream=True, timeout=(10, 60))  # fmt: skip
            if self.response.status_code != 200:
                self.error = f"HTTP {self.response.status_code}"
                self.ready.set()
                return
            for line in self.response.iter_lines(chunk_size=1):
                if line.startswith(b"retry:"):
                    self.ready.set()  # subscribed before the retry line is sent
                elif line == b"event: kpis":
                    self.arrivals.append(time.perf_counter())
        except Exception as exc:
            self.error = self.error or type(exc).__name__
        finally:
            self.ready.set()

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


def _incoming(url: str, index: int) -> tuple[str, str, dict[str, str]]:
    from hotline.sim.call import DEFAULT_TO, call_params
    from hotline.sim.signing import SIGNATURE_HEADER, sign
    from hotline.sim.verbs import new_sid

    params = call_params(new_sid("CA"), ACCOUNT_SID, f"+86138{index:08d}", DEFAULT_TO)
    params |= {"CallStatus": "ringing"}
    target = url + "/voice/incoming"
    headers = {SIGNATURE_HEADER: sign(AUTH_TOKEN, target, params),
               "Content-Type": "application/x-www-form-urlencoded",
               "I-Twilio-Idempotency-Token": str(uuid.uuid4())}  # fmt: skip
    return target, urlencode(params), headers


def client(args: argparse.Namespace) -> dict[str, Any]:
    session = _session(args.url)
    webhook = requests.Session()
    phases: dict[str, list[float]] = {"1": [], str(FAN): []}
    last: dict[str, list[float]] = {"1": [], str(FAN): []}
    missed = {"1": 0, str(FAN): 0}
    errors: list[str] = []
    index = 0
    for _ in range(args.rounds):
        for n in (1, FAN):
            streams = [Stream(args.url, session.cookies) for _ in range(n)]
            for s in streams:
                s.start()
            for s in streams:
                s.ready.wait(30)
            errors += [s.error for s in streams if s.error]
            for _ in range(args.events):
                index += 1
                target, body, headers = _incoming(args.url, index)
                t0 = time.perf_counter()
                r = webhook.post(target, data=body, headers=headers, timeout=15)
                if r.status_code != 200:
                    errors.append(f"webhook HTTP {r.status_code}")
                deadline = time.monotonic() + EVENT_TIMEOUT_S
                got: list[float] = []
                for s in streams:
                    while True:
                        hit = next((a for a in s.arrivals if a >= t0), None)
                        if hit is not None or time.monotonic() > deadline or s.error:
                            break
                        time.sleep(0.002)
                    if hit is None:
                        missed[str(n)] += 1
                    else:
                        got.append((hit - t0) * 1000)
                phases[str(n)] += got
                if got:
                    last[str(n)].append(max(got))
                time.sleep(GAP_S)
            for s in streams:
                s.close()
            time.sleep(3)  # the server notices the closed streams at its next heartbeat
    return {
        "per_stream_ms": {k: stats(v) for k, v in phases.items()},
        "last_stream_ms": {k: stats(v) for k, v in last.items()},
        "missed": missed,
        "errors": errors[:20],
        "error_count": len(errors),
    }


# --- the parent -------------------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    cfg = MODES["quick" if quick else "full"]
    server = Server(
        "sse", "hotline:create_app()", hotline=True, workers=2, threads=72,
        extra_env={"HOTLINE_SSE_MAX_CONNECTIONS": "64", "HOTLINE_SSE_HEARTBEAT_S": "1",
                   "HOTLINE_LOGIN_RATE_LIMIT": "1000 per minute"},
    )  # fmt: skip
    with running(server):
        made = subprocess.run(
            [str(BIN / "hotline"), "users", "create", LOGIN, "--role", "supervisor",
             "--password-stdin"],
            input=f"{PASSWORD}\n", env=server.env, cwd=ROOT, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"users create failed: {made.stdout}{made.stderr}")
        result = run_json(
            python_module("benchmarks.sse_fanout", "client", "--url", server.url,
                          "--rounds", str(cfg["rounds"]), "--events", str(cfg["events"])),
            timeout_s=900,
        )  # fmt: skip
        result["server_errors"] = server.unexpected_errors()[:20]
    fan, one = result["per_stream_ms"][str(FAN)], result["per_stream_ms"]["1"]
    result["ratios"] = {
        "p50_fan_over_single": round(fan["median"] / one["median"], 2) if one["median"] else None,
        "p99_fan_over_single": round(fan["p99"] / one["p99"], 2) if one["p99"] else None,
    }
    result["config"] = {**cfg, "streams": FAN, "workers": 2, "threads": 72}
    result["machine"] = machine_info()
    return result


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    fan = result["per_stream_ms"][str(FAN)]
    one = result["per_stream_ms"]["1"]
    last = result["last_stream_ms"][str(FAN)]
    return [
        (
            f"kpi event → {FAN} dashboards p50/p99 ms (per stream)",
            f"{fan['median']:.1f}/{fan['p99']:.1f}",
            f"1 stream {one['median']:.1f}/{one['p99']:.1f}",
            f"{result['ratios']['p50_fan_over_single']}x",
            "≤ 2000 ms",
        ),
        (
            f"last of {FAN} streams, median ms",
            f"{last['median']:.1f}",
            f"missed {result['missed']}",
            f"errors {result['error_count']}",
            "",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.sse_fanout")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--rounds", type=int, default=2)
    c.add_argument("--events", type=int, default=5)
    args = parser.parse_args(argv)
    json.dump(client(args), sys.stdout)


if __name__ == "__main__":
    main()

__all__ = ["NAME", "median", "run", "table"]
