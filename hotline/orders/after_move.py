"""What follows a committed move, wherever it was made (API, console): deadline timers when
timing starts or the deadline moves, routing when an order comes back to be dispatched."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from hotline.config import Settings
from hotline.orders.jobs import enqueue_routing, schedule_timers
from hotline.orders.runtime import OrdersRuntime
from workorders.lifecycle import Move, State
from workorders.orders import WorkOrder

log = logging.getLogger(__name__)

# Moves after which the deadline timers must be (re)scheduled: timing starts or the
# deadline moves.
TIMING_MOVES = frozenset({Move.DISPATCH, Move.APPROVE_EXTENSION, Move.REOPEN, Move.TRANSFER})


def after_commit(what: str, job: Callable[[], object]) -> None:
    # The data is committed; a Redis outage must not turn that into an error (the sweep
    # and the dispatchers catch up from SQL).
    try:
        job()
    except redis.RedisError as exc:
        log.warning("could not %s after commit: %s", what, exc)


def after_move(settings: Settings, runtime: OrdersRuntime, order: WorkOrder, move: Move) -> None:
    """Call after the commit of `move` on `order` (commit, then enqueue)."""
    reopened = move is Move.FOLLOW_UP and order.state == State.IN_PROGRESS
    if move in TIMING_MOVES or reopened:
        after_commit("schedule timers", lambda: schedule_timers(settings, order, runtime))
    if move is Move.RETURN:
        after_commit("queue routing", lambda: enqueue_routing(settings, order.id))
