"""The story harness: the running app, a real worker and the simulator, driven like citizens."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

    agents: list[str] = field(default_factory=list)

    def call(
        self, *, from_number: str, keys: str, say: Sequence[str] = (), **kwargs: Any
    ) -> CallReport:
        """A call; `say` are phrases in the test language (Korean) spoken at the `say` Gathers
        over the live media stream (needs the `speaking_hotline` fixture)."""
        report = self.place_call(from_number=from_number, keys=keys, say=say, **kwargs)
        assert report.ok, report.transcript
        return report

    def place_call(
        self, *, from_number: str, keys: str, say: Sequence[str] = (), **kwargs: Any
    ) -> CallReport:
        """A simulated caller; queues are shared with the REST stand-in's agents."""
        if say:
            kwargs.update(say=[korean_wav(text) for text in say], rest=self.rest, media_speed=4.0)
        return simulate_call(
            self.server.url,
            auth_token=self.settings.twilio_auth_token,
            account_sid=self.settings.twilio_account_sid,
            from_number=from_number,
            keys=keys,
            switchboard=self.rest.switchboard,
            **kwargs,
        )

    # --- agents -------------------------------------------------------------------------

    def agent(self, *, skills: tuple[str, ...] = ("general",), talk_s: int = 30,
              status: str = "busy", answers: bool = True) -> str:  # fmt: skip
        """A new agent on a Twilio Client identity the REST stand-in answers as a person."""
        from workorders.agents import save_agent

        login = f"agent-{secrets.token_hex(4)}"
        with self.database.session() as session:
            save_agent(
                session,
                login=login,
                skills=list(skills),
                known_queues=frozenset({"civil", "criminal", "enforcement", "general"}),
                client_identity=login,
            )
            session.commit()
        self.rest.agent(f"client:{login}", talk_s=talk_s, answers=answers)
        self.agents.append(login)
        self.presence(login, status)
        return login

    def presence(self, login: str, status: str) -> dict[str, Any]:
        token = self.api_token("console")
        return self.api("PUT", f"/agents/{login}/presence", token, {"status": status})

    def agent_status(self, login: str) -> str:
        from hotline.queues.presence import get_presence
        from hotline.redis_store import redis_client

        return str(get_presence(redis_client(self.settings), login).status)

    def clear_queues(self) -> None:
        """No caller or callback of another test is left for this test's agents to take."""
        from sqlalchemy import update

        from workorders.base import utcnow
        from workorders.callbacks import Callback
        from workorders.queueing import QueueEntry

        with self.database.session() as session:
            session.execute(
                update(Callback)
                .where(Callback.status.in_(("scheduled", "calling")))
                .values(status="cancelled", last_outcome="test cleanup")
            )
            session.execute(
                update(QueueEntry)
                .where(QueueEntry.left_at.is_(None))
                .values(left_at=utcnow(), outcome="error")
            )
            session.commit()

    def sign_agents_out(self) -> None:
        from hotline.queues.presence import Presence, set_presence
        from hotline.redis_store import redis_client

        for login in self.agents:
            set_presence(
                redis_client(self.settings), login, Presence.OFFLINE, now=datetime.now(UTC)
            )

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
    h.clear_queues()
    yield h
    h.sign_agents_out()
    h.clear_queues()
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
    h.clear_queues()
    yield h
    h.sign_agents_out()
    h.clear_queues()
    h.set_clock(None)
