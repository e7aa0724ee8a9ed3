"""The load generator, always its own process: signed Twilio webhooks or whole simulated calls.

`python -m benchmarks.loadgen webhooks ...` replays incoming → gather step → status callback
per call, first at a fixed rate (open loop) and then as fast as C clients can (closed loop);
`python -m benchmarks.loadgen calls ...` runs `hotline.sim.load.run_load`. Both print one JSON
document on stdout for the parent benchmark to aggregate.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter

from benchmarks.bare_app import TWIML
from hotline.sim.call import DEFAULT_TO, call_params
from hotline.sim.callbacks import rfc2822
from hotline.sim.load import cn_mobiles, run_load
from hotline.sim.report import CallReport
from hotline.sim.signing import SIGNATURE_HEADER, sign
from hotline.sim.verbs import new_sid

KINDS = ("incoming", "step", "status")
STEP_QUERY = "?node=language&seq=1"
TIMEOUT_S = 15.0  # Twilio's limit: an answer later than this is a failure anyway


# ---------------------------------------------------------------------------------------------
# webhooks


@dataclass(frozen=True)
class Prepared:
    """One request ready to go: signing happens before the clock starts."""

    kind: str
    url: str
    body: str
    headers: dict[str, str]


def prepare_call(base_url: str, app: str, token: str, account_sid: str, index: int, tag: str):
    """The three signed requests of one call (unique CallSid), for the hotline or the bare app."""
    sid = new_sid("CA")
    base = call_params(sid, account_sid, f"+86139{index % 10**8:08d}", DEFAULT_TO)
    now = time.time()
    params = {
        "incoming": base | {"CallStatus": "ringing"},
        "step": base | {"CallStatus": "in-progress", "Digits": "2", "FinishedOnKey": ""},
        "status": base
        | {
            "CallStatus": "completed",
            "SequenceNumber": "2",
            "CallbackSource": "call-progress-events",
            "Timestamp": rfc2822(now),
            "CallDuration": "30",
            "Duration": "1",
        },
    }
    if app == "hotline":
        paths = {"incoming": "/voice/incoming", "step": "/voice/step" + STEP_QUERY}
        paths["status"] = "/voice/status"
    else:
        # The bare app has one route; the same three bodies go to it, the step keeps its query.
        paths = {"incoming": "/twiml", "step": "/twiml" + STEP_QUERY, "status": "/twiml"}
    prepared = []
    for kind in KINDS:
        url = base_url + paths[kind]
        headers = {
            SIGNATURE_HEADER: sign(token, url, params[kind]),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            # Read back from gunicorn's access log to split server time by kind and phase.
            "X-Bench-Kind": kind,
            "X-Bench-Tag": tag,
        }
        prepared.append(Prepared(kind, url, urlencode(params[kind]), headers))
    return prepared


def expected(app: str, kind: str) -> tuple[int, bytes | None]:
    """(status, a byte string the body must contain) of a correct answer.

    The hotline answers a database failure with 200 and an apology, so a 2xx alone does not
    prove the request was served: the voice answers must lead to the next menu.
    """
    if app == "bare":
        return 200, TWIML.encode()
    return {
        "incoming": (200, b"node=language"),
        "step": (200, b"node=main_menu"),
        "status": (204, None),
    }[kind]


class Recorder:
    """Collects one row per request: phase, kind, outcome, status, client ms, send lag ms."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.rows: list[tuple[str, str, str, int, float, float, float]] = []
        self.examples: list[str] = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.sessions: list[requests.Session] = []

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            # One keep-alive connection per client thread, as each Twilio fetcher holds one.
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
            self.local.session = session
            with self.lock:
                self.sessions.append(session)
        return session

    def send(self, phase: str, req: Prepared, scheduled: float, t0: float) -> bool:
        started = time.perf_counter()
        status, body = 0, b""
        try:
            answer = self.session().post(
                req.url, data=req.body, headers=req.headers, timeout=TIMEOUT_S
            )
            status, body = answer.status_code, answer.content
        except requests.RequestException as exc:
            body = repr(exc).encode()
        ended = time.perf_counter()
        want_status, want_body = expected(self.app, req.kind)
        if not 200 <= status < 300:
            outcome = "http-error"
        elif status != want_status or (want_body is not None and want_body not in body):
            outcome = "wrong-answer"
        else:
            outcome = "ok"
        row = (
            phase,
            req.kind,
            outcome,
            status,
            (ended - started) * 1000,
            max(0.0, started - scheduled) * 1000,
            ended - t0,
        )
        with self.lock:
            self.rows.append(row)
            if outcome != "ok" and len(self.examples) < 5:
                self.examples.append(f"{req.kind} {req.url} -> {status}: {body[:300]!r}")
        return outcome == "ok"

    def close(self) -> None:
        for session in self.sessions:
            session.close()


