"""What each row contributes to the KPI counters: pure functions from row facts to cells.

A row (a call, a work order, a queue entry, a survey answer) contributes a fixed set of
*slots*; each slot holds at most one cell — a counter name, the instant whose time bucket it
lands in, the dimensions it is also counted under, and an amount. The live counters are the
sum of the cells of every row as it is now, so:

- live updates apply the difference between a row's cells before and after a transaction
  (differences commute, so commits applied out of order still add up);
- a rebuild from SQL sums the cells of the current rows, the same functions: by
  construction it equals what the live updates produced;
- a replayed webhook that changes nothing on its row changes no cell, and a status callback
  arriving out of order changes only what `apply_status` changed on the row.

Every cell of a call, a queue entry or an order cohort is bucketed at the row's start
(`started_at`, `enqueued_at`, `registered_at`), so a rate's numerator and denominator count
the same population; completion figures are bucketed at the deadline (due) or completion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Queue waits are kept as a histogram so "answered within N s" works for any N in it.
WAIT_BUCKETS_S = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300)
REPEAT_WINDOWS = {"24h": timedelta(hours=24), "48h": timedelta(hours=48)}

# Outcomes a work-order-less call can end with (workorders.calls.CallOutcome values).
RESOLVED = "resolved_in_ivr"
NO_REQUEST_OUTCOMES = frozenset({"no_request", "failed"})
# Queue-entry outcomes (the queues issue's QueueEntry.outcome) that count as a transfer request.
TRANSFER_OUTCOMES = frozenset({"answered", "abandoned", "queue_full", "timeout"})
QUEUE_OUTCOMES = TRANSFER_OUTCOMES | {"callback", "after_hours", "error"}


@dataclass(frozen=True, slots=True)
class Cell:
    metric: str
    at: datetime
    dims: tuple[tuple[str, str], ...] = ()
    amount: int = 1


Cells = Mapping[str, Cell | None]


def _dims(**values: str | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in values.items() if v)


@dataclass(frozen=True, slots=True)
class CallFacts:
    """An inbound or outbound call as the KPIs see it."""

    direction: str
    started_at: datetime
    step_seq: int  # > 0 once our TwiML answered the call
    outcome: str | None  # set by the call-outcome job when the call has ended
    previous_call_at: datetime | None = None  # the same number's previous inbound call


CALL_SLOTS = (
    "offered",
    "answered",
    "ended",
    "outcome",
    "with_request",
    "resolved",
    "no_request",
    "repeat_24h",
    "repeat_48h",
)


def call_cells(f: CallFacts) -> dict[str, Cell | None]:
    cells: dict[str, Cell | None] = dict.fromkeys(CALL_SLOTS)
    if f.direction != "inbound":  # callbacks and survey calls are not offered calls
        return cells
    at = f.started_at

    def cell(metric: str, **dims: str | None) -> Cell:
        return Cell(metric, at, _dims(**dims))

    cells["offered"] = cell("calls.offered")
    if f.step_seq > 0:
        cells["answered"] = cell("calls.answered")
    if f.outcome is None:
        return cells
    cells["ended"] = cell("calls.ended")
    cells["outcome"] = cell("calls.outcome", outcome=f.outcome)
    if f.outcome in NO_REQUEST_OUTCOMES:
        cells["no_request"] = cell("calls.no_request")
    else:
        cells["with_request"] = cell("calls.with_request")
        if f.outcome == RESOLVED:
            cells["resolved"] = cell("calls.resolved")
    if f.previous_call_at is not None:
        gap = at - f.previous_call_at
        for name, window in REPEAT_WINDOWS.items():
            if gap <= window:
                cells[f"repeat_{name}"] = cell(f"calls.repeat_{name}")
    return cells


@dataclass(frozen=True, slots=True)
class OrderFacts:
    channel: str
    department: str | None
    state: str
    registered_at: datetime
    deadline_at: datetime  # with approved extensions
    completed_at: datetime | None
    urge_count: int
    redo_count: int


ORDER_SLOTS = (
    "opened",
    "dispatched",
    "urged",
    "redo",
    "ever_completed",
    "due",
    "due_completed",
    "completed",
    "completed_on_time",
)


def order_cells(f: OrderFacts) -> dict[str, Cell | None]:
    cells: dict[str, Cell | None] = dict.fromkeys(ORDER_SLOTS)
    dims = _dims(channel=f.channel, department=f.department)

    def cell(metric: str, at: datetime) -> Cell:
        return Cell(metric, at, dims)

    cells["opened"] = cell("orders.opened", f.registered_at)
    if f.state not in ("registered", "merged") or (f.state == "merged" and f.department):
        cells["dispatched"] = cell("orders.dispatched", f.registered_at)
    if f.urge_count > 0:
        cells["urged"] = cell("orders.urged", f.registered_at)
    if f.redo_count > 0:
        cells["redo"] = cell("orders.redo", f.registered_at)
    if f.completed_at is not None or f.redo_count > 0:
        cells["ever_completed"] = cell("orders.ever_completed", f.registered_at)
    if f.state == "merged":  # its matter lives on in the parent order: never due
        return cells
    cells["due"] = cell("orders.due", f.deadline_at)
    if f.completed_at is not None:
        cells["due_completed"] = cell("orders.due_completed", f.deadline_at)
        cells["completed"] = cell("orders.completed", f.completed_at)
        if f.completed_at <= f.deadline_at:
            cells["completed_on_time"] = cell("orders.completed_on_time", f.completed_at)
    return cells


@dataclass(frozen=True, slots=True)
class QueueEntryFacts:
    """One caller's stay in an agent queue (the queues issue's `QueueEntry`)."""

    queue: str
    enqueued_at: datetime
    outcome: str | None  # None while still waiting
    wait_s: int | None = None
    agent: str | None = None
    handle_s: int | None = None


QUEUE_SLOTS = (
    "requested",
    "outcome",
    "answered",
    "wait_bucket",
    "wait_sum",
    "handled",
    "handle_sum",
)


def wait_bucket(wait_s: int) -> str:
    """The histogram bucket of a wait: the smallest bound ≥ the wait, or "inf"."""
    for bound in WAIT_BUCKETS_S:
        if wait_s <= bound:
            return str(bound)
    return "inf"


def queue_entry_cells(f: QueueEntryFacts) -> dict[str, Cell | None]:
    cells: dict[str, Cell | None] = dict.fromkeys(QUEUE_SLOTS)
    if f.outcome is None:
        return cells
    at = f.enqueued_at
    dims = _dims(queue=f.queue, agent=f.agent if f.outcome == "answered" else None)
    cells["outcome"] = Cell(f"queue.{f.outcome}", at, dims)
    if f.outcome in TRANSFER_OUTCOMES:
        cells["requested"] = Cell("queue.requested", at, _dims(queue=f.queue))
    if f.outcome == "answered":
        wait = max(0, f.wait_s or 0)
        cells["answered"] = Cell("queue.answered_counted", at, dims)
        cells["wait_bucket"] = Cell(f"queue.answered_wait_le_{wait_bucket(wait)}", at, dims)
        cells["wait_sum"] = Cell("queue.wait_s_sum", at, dims, wait)
        if f.handle_s is not None:
            cells["handled"] = Cell("queue.handled", at, dims)
            cells["handle_sum"] = Cell("queue.handle_s_sum", at, dims, max(0, f.handle_s))
    return cells


@dataclass(frozen=True, slots=True)
class SurveyAnswerFacts:
    """One answer on the 5-level satisfaction scale (follow-up of a work order or a call)."""

    level: str
    at: datetime
    channel: str | None = None
    department: str | None = None


SATISFACTION_LEVELS = (
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)


def survey_cells(f: SurveyAnswerFacts) -> dict[str, Cell | None]:
    if f.level not in SATISFACTION_LEVELS:  # not a valid answer: counted nowhere
        return {"answer": None}
    dims = _dims(channel=f.channel, department=f.department)
    return {"answer": Cell(f"survey.{f.level}", f.at, dims)}


def cell_diff(before: Cells, after: Cells) -> list[tuple[Cell, int]]:
    """(cell, +1/−1 times its amount) turning the counters of `before` into those of `after`."""
    changes: list[tuple[Cell, int]] = []
    for slot in before.keys() | after.keys():
        old, new = before.get(slot), after.get(slot)
        if old == new:
            continue
        if old is not None:
            changes.append((old, -old.amount))
        if new is not None:
            changes.append((new, new.amount))
    return changes
