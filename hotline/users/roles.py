"""Roles and what each may do with a work order: one table the console and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from workorders.lifecycle import Move


class Role(StrEnum):
    AGENT = "agent"  # answers transferred calls, opens or updates orders during the call
    HANDLER = "handler"  # works the orders dispatched to them (a department's clerk)
    STAFF = "staff"  # registers letters and visits, dispatches, runs follow-ups
    SUPERVISOR = "supervisor"  # flags for supervision, decides extensions, reopens
    ADMIN = "admin"  # users and roles, everything else


ALL_ROLES = frozenset(Role)

# Who may make which move (admins may make every move a person can make). Timer moves
# (remind, overdue, escalate) and register are the system's own and not in the table.
MOVE_ROLES: dict[Move, frozenset[Role]] = {
    Move.DISPATCH: frozenset({Role.STAFF, Role.SUPERVISOR}),
    Move.ACCEPT: frozenset({Role.HANDLER}),
    Move.RETURN: frozenset({Role.HANDLER}),
    Move.START: frozenset({Role.HANDLER}),
    Move.REQUEST_EXTENSION: frozenset({Role.HANDLER}),
    Move.APPROVE_EXTENSION: frozenset({Role.SUPERVISOR}),
    Move.REFUSE_EXTENSION: frozenset({Role.SUPERVISOR}),
    Move.REPLY: frozenset({Role.HANDLER}),
    Move.COMPLETE: frozenset({Role.HANDLER}),
    Move.FOLLOW_UP: frozenset({Role.STAFF, Role.AGENT}),
    Move.CLOSE: frozenset({Role.STAFF}),
    Move.REOPEN: frozenset({Role.SUPERVISOR}),
    Move.MERGE: frozenset({Role.STAFF, Role.SUPERVISOR}),
    Move.TRANSFER: frozenset({Role.STAFF, Role.SUPERVISOR}),
    Move.URGE: frozenset({Role.AGENT, Role.STAFF, Role.SUPERVISOR}),
    Move.SUPERVISE: frozenset({Role.SUPERVISOR}),
    Move.ATTACH_CONTACT: frozenset({Role.AGENT, Role.STAFF}),
    Move.NOTE: frozenset({Role.AGENT, Role.HANDLER, Role.STAFF, Role.SUPERVISOR}),
}


def may_move(roles: Iterable[str], move: Move | str) -> bool:
    held = set(roles)
    if Role.ADMIN in held:
        return Move(move) in MOVE_ROLES
    return bool(held & MOVE_ROLES.get(Move(move), frozenset()))


def owns_enough(
    roles: Iterable[str], move: Move | str, *, handler_id: int | None, order_handler_id: int | None
) -> bool:
    """A move someone may make only as a handler is for the orders dispatched to them."""
    held = set(roles)
    if Role.ADMIN in held or held & (MOVE_ROLES.get(Move(move), frozenset()) - {Role.HANDLER}):
        return True
    return handler_id is not None and order_handler_id == handler_id


class RoleError(ValueError):
    pass


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Roles from names (comma-separated or separate), or RoleError naming the bad ones."""
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    bad = [n for n in names if n not in Role._value2member_map_]
    if bad:
        raise RoleError(f"unknown role(s) {', '.join(bad)}; known: {', '.join(Role)}")
    return frozenset(Role(n) for n in names)


def format_roles(roles: Iterable[str]) -> str:
    """The stored form: sorted, comma-separated (one column, no join table to keep in step)."""
    order = list(Role)
    return ",".join(sorted({str(r) for r in roles}, key=lambda r: order.index(Role(r))))
