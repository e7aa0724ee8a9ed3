"""A worker killed with SIGKILL in the middle of placing a survey call (its REST request to
Twilio hangs): the try is taken as lost by the sweep and retried — one call reaches the
citizen, and the answer is recorded once."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from rq.job import Job

from hotline.jobs import get_queue
from hotline.queues.jobs import place_survey_call
from hotline.redis_store import redis_client
from hotline.sim.outbound import Leg
from tests.conftest import worker_env
from tests.helpers import wait_for
from tests.queues.conftest import SHANGHAI, WORKING_MORNING, Hotline

DOOMED_QUEUE = "faults-calls-doomed"


def test_a_survey_call_killed_while_placing_reaches_the_citizen_once(
    hotline: Hotline, tmp_path: Path
) -> None:
    hotline.set_clock(WORKING_MORNING)
    phone = f"+86136{secrets.randbelow(10**8):08d}"
    staff, handler = hotline.api_token("staff"), hotline.api_token("handler")
    number = hotline.api(
        "POST",
        "/work-orders",
        staff,
        {"channel": "visit", "category": "complaint", "summary": f"窗口排队太久 {phone}",
         "contact": {"phone": phone}, "on_duplicate": "register"},
    )["number"]  # fmt: skip
    hotline.wait_for_order(number, lambda o: o["state"] == "dispatched", staff)
    for move in ("accept", "start"):
        hotline.move(handler, number, move)
    hotline.move(handler, number, "reply", note="已调整窗口人手。")
    hotline.move(staff, number, "complete")
    (survey,) = hotline.api("GET", f"/callbacks?phone={phone}", staff)
    due = datetime(2026, 10, 13, 10, 5, tzinfo=SHANGHAI)
    hotline.set_clock(due)

    # The doomed worker's REST request hangs at "Twilio"; it is killed while it waits.
    hotline.rest.stall_next(120, to=phone)
    job_id = f"doomed-survey-{survey['id']}"
    doomed = subprocess.Popen(
        [str(Path(sys.executable).parent / "hotline"), "worker", DOOMED_QUEUE, "--no-scheduler"],
        env=worker_env(hotline.settings) | {"HOTLINE_OUTBOUND_BASE_URL": hotline.server.url},
        stdout=(tmp_path / "doomed.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        get_queue(hotline.settings, DOOMED_QUEUE).enqueue(
            place_survey_call, survey["id"], job_id=job_id
        )
        connection = redis_client(hotline.settings)
        wait_for(lambda: Job.fetch(job_id, connection=connection).get_status() == "started", 90)
        wait_for(lambda: not hotline.rest.stalls, timeout=60)  # the request reached "Twilio"
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    stuck = hotline.api("GET", f"/callbacks/{survey['id']}", staff)
    assert [a["outcome"] for a in stuck["attempts"]] == [None]  # a try with no report

    # Later sweeps: the try is taken as lost, then retried after the backoff; answered.
    hotline.rest.script(phone, Leg("answer", keys="1"))  # very satisfied
    hotline.set_clock(due + timedelta(minutes=11))
    hotline.sweep()
    hotline.set_clock(due + timedelta(minutes=25))
    hotline.sweep()
    done = wait_for(
        lambda: (
            (cb := hotline.api("GET", f"/callbacks/{survey['id']}", staff))["status"] == "completed"
            and cb
        ),
        timeout=60,
    )
    assert [a["outcome"] for a in done["attempts"]] == ["failed", "answered"]
    placed = [c for c in hotline.rest.calls if c.get("To") == phone]
    assert len(placed) == 1  # the hung request placed nothing; the retry placed one call
    order = hotline.api("GET", f"/work-orders/{number}", staff)
    assert [e["move"] for e in order["events"]].count("follow_up") == 1
