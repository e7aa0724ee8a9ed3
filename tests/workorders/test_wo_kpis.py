"""KPI definitions as tables: rows (events) in → numerator, denominator and value out.

No app, no database: rows become cells (`workorders.kpi_cells`), cells are summed into
counters, counters become figures (`workorders.kpis`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from workorders.kpi_cells import (
    CallFacts,
    Cells,
    OrderFacts,
    QueueEntryFacts,
    SurveyAnswerFacts,
    call_cells,
    cell_diff,
    order_cells,
    queue_entry_cells,
    survey_cells,
    wait_bucket,
)
from workorders.kpis import KpiOptions, WindowError, figures, figures_by_dimension, make_window

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def counts(rows: Iterable[Cells]) -> Counter[str]:
    total: Counter[str] = Counter()
    for cells in rows:
        for cell in cells.values():
            if cell is not None:
                total[cell.metric] += cell.amount
    return total


def by_dim(rows: Iterable[Cells]) -> dict[str, dict[str, Counter[str]]]:
    out: dict[str, dict[str, Counter[str]]] = {}
    for cells in rows:
        for cell in cells.values():
            if cell is None:
                continue
            for dim, value in cell.dims:
                out.setdefault(dim, {}).setdefault(value, Counter())[cell.metric] += cell.amount
    return out


def kpi(rows: Iterable[Cells], key: str, options: KpiOptions = KpiOptions()) -> tuple:  # noqa: B008
    figure = next(f for f in figures(counts(rows), options) if f.key == key)
    return figure.numerator, figure.denominator, figure.value


def call(
    outcome: str | None = None, *, seq: int = 3, minutes: int = 0, prev: float | None = None
) -> Cells:
    at = T0 + timedelta(minutes=minutes)
    previous = at - timedelta(hours=prev) if prev is not None else None
    return call_cells(CallFacts("inbound", at, seq, outcome, previous))


# --- calls ------------------------------------------------------------------------------------

CONNECTION = [
    ("no calls: no rate, not 100%", [], (0, 0, None)),
    ("all answered", [call("resolved_in_ivr"), call("message_left")], (2, 2, 1.0)),
    ("a Twilio error before our TwiML counts", [call(), call("failed", seq=0)], (1, 2, 0.5)),
    ("a live call counts at once", [call(None)], (1, 1, 1.0)),
]  # fmt: skip


@pytest.mark.parametrize(("why", "rows", "expected"), CONNECTION, ids=[c[0] for c in CONNECTION])
def test_connection_rate(why: str, rows: list[Cells], expected: tuple) -> None:
    assert kpi(rows, "connection_rate") == expected


def test_outbound_calls_are_not_offered() -> None:
    rows = [call_cells(CallFacts("outbound-api", T0, 2, "completed"))]
    assert kpi(rows, "calls_offered") == (0, None, 0.0)
    assert kpi(rows, "connection_rate") == (0, 0, None)


IMMEDIATE = [
    ("nothing ended yet", [call(None)], (0, 0, None), 0),
    ("resolved vs message left", [call("resolved_in_ivr"), call("message_left")], (1, 2, 0.5), 0),
    ("no request is shown apart", [call("resolved_in_ivr"), call("no_request")], (1, 1, 1.0), 1),
    ("only silence: no rate", [call("no_request"), call("failed", seq=0)], (0, 0, None), 2),
    ("abandoned mid-flow has a request", [call("abandoned"), call("resolved_in_ivr")],
     (1, 2, 0.5), 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "rows", "expected", "without"), IMMEDIATE, ids=[c[0] for c in IMMEDIATE]
)
def test_immediate_resolution(why: str, rows: list[Cells], expected: tuple, without: int) -> None:
    assert kpi(rows, "immediate_resolution_rate") == expected
    assert kpi(rows, "calls_without_request")[0] == without


REPEAT = [
    ("first call", [call("completed")], (0, 1, 0.0), (0, 1, 0.0)),
    ("called 3 h before", [call("completed", prev=3)], (1, 1, 1.0), (1, 1, 1.0)),
    ("called 30 h before", [call("completed", prev=30)], (0, 1, 0.0), (1, 1, 1.0)),
    ("called 3 days before", [call("completed", prev=72)], (0, 1, 0.0), (0, 1, 0.0)),
    ("not ended: not known yet", [call(None, prev=1)], (0, 0, None), (0, 0, None)),
]  # fmt: skip


@pytest.mark.parametrize(("why", "rows", "h24", "h48"), REPEAT, ids=[c[0] for c in REPEAT])
def test_repeat_call_rate(why: str, rows: list[Cells], h24: tuple, h48: tuple) -> None:
    assert kpi(rows, "repeat_call_rate_24h") == h24
    assert kpi(rows, "repeat_call_rate_48h") == h48


def test_out_of_order_status_callbacks_change_nothing_twice() -> None:
    """A late "ringing" or "in-progress" after "completed" leaves the row as it was (the call
    log keeps statuses moving forward); its cells, and so the counters, do not move."""
    ended = call("resolved_in_ivr")
    late = call("resolved_in_ivr")  # the row after the late callback: the same facts
    assert cell_diff(ended, late) == []
    created_by_completed_first = call(None, seq=0)
    then_answered = call(None, seq=1)
    changes = cell_diff(created_by_completed_first, then_answered)
    assert [(c.metric, d) for c, d in changes] == [("calls.answered", 1)]


# --- queue ------------------------------------------------------------------------------------


def entry(
    outcome: str | None, wait: int | None = None, queue: str = "general", **kw: object
) -> Cells:
    return queue_entry_cells(QueueEntryFacts(queue, T0, outcome, wait, **kw))  # type: ignore[arg-type]


QUEUE_ROWS = [
    entry("answered", 8, agent="a1", handle_s=100),
    entry("answered", 14, agent="a1", handle_s=200),
    entry("answered", 40, agent="a2"),
    entry("abandoned", 25),
    entry("queue_full"),
    entry("timeout", 300),
    entry("callback", 20),
    entry("after_hours"),
    entry(None),  # still waiting
]

QUEUE_TABLE = [
    ("agent_connection_rate", (3, 6, 0.5)),
    ("answered_within_15s", (2, 6, 2 / 6)),
    ("abandonment_rate", (1, 6, 1 / 6)),
    ("callbacks_requested", (1, None, 1.0)),
    ("average_speed_of_answer", (62, 3, 62 / 3)),
    ("average_handle_time", (300, 2, 150.0)),
    ("occupancy", (0, 0, None)),
]


@pytest.mark.parametrize(("key", "expected"), QUEUE_TABLE, ids=[c[0] for c in QUEUE_TABLE])
def test_queue_kpis(key: str, expected: tuple) -> None:
    assert kpi(QUEUE_ROWS, key) == expected


def test_answered_within_n_is_configurable() -> None:
    assert kpi(QUEUE_ROWS, "answered_within_45s", KpiOptions(answer_within_s=45)) == (3, 6, 0.5)
    with pytest.raises(ValueError, match="answer_within_s"):
        KpiOptions(answer_within_s=17)
    assert [wait_bucket(w) for w in (0, 5, 6, 15, 16, 301)] == ["5", "5", "10", "15", "20", "inf"]


def test_empty_queue_shows_no_rates() -> None:
    for key in ("agent_connection_rate", "answered_within_15s", "abandonment_rate"):
        assert kpi([entry(None), entry("callback")], key) == (0, 0, None)


def test_queue_figures_per_queue_and_agent() -> None:
    rows = [*QUEUE_ROWS, entry("answered", 3, queue="civil", agent="a1")]
    per = figures_by_dimension(by_dim(rows))
    civil = {f.key: f for f in per["queue"]["civil"]}
    assert (
        civil["agent_connection_rate"].numerator,
        civil["agent_connection_rate"].denominator,
    ) == (1, 1)
    a2 = {f.key: f for f in per["agent"]["a2"]}
    assert a2["average_speed_of_answer"].value == 40.0
    assert "agent_connection_rate" not in a2  # no per-agent denominator exists
    assert "department" not in per


# --- work orders ------------------------------------------------------------------------------

DEADLINE = T0 + timedelta(days=5)


def order(
    state: str = "dispatched",
    *,
    channel: str = "phone",
    department: str | None = "civil",
    completed: timedelta | None = None,
    urged: int = 0,
    redo: int = 0,
    deadline: datetime = DEADLINE,
) -> Cells:
    done = T0 + completed if completed is not None else None
    return order_cells(OrderFacts(channel, department, state, T0, deadline, done, urged, redo))


ORDER_TABLE = [
    ("completion_rate", [], (0, 0, None)),
    ("completion_rate", [order(), order("completed", completed=timedelta(days=1))], (1, 2, 0.5)),
    ("completion_rate", [order("merged"), order("closed", completed=timedelta(days=2))],
     (1, 1, 1.0)),
    ("on_time_completion_rate", [order()], (0, 0, None)),
    ("on_time_completion_rate", [order("completed", completed=timedelta(days=4)),
                                 order("completed", completed=timedelta(days=6))], (1, 2, 0.5)),
    ("on_time_completion_rate", [order("closed", completed=timedelta(days=6),
                                       deadline=T0 + timedelta(days=8))], (1, 1, 1.0)),
    ("urge_rate", [order(urged=2), order(), order("registered", department=None)], (1, 2, 0.5)),
    ("redo_rate", [order("in_progress", redo=1), order("closed", completed=timedelta(days=1)),
                   order()], (1, 2, 0.5)),
    ("orders_opened", [order(), order("merged"), order("registered")], (3, None, 3.0)),
]  # fmt: skip


@pytest.mark.parametrize(("key", "rows", "expected"), ORDER_TABLE)
def test_work_order_kpis(key: str, rows: list[Cells], expected: tuple) -> None:
    assert kpi(rows, key) == expected


def test_letters_and_visits_are_shown_on_their_own() -> None:
    rows = [
        order("completed", channel="letter", completed=timedelta(days=1)),
        order(channel="letter"),
        order("closed", channel="visit", completed=timedelta(days=1)),
        order(channel="phone"),
    ]
    per = figures_by_dimension(by_dim(rows))["channel"]
    rate = {ch: next(f for f in figs if f.key == "completion_rate") for ch, figs in per.items()}
    assert (rate["letter"].numerator, rate["letter"].denominator) == (1, 2)
    assert rate["visit"].value == 1.0 and rate["phone"].value == 0.0


def test_an_approved_extension_moves_the_due_date() -> None:
    before = order(deadline=DEADLINE)
    after = order(deadline=DEADLINE + timedelta(days=3))
    moved = {(c.metric, c.at, d) for c, d in cell_diff(before, after)}
    assert moved == {
        ("orders.due", DEADLINE, -1),
        ("orders.due", DEADLINE + timedelta(days=3), 1),
    }


# --- satisfaction -----------------------------------------------------------------------------


def answer(level: str) -> Cells:
    return survey_cells(SurveyAnswerFacts(level, T0, "phone"))


SURVEY = [
    "very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied",
    "satisfied", "nonsense",
]  # fmt: skip


def test_satisfaction_rate_and_basically_satisfied_per_configuration() -> None:
    rows = [answer(level) for level in SURVEY]
    assert kpi(rows, "satisfaction_rate") == (3, 6, 0.5)
    counted = KpiOptions(count_basically_satisfied=True)
    assert kpi(rows, "satisfaction_rate", counted) == (4, 6, 4 / 6)
    label = next(f for f in figures(counts(rows), counted) if f.key == "satisfaction_rate")
    assert "basically satisfied" in label.numerator_label
    assert kpi([], "satisfaction_rate") == (0, 0, None)


# --- windows ----------------------------------------------------------------------------------


def test_windows_are_whole_days_in_the_business_time_zone() -> None:
    late_evening_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    today = make_window("today", now=late_evening_utc, tz="Asia/Shanghai")
    assert today.first == today.last == date(2026, 3, 2)
    assert today.start == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    week = make_window("7d", now=late_evening_utc, tz="Asia/Shanghai")
    assert len(list(week.days())) == 7 and week.last == date(2026, 3, 2)
    span = make_window(
        None, now=T0, tz="Asia/Shanghai", first=date(2026, 1, 1), last=date(2026, 1, 31)
    )
    assert len(list(span.days())) == 31
    with pytest.raises(WindowError):
        make_window(None, now=T0, tz="Asia/Shanghai", first=date(2026, 2, 1), last=date(2026, 1, 1))
    with pytest.raises(WindowError):
        make_window("fortnight", now=T0, tz="Asia/Shanghai")


def test_a_range_outside_the_registry_dates_is_refused() -> None:
    from datetime import UTC, date, datetime

    from workorders.kpis import WindowError, make_window

    now = datetime(2026, 11, 28, tzinfo=UTC)
    with pytest.raises(WindowError, match="between"):
        make_window(None, now=now, tz="Asia/Shanghai", first=date(1, 1, 1), last=date(11, 1, 1))
