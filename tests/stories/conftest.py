"""The story harness: the running app, a real worker and the simulator, driven like citizens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.db import Database
from hotline.sim.call import simulate_call
from hotline.sim.report import CallReport
from tests.conftest import LiveServer
from tests.helpers import wait_for
from workorders.calls import Call


@dataclass
class Hotline:
    """One handle on everything a story needs; later issues add agents, orders, clocks."""

    server: LiveServer
    settings: Settings
    database: Database

    def call(self, *, from_number: str, keys: str, **kwargs: Any) -> CallReport:
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

    def wait_for_outcome(self, call_sid: str) -> str:
        """The outcome the worker writes after the call's final status callback."""
        return str(wait_for(lambda: self.call_row(call_sid).outcome, timeout=30))


@pytest.fixture
def hotline(
    live_server: LiveServer, settings: Settings, database: Database, worker: Any
) -> Hotline:
    return Hotline(server=live_server, settings=settings, database=database)
