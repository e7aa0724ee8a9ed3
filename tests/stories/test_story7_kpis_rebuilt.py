"""Story 7, the KPI part: after Redis lost the live counters, the sweep rebuilds them from
SQL and the supervisors see the same figures as before."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline.jobs import enqueue_call_outcome
from hotline.kpis import store
from hotline.kpis.maintenance import default_since
from hotline.kpis.rebuild import rebuild
from hotline.kpis.snapshot import snapshot, window_for
from hotline.redis_store import redis_client
from tests.helpers import wait_for
from tests.stories.conftest import Hotline
from workorders.call_log import calls_without_outcome


def settle(hotline: Hotline) -> None:
    """Let every ended call get its outcome (earlier tests lost some jobs with Redis down and
    the sweep re-queues those only after a while): the figures then stop moving."""

    def missing() -> list[str]:
        with hotline.database.session() as session:
            return calls_without_outcome(session, ended_before=datetime.now(UTC))

    for sid in missing():
        enqueue_call_outcome(hotline.settings, sid)
    wait_for(lambda: not missing(), timeout=60)


def test_kpis_are_rebuilt_after_redis_lost_them(hotline: Hotline) -> None:
    client = redis_client(hotline.settings)
    settle(hotline)
    # Start from counters that agree with SQL (earlier tests ran calls with Redis down).
    with hotline.database.session() as session:
        rebuild(
            session, client, since=default_since(hotline.settings), tz=hotline.settings.timezone
        )

    answered = hotline.call(from_number="+8613812340007", keys="2,4,1,2")  # a question answered
    silent = hotline.call(from_number="+8613812340008", keys=".,.,.")  # says nothing
    for report in (answered, silent):
        hotline.wait_for_outcome(report.call_sid)
    settle(hotline)
    window = window_for(hotline.settings, "today", now=datetime.now(UTC))
    before = snapshot(client, window=window)
    assert before["counters"]["calls.offered"] >= 2

    # Redis comes back empty: every KPI key is gone.
    keys = list(client.scan_iter(f"{store.PREFIX}*"))
    client.delete(*keys)
    assert snapshot(client, window=window)["counters"] == {}

    hotline.sweep()  # what `hotline clock` queues every few minutes
    after = wait_for(lambda: (s := snapshot(client, window=window))["rebuilt_at"] and s)
    assert after["counters"] == before["counters"]
    assert after["kpis"] == before["kpis"]
    rate = next(f for f in after["kpis"] if f["key"] == "immediate_resolution_rate")
    assert rate["numerator"] >= 1 and rate["denominator"] >= rate["numerator"]
