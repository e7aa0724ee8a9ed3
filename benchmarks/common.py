"""Shared benchmark helpers: gunicorn servers on loopback, statistics and the machine record."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

from hotline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent

# The benchmark's own Twilio credentials: the server gets them through the environment and the
# load generator signs with them, so no instance secret has to be read back.
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"

# Both apps run with the same gunicorn settings; these are hotline.gunicorn_conf's defaults,
# set explicitly so that a WEB_CONCURRENCY in the caller's shell cannot skew one run.
WORKERS = 2
THREADS = 8

# %(D)s is gunicorn's request time in microseconds; the two request headers are set by the
# load generator so that lines can be split by request kind and by phase afterwards.
ACCESS_LOG_FORMAT = '%(D)s %(s)s "%({x-bench-kind}i)s" "%({x-bench-tag}i)s" %(m)s %(U)s'

PACKAGES = ("flask", "gunicorn", "sqlalchemy", "twilio", "redis", "rq", "requests", "werkzeug")


# ---------------------------------------------------------------------------------------------
# statistics


def percentile(ordered: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of already sorted samples (the simulator uses the same rule)."""
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def stats(samples: Iterable[float]) -> dict[str, Any]:
    """n, median, p99 and the spread (quartiles, IQR, min, max) of a sample set."""
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    q1, q3 = percentile(ordered, 25), percentile(ordered, 75)
    return {
        "n": len(ordered),
        "median": _round(percentile(ordered, 50)),
        "p99": _round(percentile(ordered, 99)),
        "q1": _round(q1),
        "q3": _round(q3),
        "iqr": _round(q3 - q1),
        "min": _round(ordered[0]),
        "max": _round(ordered[-1]),
    }


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _round(value: float) -> float:
    return round(value, 3)


# ---------------------------------------------------------------------------------------------
# machine record


def machine_info() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        # The machine is shared: load before the run says how noisy the neighbours were.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "packages": versions,
    }


def write_result(name: str, result: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """The caller's environment without any hotline setting, so a developer's shell (say, a
    REDIS_URL pointing at a real server) cannot change what is measured."""
    names = {f.name.upper() for f in fields(Settings)}
    drop = (
        {f"HOTLINE_{n}" for n in names}
        | names
        | {"PORT", "WEB_CONCURRENCY", "HOTLINE_WEB_THREADS", "HOTLINE_HOST", "HOTLINE_ACCESS_LOG"}
        | {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "GUNICORN_CMD_ARGS"}
    )
    return {k: v for k, v in os.environ.items() if k not in drop}


class ServerError(RuntimeError):
    """A server did not start or stop; the message carries the tail of its log."""


@dataclass
class Server:
    """One gunicorn master (and its workers) on a free loopback port with its own folder."""

    name: str
    app: str  # gunicorn's WSGI target, e.g. "hotline:create_app()"
    hotline: bool  # the real app: migrate first, wait for /healthz, stop embedded Redis after
    workers: int = WORKERS
    threads: int = THREADS
    port: int = 0
    folder: Path = field(default_factory=Path)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # settings of this benchmark

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    @property
    def error_log(self) -> Path:
        return self.folder / "gunicorn.log"

    def start(self, timeout_s: float = 60.0) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        instance = self.folder / "instance"
        self.port = free_port()
        self.env = (
            clean_env()
            | {
                "HOTLINE_INSTANCE_PATH": str(instance),
                "HOTLINE_DATABASE_URL": f"sqlite:///{instance / 'hotline.db'}",
                "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "HOTLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "PORT": str(self.port),
                "WEB_CONCURRENCY": str(self.workers),
                "HOTLINE_WEB_THREADS": str(self.threads),
            }
            | self.extra_env
        )
        if self.hotline:
            migrate = subprocess.run(
                [str(BIN / "hotline"), "db", "upgrade"],
                env=self.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if migrate.returncode != 0:
                raise ServerError(f"hotline db upgrade failed:\n{migrate.stdout}{migrate.stderr}")
        command = [
            str(BIN / "gunicorn"),
            "-c",
            "python:hotline.gunicorn_conf",
            "--access-logfile",
            str(self.access_log),
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            "--error-logfile",
            str(self.error_log),
            *_control_socket_args(self.folder),
            self.app,
        ]
        # The app's own log goes to stderr: a file, never a pipe nobody reads (a full pipe
        # would block the workers mid-benchmark).
        with open(self.folder / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # Ctrl-C of the benchmark must not hit it first
            )
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        # The bare app has no health route: any HTTP answer means a worker is serving.
        path = "/healthz" if self.hotline else "/"
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServerError(f"{self.name}: gunicorn exited at start\n{self.log_tail()}")
            try:
                answer = requests.get(self.url + path, timeout=2)
                if not self.hotline or answer.status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{self.name}: not ready after {timeout_s:g} s\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for path in (self.error_log, self.folder / "stderr.log"):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGTERM: gunicorn's graceful shutdown, workers finish what they are answering.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.hotline and self.env:
            # The app started the embedded Redis as a daemon: it outlives gunicorn.
            subprocess.run(
                [str(BIN / "hotline"), "redis", "stop"],
                env=self.env,
                cwd=ROOT,
                capture_output=True,
                check=False,
            )

    def remove(self) -> None:
        if self.folder and self.folder.exists() and self.folder != Path():
            shutil.rmtree(self.folder, ignore_errors=True)

    def unexpected_errors(self) -> list[str]:
        """Tracebacks and worker crashes in the server's logs (there should be none)."""
        found = []
        for path in (self.error_log, self.folder / "stderr.log"):
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                if any(m in line for m in ("Traceback", "WORKER TIMEOUT", " ERROR ", "CRITICAL")):
                    found.append(f"{path.name}: {line.strip()}"[:300])
        return found


def _control_socket_args(folder: Path) -> list[str]:
    """gunicorn ≥ 25 opens a control socket at one fixed path per user: two masters side by side
    would take it from each other, so each gets its own inside its folder."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket" for s in KNOWN_SETTINGS):
        return ["--control-socket", str(folder / "gunicorn.ctl")]
    return []


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[tuple[Server, ...]]:
    """Start the servers in order; stop and remove all of them, whatever happens."""
    started: list[Server] = []
    try:
        for server in servers:
            started.append(server)
            server.start()
        yield servers
    finally:
        for server in reversed(started):
            server.stop()
        for server in started:
            server.remove()


@dataclass(frozen=True)
class AccessLine:
    micros: int
    status: int
    kind: str
    tag: str
    method: str
    path: str


def read_access_log(path: Path, start: int = 0) -> list[AccessLine]:
    """Parse the access log from byte offset `start` (lines in ACCESS_LOG_FORMAT)."""
    lines = []
    with open(path, "rb") as fh:
        fh.seek(start)
        for raw in fh.read().decode(errors="replace").splitlines():
            parts = raw.split('"')
            if len(parts) != 5:
                continue
            head, kind, _, tag, tail = parts
            micros, status = head.split()
            method, _, url_path = tail.strip().partition(" ")
            lines.append(
                AccessLine(int(micros), int(status), kind.strip(), tag.strip(), method, url_path)
            )
    return lines


def run_json(command: Sequence[str], *, timeout_s: float) -> dict[str, Any]:
    """Run a load-generator process that writes one JSON document on stdout."""
    done = subprocess.run(
        list(command), cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"load generator failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