def closed_loop(
    rec: Recorder, args: argparse.Namespace, phase: str, duration_s: float, first: int
) -> dict[str, Any]:
    """C clients, each placing calls back to back until the time is up."""
    tag = f"{args.tag}/{phase}"
    t0 = time.perf_counter()
    deadline = t0 + duration_s
    counter = iter(range(first, first + 10**9))
    lock = threading.Lock()

    def client() -> None:
        while time.perf_counter() < deadline:
            with lock:
                index = next(counter)
            call = prepare_call(args.url, args.app, args.token, args.account_sid, index, tag)
            for req in call:
                if time.perf_counter() >= deadline:
                    return
                rec.send(phase, req, time.perf_counter(), t0)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    # Only answers that arrived inside the window count toward the rate.
    done = sum(1 for r in rec.rows if r[0] == phase and r[2] == "ok" and r[6] <= duration_s)
    return {
        "clients": args.clients,
        "duration_s": duration_s,
        "wall_s": round(wall, 3),
        "ok_in_window": done,
        "req_per_s": round(done / duration_s, 1),
    }


def fixed_rate(rec: Recorder, args: argparse.Namespace, first: int) -> dict[str, Any]:
    """Open loop: request times are fixed in advance and never wait for earlier answers.

    A call starts every 3/rate s and its step and status follow `gap` s apart, so the three
    kinds interleave at `rate` requests/s in all. The only wait is inside one call: its step
    is not sent before its incoming was answered (Twilio could not either); such waits show as
    send lag, which is reported, so a generator that fell behind cannot go unnoticed.
    """
    tag = f"{args.tag}/fixed"
    period = 3 / args.rate
    ncalls = max(1, math.floor(args.fixed_s * args.rate / 3))
    calls = [
        prepare_call(args.url, args.app, args.token, args.account_sid, first + i, tag)
        for i in range(ncalls)
    ]
    events = sorted((c * period + i * args.gap_s, c, i) for c in range(ncalls) for i in range(3))
    answered = [[threading.Event() for _ in range(3)] for _ in range(ncalls)]

    def fire(c: int, i: int, scheduled: float, t0: float) -> None:
        try:
            if i and not answered[c][i - 1].wait(TIMEOUT_S):
                return
            rec.send("fixed", calls[c][i], scheduled, t0)
        finally:
            answered[c][i].set()

    # Enough threads that the schedule never waits for a free one at the target rate.
    with ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="fixed") as pool:
        t0 = time.perf_counter() + 0.05
        for offset, c, i in events:
            delay = t0 + offset - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(fire, c, i, t0 + offset, t0)
    rows = [r for r in rec.rows if r[0] == "fixed"]
    # The first and last 2·gap s carry fewer kinds at once; the rate is judged in between.
    lo, hi = 2 * args.gap_s, (ncalls - 1) * period
    starts = [r[6] - r[4] / 1000 for r in rows]
    steady = sum(1 for t in starts if lo <= t < hi)
    return {
        "target_req_per_s": args.rate,
        "calls": ncalls,
        "sent": len(rows),
        "steady_window_s": round(max(0.0, hi - lo), 3),
        "achieved_req_per_s": round(steady / (hi - lo), 1) if hi > lo else None,
        "gap_s": args.gap_s,
        "threads": args.threads,
    }


