"""`hotline run` as a new user meets it: embedded defaults, health, a call, a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from hotline.config import local_twilio_credentials
from hotline.sim.call import simulate_call

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HOTLINE_") and k not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(PORT=str(port), HOTLINE_INSTANCE_PATH=str(tmp_path))
    hotline = Path(sys.executable).parent / "hotline"
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(hotline), "run"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=2).json()
                break
            except requests.RequestException:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        assert health["checks"]["redis"]["detail"] == "embedded"
        assert health["checks"]["database"]["detail"] == "sqlite"
        sid, token = local_twilio_credentials(tmp_path)
        report = simulate_call(
            base, auth_token=token, account_sid=sid, from_number="+8613800138000", keys="2,4,1,2"
        )
        assert report.ok, report.transcript
        assert "simulated call:" in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert not (tmp_path / "redis.sock").exists()  # the embedded Redis went down with it
    assert (tmp_path / "hotline.db").exists()
