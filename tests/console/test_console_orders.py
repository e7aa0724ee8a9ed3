"""The console's work-order pages: the handler's moves, staff intake, supervision; every
change carries the user as the actor in the order's event log."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.db import Database
from hotline.users.roles import Role
from tests.console.conftest import ConsoleUser, csrf_token, logged_in, unique
from workorders.orders import WorkOrder, WorkOrderEvent


def _move(client: FlaskClient, number: str, move: str, **data: str) -> str:
    page = f"/console/orders/{number}"
    r = client.post(
        f"{page}/move", data={"move": move, **data, "csrf_token": csrf_token(client, page)}
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    return client.get(r.headers["Location"]).get_data(as_text=True)


def _events(database: Database, number: str) -> list[tuple[str, str]]:
    with database.session() as session:
        return [
            (e.move, e.actor)
            for e in session.execute(
                select(WorkOrderEvent)
                .join(WorkOrder)
                .where(WorkOrder.number == number)
                .order_by(WorkOrderEvent.id)
            ).scalars()
        ]


def test_a_handler_works_an_order(
    console_app: Flask,
    make_user: Callable[..., ConsoleUser],
    new_order: Callable[..., str],
    database: Database,
) -> None:
    handler = make_user(Role.HANDLER)
    number = new_order(handler.handler_code, summary=unique("broken promise"))
    client = logged_in(console_app, handler)
    listing = client.get("/console/orders/mine").get_data(as_text=True)
    assert number in listing and "data-live=" in listing
    page = _move(client, number, "accept")
    assert 'data-testid="state">accepted' in page
    page = _move(client, number, "request_extension", days="3", note="waiting for the bailiff")
    assert "Extension asked" in page
    page = _move(client, number, "reply", note="The property was seized.")
    assert 'data-testid="state">replied' in page
    page = _move(client, number, "complete")
    assert 'data-testid="state">completed' in page
    assert number not in client.get("/console/orders/mine/rows").get_data(as_text=True)
    actor = f"user:{handler.login}"
    assert _events(database, number)[2:] == [
        ("accept", actor),
        ("request_extension", actor),
        ("reply", actor),
        ("complete", actor),
    ]


def test_an_illegal_move_is_explained(
    console_app: Flask, make_user: Callable[..., ConsoleUser], new_order: Callable[..., str]
) -> None:
    handler = make_user(Role.HANDLER)
    number = new_order(handler.handler_code)
    client = logged_in(console_app, handler)
    page = _move(client, number, "complete")
    assert "Not done: cannot complete a work order that is dispatched" in page
    page = _move(client, number, "return", reason="not_ours")  # the note is missing
    assert "Not done:" in page and "note" in page


def test_a_handler_returns_an_order(
    console_app: Flask,
    make_user: Callable[..., ConsoleUser],
    new_order: Callable[..., str],
    database: Database,
) -> None:
    handler = make_user(Role.HANDLER)
    number = new_order(handler.handler_code)
    client = logged_in(console_app, handler)
    page = _move(client, number, "return", reason="not_ours", note="a criminal matter")
    assert f"{number}: return done" in page and f'data-number="{number}"' not in page
    # The returned order goes back to routing: the worker may already have dispatched it
    # again (never to this department) by the time the log is read.
    events = _events(database, number)
    returned = events.index(("return", f"user:{handler.login}"))
    assert all(move == "dispatch" for move, _ in events[returned + 1 :]), events


def test_staff_register_a_letter_and_duplicates_are_proposed(
    console_app: Flask, role_users: dict[str, ConsoleUser], database: Database
) -> None:
    client = logged_in(console_app, role_users["staff"])
    form = {
        "channel": "letter",
        "category": "enforcement",
        "urgency": "normal",
        "summary": "判决未执行 " + unique("s"),
        "statement": "The judgment is not enforced.",
        "contact_phone": f"+86137{secrets.randbelow(10**8):08d}",
        "contact_name": "Mr Fan",
    }
    r = client.post(
        "/console/intake", data={**form, "csrf_token": csrf_token(client, "/console/intake")}
    )
    assert r.status_code == 302
    number = r.headers["Location"].rsplit("/", 1)[1]
    assert _events(database, number) == [("register", f"user:{role_users['staff'].login}")]
    again = client.post(
        "/console/intake", data={**form, "csrf_token": csrf_token(client, "/console/intake")}
    )
    assert again.status_code == 409 and number in again.get_data(as_text=True)
    attached = client.post(
        "/console/intake",
        data={
            **form,
            "on_duplicate": "attach",
            "csrf_token": csrf_token(client, "/console/intake"),
        },
    )
    assert attached.headers["Location"].endswith(number)
    assert _events(database, number)[-1][0] == "attach_contact"
    bad = client.post(
        "/console/intake",
        data={
            **form,
            "contact_phone": "not a phone",
            "csrf_token": csrf_token(client, "/console/intake"),
        },
    )
    assert bad.status_code == 400 and "not a phone number" in bad.get_data(as_text=True)


def test_a_supervisor_flags_an_order(
    console_app: Flask,
    role_users: dict[str, ConsoleUser],
    new_order: Callable[..., str],
    database: Database,
) -> None:
    number = new_order()
    client = logged_in(console_app, role_users["supervisor"])
    assert number in client.get(f"/console/orders?q={number}").get_data(as_text=True)
    page = _move(client, number, "supervise", note="repeat caller, 3 calls in 1 day")
    assert "supervised" in page
    assert _events(database, number)[-1] == ("supervise", f"user:{role_users['supervisor'].login}")


def test_the_flagged_order_is_on_the_printable_supervision_list_and_its_csv(
    console_app: Flask,
    role_users: dict[str, ConsoleUser],
    new_order: Callable[..., str],
) -> None:
    number = new_order(summary=unique("hearing postponed again"))
    client = logged_in(console_app, role_users["supervisor"])
    _move(client, number, "supervise", note="three hearings postponed")
    page = client.get("/console/supervision").get_data(as_text=True)
    assert number in page and "flagged for supervision" in page
    assert "three hearings postponed" in page and "Ctrl+P" in page
    csv = client.get("/console/supervision.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    body = csv.get_data(as_text=True)
    assert body.startswith("rank,number") and number in body
    bad = client.get("/console/supervision?week=2026-W99").get_data(as_text=True)
    assert 'role="alert"' in bad  # a bad week is explained; this week is shown instead
