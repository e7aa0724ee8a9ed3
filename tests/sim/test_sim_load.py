"""run_load: many concurrent calls, counted and timed."""

from __future__ import annotations

import pytest

from hotline.sim.load import KINDS, Latency, cn_mobiles, run_load

MENU = (
    '<Response><Gather numDigits="1" action="/voice/step?node=chosen">'
    "<Say>Press 1.</Say></Gather></Response>"
)


def test_cn_mobiles_are_distinct_and_seeded():
    numbers = cn_mobiles(500, seed=7)
    assert len(set(numbers)) == 500
    assert all(n.startswith("+86138") and len(n) == 14 for n in numbers)
    assert numbers == cn_mobiles(500, seed=7) != cn_mobiles(500, seed=8)


def test_latency_percentiles_are_nearest_rank():
    lat = Latency.of([float(v) for v in range(100, 0, -1)])
    assert (lat.count, lat.p50, lat.p90, lat.p99, lat.max) == (100, 50.0, 90.0, 99.0, 100.0)
    assert Latency.of([]).count == 0


def test_twenty_calls_at_concurrency_five(app, creds):
    app.scenario = {
        "incoming": MENU,
        "chosen": '<Response><Record action="/voice/step?node=bye" '
        'recordingStatusCallback="/voice/recording-status"/></Response>',
        "bye": "<Response><Say>Goodbye.</Say><Hangup/></Response>",
    }

    report = run_load(app.base_url, calls=20, concurrency=5, keys="1", **creds)

    assert report.ok, report.format()
    assert (report.calls, report.failed, report.failures) == (20, 0, [])
    assert report.ended_by == {"hangup": 20}
    counts = {kind: report.latency[kind].count for kind in KINDS}
    assert counts == {"incoming": 20, "step": 40, "status": 60, "recording-status": 20, "other": 0}
    assert report.requests == 140
    assert report.calls_per_s > 0
    assert len({hit.form["From"] for hit in app.of("/voice/incoming")}) == 20
    assert len(app.recordings) == 20
    table = report.format()
    assert "calls 20" in table
    assert "failed 0" in table
    assert "recording-status" in table
    assert "other" not in table


def test_failed_calls_are_counted_and_the_first_few_kept(app, creds):
    app.scenario = {"incoming": ("boom", 500)}

    report = run_load(
        app.base_url, calls=6, concurrency=3, **creds, keep_failures=2, status_events=()
    )

    assert (report.calls, report.failed) == (6, 6)
    assert len(report.failures) == 2
    assert "HTTP 500" in report.failures[0]
    assert "failures (first 2 of 6)" in report.format()


def test_bad_arguments_fail_before_any_call(app, creds):
    with pytest.raises(ValueError, match="keys token"):
        run_load(app.base_url, calls=1, concurrency=1, keys="x", **creds)
    with pytest.raises(ValueError, match="at least 1"):
        run_load(app.base_url, calls=0, concurrency=1, **creds)
    assert not app.hits
