"""The work-order closed loop as one pure transition table (12345 / 12368 practice).

Every move a person or the system can make on an order is checked here before anything is
written: which states it is allowed from, which state it leads to, and what it requires
(a coded reason, a note, a parent order…). Moves that do not change the state (urge,
supervise, remind…) are in the table too, so the event log has one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    COMPLETED = "completed"
    CLOSED = "closed"
    MERGED = "merged"


OPEN_STATES = frozenset(
    {State.REGISTERED, State.DISPATCHED, State.ACCEPTED, State.IN_PROGRESS, State.REPLIED}
)
# States in which the order's deadline runs (reminders, overdue notices, escalation).
TIMED_STATES = OPEN_STATES


class Move(StrEnum):
    REGISTER = "register"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"  # 退单: back to the dispatcher with a coded reason
    START = "start"
    REQUEST_EXTENSION = "request_extension"  # 延期申请
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    REPLY = "reply"
    COMPLETE = "complete"  # 办结
    FOLLOW_UP = "follow_up"  # 回访: the citizen's satisfaction recorded
    CLOSE = "close"  # closed without a survey answer (unreachable, anonymous…)
    REOPEN = "reopen"  # 重办: dissatisfied or the matter recurred
    MERGE = "merge"
    TRANSFER = "transfer"  # to another department
    URGE = "urge"  # 催办
    SUPERVISE = "supervise"  # 督办
    ATTACH_CONTACT = "attach_contact"  # a repeat contact about this matter
    NOTE = "note"
    # Timers, written by the system.
    REMIND = "remind"
    OVERDUE = "overdue"
    ESCALATE = "escalate"


class ReturnReason(StrEnum):
    NOT_OURS = "not_ours"
    WRONG_CATEGORY = "wrong_category"
    DUPLICATE = "duplicate"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OTHER = "other"


class Satisfaction(StrEnum):
    """The 5-level follow-up scale (满意度)."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"


@dataclass(frozen=True, slots=True)
class Rule:
    sources: frozenset[State]
    target: State | None  # None: the state does not change
    needs_reason: bool = False  # a ReturnReason code
    needs_note: bool = False
    needs_department: bool = False
    needs_parent: bool = False
    needs_satisfaction: bool = False


_ANY_OPEN = OPEN_STATES
_WORKING = frozenset({State.ACCEPTED, State.IN_PROGRESS})

TABLE: dict[Move, Rule] = {
    Move.DISPATCH: Rule(frozenset({State.REGISTERED}), State.DISPATCHED, needs_department=True),
    Move.ACCEPT: Rule(frozenset({State.DISPATCHED}), State.ACCEPTED),
    Move.RETURN: Rule(frozenset({State.DISPATCHED, State.ACCEPTED}), State.REGISTERED,
                      needs_reason=True, needs_note=True),
    Move.START: Rule(frozenset({State.ACCEPTED}), State.IN_PROGRESS),
    Move.REQUEST_EXTENSION: Rule(_WORKING, None, needs_note=True),
    Move.APPROVE_EXTENSION: Rule(_WORKING, None),
    Move.REFUSE_EXTENSION: Rule(_WORKING, None, needs_note=True),
    Move.REPLY: Rule(_WORKING, State.REPLIED, needs_note=True),
    Move.COMPLETE: Rule(frozenset({State.REPLIED}), State.COMPLETED),
    Move.FOLLOW_UP: Rule(frozenset({State.COMPLETED}), State.CLOSED, needs_satisfaction=True),
    Move.CLOSE: Rule(frozenset({State.COMPLETED}), State.CLOSED, needs_note=True),
    Move.REOPEN: Rule(frozenset({State.COMPLETED, State.CLOSED}), State.IN_PROGRESS,
                      needs_note=True),
    Move.MERGE: Rule(_ANY_OPEN, State.MERGED, needs_parent=True),
    Move.TRANSFER: Rule(frozenset({State.DISPATCHED, State.ACCEPTED, State.IN_PROGRESS}),
                        State.DISPATCHED, needs_department=True, needs_note=True),
    Move.URGE: Rule(_ANY_OPEN, None),
    Move.SUPERVISE: Rule(_ANY_OPEN | {State.COMPLETED}, None, needs_note=True),
    Move.ATTACH_CONTACT: Rule(_ANY_OPEN | {State.COMPLETED, State.CLOSED}, None),
    Move.NOTE: Rule(frozenset(State) - {State.MERGED}, None, needs_note=True),
    Move.REMIND: Rule(TIMED_STATES, None),
    Move.OVERDUE: Rule(TIMED_STATES, None),
    Move.ESCALATE: Rule(TIMED_STATES, None),
}  # fmt: skip


class IllegalMove(ValueError):
    """A move the lifecycle does not allow; the message says why, for people."""

    def __init__(self, move: Move | str, state: State | str, why: str) -> None:
        self.move, self.state, self.why = str(move), str(state), why
        super().__init__(f"cannot {self.move} a work order that is {self.state}: {why}")


@dataclass(frozen=True, slots=True)
class MoveRequest:
    """What a move carries besides the order itself."""

    reason: str | None = None
    note: str | None = None
    department: str | None = None
    parent_id: int | None = None
    satisfaction: str | None = None
    handler: str | None = None  # a handler code, with dispatch / transfer
    days: int | None = None  # working days asked for, with request_extension


NO_DETAILS = MoveRequest()


def check_move(state: State | str, move: Move | str, request: MoveRequest = NO_DETAILS) -> State:
    """The state after `move` from `state`, or IllegalMove saying what is wrong."""
    try:
        move = Move(move)
    except ValueError:
        raise IllegalMove(move, state, f"unknown move; known: {', '.join(Move)}") from None
    state = State(state)
    if move is Move.REGISTER:
        raise IllegalMove(move, state, "an order is registered only once, at intake")
    rule = TABLE[move]
    if state not in rule.sources:
        allowed = ", ".join(sorted(rule.sources))
        raise IllegalMove(move, state, f"allowed only when the order is {allowed}")
    if rule.needs_reason and request.reason not in ReturnReason._value2member_map_:
        raise IllegalMove(move, state, f"a reason code is required: {', '.join(ReturnReason)}")
    if rule.needs_note and not (request.note or "").strip():
        raise IllegalMove(move, state, "a note saying why is required")
    if rule.needs_department and not request.department:
        raise IllegalMove(move, state, "a department is required")
    if rule.needs_parent and request.parent_id is None:
        raise IllegalMove(move, state, "the order to merge into is required")
    if move is Move.REQUEST_EXTENSION and not (request.days and 0 < request.days <= 60):
        raise IllegalMove(move, state, "the number of working days asked for (1–60) is required")
    if rule.needs_satisfaction and request.satisfaction not in Satisfaction._value2member_map_:
        raise IllegalMove(
            move, state, f"a satisfaction level is required: {', '.join(Satisfaction)}"
        )
    return rule.target or state


def allowed_moves(state: State | str) -> list[Move]:
    """The moves a person could make now (for the console's buttons and the API's hints)."""
    state = State(state)
    return [m for m, rule in TABLE.items() if state in rule.sources]
