"""Queue, agent and callback tests run on the story harness: the live app, a real worker
(with the RQ scheduler), the REST stand-in's agents and callees, and a settable clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.stories.conftest import Hotline, hotline  # noqa: F401  (the fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 12 October 2026, 10:00: a working day, within the agents' hours.
WORKING_MORNING = datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI)

__all__ = ["SHANGHAI", "WORKING_MORNING", "Hotline"]
