"""The story harness: the running app, a real worker and the simulator, driven like citizens."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hotline.clock import set_now
from hotline.config import Settings
from hotline.db import Database
from hotline.jobs import get_queue
from hotline.orders.jobs import sweep_due
from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport
from hotline.sim.rest import RestSim
from tests.conftest import LiveServer
from tests.helpers import wait_for
from tests.speech_audio import korean_wav
from workorders.calls import Call


@dataclass
class Hotline:
    """One handle on everything a story needs; later issues add agents, orders, clocks."""

    server: LiveServer
    settings: Settings
    database: Database
    rest: RestSim

    def call(
        self, *, from_number: str, keys: str, say: Sequence[str] = (), **kwargs: Any
    ) -> CallReport:
        """A call; `say` are phrases in the test language (Korean) spoken at the `say` Gathers
        over the live media stream (needs the `speaking_hotline` fixture)."""
        if say:
            kwargs.update(say=[korean_wav(text) for text in say], rest=self.rest, media_speed=4.0)
        report = simulate_call(
            self.server.url,
            auth_token=self.settings.twilio_auth_token,
            account_sid=self.settings.twilio_account_sid,
            from_number=from_number,
            keys=keys,
            **kwargs,
        )
        assert report.ok, report.transcript
        return report

    def call_row(self, call_sid: str) -> Call:
        with self.database.session() as session:
            return session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one()

    # --- the REST API, as staff, handlers, supervisors and other courts use it ---------------

    def api_token(self, name: str) -> str:
        from hotline.api.tokens import create_token

        with self.database.session() as session:
            _, token = create_token(session, name=f"{name}-{secrets.token_hex(4)}")
            session.commit()
        return token

    def api(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None = None,
        expect: int | tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        response = requests.request(
            method,
            f"{self.server.url}/api/v1{path}",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        codes = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in codes, (response.status_code, response.text)
        data: dict[str, Any] = response.json()
        return data

    def move(self, token: str, number: str, move: str, **body: Any) -> dict[str, Any]:
        return self.api("POST", f"/work-orders/{number}/moves", token, {"move": move, **body})

    # --- time and background work -------------------------------------------------------

    def set_clock(self, when: datetime | None) -> None:
        """Work-order time for the app and the workers (hotline.clock)."""
        set_now(self.settings, when)

    def sweep(self) -> None:
        """What the clock process queues every few minutes; waits for the worker to run it."""
        job = get_queue(self.settings).enqueue(sweep_due)
        wait_for(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout=30)
        assert job.get_status() == "finished", job.exc_info

    def wait_for_order(
        self, number: str, predicate: Callable[[dict[str, Any]], bool], token: str
    ) -> dict[str, Any]:
        return dict(
            wait_for(
                lambda: (
                    (o := self.api("GET", f"/work-orders/{number}", token)) and predicate(o) and o
                ),
                timeout=30,
            )
        )

    def wait_for_outcome(self, call_sid: str) -> str:
        """The outcome the worker writes after the call's final status callback."""
        return str(wait_for(lambda: self.call_row(call_sid).outcome, timeout=30))


@pytest.fixture
def hotline(
    live_server: LiveServer, settings: Settings, database: Database, worker: Any, rest_sim: RestSim
) -> Iterator[Hotline]:
    h = Hotline(server=live_server, settings=settings, database=database, rest=rest_sim)
    yield h
    h.set_clock(None)


@pytest.fixture
def speaking_hotline(
    speech_server: LiveServer,
    settings: Settings,
    database: Database,
    worker: Any,
    speech_worker: Any,
    rest_sim: RestSim,
) -> Iterator[Hotline]:
    """The hotline with live speech (stream process, speech worker, the real Korean model)."""
    h = Hotline(server=speech_server, settings=settings, database=database, rest=rest_sim)
    yield h
    h.set_clock(None)