def webhooks(args: argparse.Namespace) -> dict[str, Any]:
    rec = Recorder(args.app)
    phases: dict[str, Any] = {}
    try:
        if args.warmup_s > 0:
            phases["warmup"] = closed_loop(rec, args, "warmup", args.warmup_s, first=0)
        if args.fixed_s > 0:
            phases["fixed"] = fixed_rate(rec, args, first=10**6)
        if args.closed_s > 0:
            phases["closed"] = closed_loop(rec, args, "closed", args.closed_s, first=2 * 10**6)
    finally:
        rec.close()
    return {
        "app": args.app,
        "tag": args.tag,
        "phases": phases,
        "columns": ["phase", "kind", "outcome", "status", "client_ms", "lag_ms", "t_s"],
        "rows": [
            [p, k, o, s, round(c, 3), round(lag, 3), round(t, 4)]
            for p, k, o, s, c, lag, t in rec.rows
        ],
        "examples": rec.examples,
    }


# ---------------------------------------------------------------------------------------------
# whole calls


def calls(args: argparse.Namespace) -> dict[str, Any]:
    keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    samples: dict[str, list[float]] = {}
    shapes: Counter[str] = Counter()
    incomplete: list[str] = []
    lock = threading.Lock()

    def on_call(report: CallReport) -> None:
        voice = sum(1 for kind, *_ in report.requests if kind in ("incoming", "step"))
        status = sum(1 for kind, *_ in report.requests if kind == "status")
        shape = f"{voice} voice + {status} status, ended by {report.ended_by}"
        # A call the simulator accepts can still be wrong: the app answers a database failure
        # with an apology and a hangup, which is valid TwiML but not the caller's flow.
        whole = (
            report.ok
            and report.ended_by == "hangup"
            and voice == args.expect_voice
            and status == args.expect_status
            and report.keyed == keys
        )
        with lock:
            shapes[shape] += 1
            for kind, _path, _code, ms in report.requests:
                samples.setdefault(kind, []).append(ms)
            if report.ok and not whole:
                incomplete.append(report.summary())

    report = run_load(
        args.url,
        calls=args.calls,
        concurrency=args.concurrency,
        keys=args.keys,
        auth_token=args.token,
        account_sid=args.account_sid,
        from_numbers=cn_mobiles(args.calls, seed=args.seed),
        seed=args.seed,
        on_call=on_call,
    )
    return {
        "report": asdict(report),
        "incomplete": len(incomplete),
        "incomplete_examples": incomplete[:5],
        "shapes": dict(shapes),
        "samples": {kind: [round(x, 3) for x in values] for kind, values in samples.items()},
    }


# ---------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("webhooks", "calls"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--account-sid", required=True)
    w = sub.choices["webhooks"]
    w.add_argument("--app", choices=("hotline", "bare"), required=True)
    w.add_argument("--tag", default="run")
    w.add_argument("--warmup-s", type=float, default=1.0)
    w.add_argument("--fixed-s", type=float, default=5.0)
    w.add_argument("--rate", type=float, default=200.0)
    w.add_argument("--gap-s", type=float, default=0.1)
    w.add_argument("--threads", type=int, default=64)
    w.add_argument("--closed-s", type=float, default=5.0)
    w.add_argument("--clients", type=int, default=16)
    c = sub.choices["calls"]
    c.add_argument("--keys", default="2,4,1,2")
    c.add_argument("--calls", type=int, required=True)
    c.add_argument("--concurrency", type=int, required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--expect-voice", type=int, default=5)
    c.add_argument("--expect-status", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    result = webhooks(args) if args.command == "webhooks" else calls(args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
