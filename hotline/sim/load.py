"""Many simulated calls at once: a load generator reporting failures and per-request latency."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter

from hotline.sim.call import DEFAULT_STATUS_EVENTS, DEFAULT_TO, simulate_call
from hotline.sim.callbacks import check_order, status_sequence
from hotline.sim.keys import parse_keys
from hotline.sim.report import CallReport
from hotline.sim.transport import TWILIO_TIMEOUT_S

KINDS = ("incoming", "step", "status", "recording-status", "other")


@dataclass(frozen=True)
class Latency:
    """Latency of one kind of request, in milliseconds (nearest-rank percentiles)."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        ordered = sorted(samples)
        if not ordered:
            return cls(0, 0.0, 0.0, 0.0, 0.0)
        return cls(
            len(ordered),
            _rank(ordered, 50),
            _rank(ordered, 90),
            _rank(ordered, 99),
            ordered[-1],
        )


def _rank(ordered: Sequence[float], percent: float) -> float:
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class LoadReport:
    """Outcome of a load run; `format()` renders it as a table."""

    calls: int
    concurrency: int
    failed: int
    failures: list[str]  # the first few, "CallSid from +86…: error"
    wall_s: float
    calls_per_s: float
    latency: dict[str, Latency]  # by kind: incoming, step, status, recording-status, other
    ended_by: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def format(self) -> str:
        lines = [
            f"calls {self.calls}  concurrency {self.concurrency}  failed {self.failed}  "
            f"wall {self.wall_s:.2f} s  {self.calls_per_s:.1f} calls/s  "
            f"requests {self.requests}",
            "ended by: " + ", ".join(f"{k} {v}" for k, v in sorted(self.ended_by.items())),
            "",
            f"{'kind':<18}{'count':>7}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}",
        ]
        for kind in KINDS:
            lat = self.latency[kind]
            if lat.count:
                lines.append(
                    f"{kind:<18}{lat.count:>7}{lat.p50:>10.1f}{lat.p90:>10.1f}"
                    f"{lat.p99:>10.1f}{lat.max:>10.1f}"
                )
        if self.failures:
            lines += ["", f"failures (first {len(self.failures)} of {self.failed}):"]
            lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)


def cn_mobiles(count: int, *, seed: int = 0) -> list[str]:
    """`count` distinct mainland China mobile numbers (+86138…), the same for the same seed."""
    rng = random.Random(seed)
    return [f"+86138{n:08d}" for n in rng.sample(range(10**8), count)]


def run_load(
    base_url: str,
    *,
    calls: int,
    concurrency: int,
    keys: str = "",
    auth_token: str,
    account_sid: str,
    from_numbers: Sequence[str] | None = None,
    seed: int = 0,
    to_number: str = DEFAULT_TO,
    public_base_url: str | None = None,
    recording: bytes | None = None,
    status_events: Sequence[str] = DEFAULT_STATUS_EVENTS,
    status_order: str = "in-order",
    max_requests: int = 80,
    timeout_s: float = TWILIO_TIMEOUT_S,
    keep_failures: int = 10,
    on_call: Callable[[CallReport], None] | None = None,
) -> LoadReport:
    """Place `calls` calls, `concurrency` at a time, each with its own caller number.

    One requests.Session per worker thread keeps connections alive, as Twilio's fleet does;
    a call fails if its report has any error (or the simulator itself raised).
    """
    if calls < 1 or concurrency < 1:
        raise ValueError("calls and concurrency must be at least 1")
    parse_keys(keys)  # bad arguments fail here, not once per call
    status_sequence(status_events)
    check_order(status_order)
    numbers = list(from_numbers) if from_numbers else cn_mobiles(calls, seed=seed)
    local = threading.local()
    sessions: list[requests.Session] = []
    sessions_lock = threading.Lock()

    def thread_session() -> requests.Session:
        session = getattr(local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=2))
            session.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=2))
            local.session = session
            with sessions_lock:
                sessions.append(session)
        return session

    def place(index: int) -> tuple[str, CallReport | None, str | None]:
        number = numbers[index % len(numbers)]
        try:
            report = simulate_call(
                base_url,
                auth_token=auth_token,
                account_sid=account_sid,
                from_number=number,
                to_number=to_number,
                keys=keys,
                public_base_url=public_base_url,
                recording=recording,
                status_events=status_events,
                status_order=status_order,
                max_requests=max_requests,
                timeout_s=timeout_s,
                session=thread_session(),
            )
        except Exception as exc:  # a simulator bug must count as a failed call, not kill the run
            return number, None, f"simulator raised {exc!r}"
        if on_call is not None:
            on_call(report)
        return number, report, None

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sim-call") as pool:
            results = list(pool.map(place, range(calls)))
    finally:
        for session in sessions:
            session.close()
    wall_s = time.perf_counter() - started
    return _summarise(results, calls, concurrency, wall_s, keep_failures)


def _summarise(
    results: list[tuple[str, CallReport | None, str | None]],
    calls: int,
    concurrency: int,
    wall_s: float,
    keep_failures: int,
) -> LoadReport:
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    failures: list[str] = []
    failed = requests_sent = 0
    ended_by: Counter[str] = Counter()
    for number, report, crash in results:
        if report is None:
            failed += 1
            ended_by["error"] += 1
            if len(failures) < keep_failures:
                failures.append(f"call from {number}: {crash}")
            continue
        ended_by[report.ended_by] += 1
        for kind, _path, _status, latency_ms in report.requests:
            samples[kind if kind in samples else "other"].append(latency_ms)
        requests_sent += len(report.requests)
        if not report.ok:
            failed += 1
            if len(failures) < keep_failures:
                more = f" (+{len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
                failures.append(f"{report.call_sid} from {number}: {report.errors[0]}{more}")
    return LoadReport(
        calls=calls,
        concurrency=concurrency,
        failed=failed,
        failures=failures,
        wall_s=wall_s,
        calls_per_s=calls / wall_s if wall_s > 0 else 0.0,
        latency={kind: Latency.of(values) for kind, values in samples.items()},
        ended_by=dict(ended_by),
        requests=requests_sent,
    )
