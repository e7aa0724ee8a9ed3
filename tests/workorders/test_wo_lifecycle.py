"""The lifecycle table, as a table: every allowed move, and the errors for the rest."""

from __future__ import annotations

import pytest

from workorders.lifecycle import (
    OPEN_STATES,
    TABLE,
    IllegalMove,
    Move,
    MoveRequest,
    State,
    allowed_moves,
    check_move,
)

S = State
NOTE = MoveRequest(note="why")

ALLOWED = [
    (S.REGISTERED, Move.DISPATCH, MoveRequest(department="enforcement"), S.DISPATCHED),
    (S.DISPATCHED, Move.ACCEPT, MoveRequest(), S.ACCEPTED),
    (
        S.DISPATCHED,
        Move.RETURN,
        MoveRequest(reason="not_ours", note="criminal matter"),
        S.REGISTERED,
    ),
    (
        S.ACCEPTED,
        Move.RETURN,
        MoveRequest(reason="duplicate", note="see WO-2026-000001"),
        S.REGISTERED,
    ),
    (S.ACCEPTED, Move.START, MoveRequest(), S.IN_PROGRESS),
    (
        S.IN_PROGRESS,
        Move.REQUEST_EXTENSION,
        MoveRequest(note="expert report", days=5),
        S.IN_PROGRESS,
    ),
    (S.IN_PROGRESS, Move.APPROVE_EXTENSION, MoveRequest(), S.IN_PROGRESS),
    (S.IN_PROGRESS, Move.REFUSE_EXTENSION, NOTE, S.IN_PROGRESS),
    (S.IN_PROGRESS, Move.REPLY, NOTE, S.REPLIED),
    (S.ACCEPTED, Move.REPLY, NOTE, S.REPLIED),
    (S.REPLIED, Move.COMPLETE, MoveRequest(), S.COMPLETED),
    (S.COMPLETED, Move.FOLLOW_UP, MoveRequest(satisfaction="satisfied"), S.CLOSED),
    (S.COMPLETED, Move.CLOSE, NOTE, S.CLOSED),
    (S.COMPLETED, Move.REOPEN, NOTE, S.IN_PROGRESS),
    (S.CLOSED, Move.REOPEN, NOTE, S.IN_PROGRESS),
    (S.IN_PROGRESS, Move.MERGE, MoveRequest(parent_id=7), S.MERGED),
    (S.REGISTERED, Move.MERGE, MoveRequest(parent_id=7), S.MERGED),
    (S.ACCEPTED, Move.TRANSFER, MoveRequest(department="criminal", note="criminal"), S.DISPATCHED),
    (S.DISPATCHED, Move.URGE, MoveRequest(), S.DISPATCHED),
    (S.IN_PROGRESS, Move.SUPERVISE, NOTE, S.IN_PROGRESS),
    (S.CLOSED, Move.ATTACH_CONTACT, MoveRequest(), S.CLOSED),
    (S.REPLIED, Move.REMIND, MoveRequest(), S.REPLIED),
]


@pytest.mark.parametrize(("state", "move", "request_", "expected"), ALLOWED)
def test_allowed_moves(state: State, move: Move, request_: MoveRequest, expected: State) -> None:
    assert check_move(state, move, request_) is expected
    assert move in allowed_moves(state)


ILLEGAL = [
    (S.REGISTERED, Move.ACCEPT, MoveRequest(), "allowed only when the order is dispatched"),
    (S.COMPLETED, Move.REPLY, NOTE, "allowed only when"),
    (S.CLOSED, Move.FOLLOW_UP, MoveRequest(satisfaction="satisfied"), "allowed only when"),
    (S.MERGED, Move.NOTE, NOTE, "allowed only when"),
    (S.MERGED, Move.REOPEN, NOTE, "allowed only when"),
    (S.CLOSED, Move.MERGE, MoveRequest(parent_id=1), "allowed only when"),
    (S.COMPLETED, Move.REMIND, MoveRequest(), "allowed only when"),
    (S.DISPATCHED, Move.RETURN, MoveRequest(reason="lazy", note="x"), "a reason code is required"),
    (S.DISPATCHED, Move.RETURN, MoveRequest(reason="not_ours"), "a note saying why"),
    (S.REGISTERED, Move.DISPATCH, MoveRequest(), "a department is required"),
    (S.IN_PROGRESS, Move.MERGE, MoveRequest(), "the order to merge into"),
    (S.COMPLETED, Move.FOLLOW_UP, MoveRequest(satisfaction="meh"), "a satisfaction level"),
    (S.IN_PROGRESS, Move.REQUEST_EXTENSION, NOTE, "working days asked for"),
    (
        S.IN_PROGRESS,
        Move.REQUEST_EXTENSION,
        MoveRequest(note="x", days=90),
        "working days asked for",
    ),
    (S.IN_PROGRESS, Move.REPLY, MoveRequest(note="   "), "a note saying why"),
    (S.REGISTERED, Move.REGISTER, MoveRequest(), "registered only once"),
    (S.REGISTERED, "teleport", MoveRequest(), "unknown move"),
]


@pytest.mark.parametrize(("state", "move", "request_", "why"), ILLEGAL)
def test_illegal_moves_say_why(state: State, move: str, request_: MoveRequest, why: str) -> None:
    with pytest.raises(IllegalMove, match=why):
        check_move(state, move, request_)


def test_every_move_but_register_is_in_the_table_and_nothing_leaves_merged() -> None:
    assert set(TABLE) == set(Move) - {Move.REGISTER}
    assert allowed_moves(S.MERGED) == []
    for state in OPEN_STATES:
        assert Move.MERGE in allowed_moves(state)
