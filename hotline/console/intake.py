"""Staff register a letter or a visit: the API's intake (duplicates proposed first) as a form."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hotline import clock
from hotline.access import require_principal, require_roles
from hotline.api.intake import replay, take_in
from hotline.api.problems import Problem
from hotline.config import Settings
from hotline.console import bp
from hotline.console.nav import add_nav
from hotline.db import get_session
from hotline.orders.after_move import after_commit
from hotline.orders.jobs import enqueue_routing
from hotline.orders.runtime import OrdersRuntime
from hotline.users.roles import Role
from workorders.orders import Channel, Urgency
from workorders.organisation import Category
from workorders.phones import normalize_number
from workorders.services import Intake, WorkOrderError

INTAKE_ROLES = (Role.STAFF, Role.ADMIN)
CHANNELS = (Channel.LETTER, Channel.VISIT, Channel.TRANSFER)
FIELDS = ("channel", "category", "urgency", "summary", "statement", "contact_name",
          "contact_phone", "contact_address", "case_number", "external_ref")  # fmt: skip

add_nav("Register a letter or visit", "console.intake", *INTAKE_ROLES, accesskey="r",
        description="Letters, walk-in visits and superior-court transfers.")  # fmt: skip


def _categories() -> list[Category]:
    return list(
        get_session()
        .execute(select(Category).where(Category.active.is_(True)).order_by(Category.code))
        .scalars()
    )


def _form(values: dict[str, str], **extra: Any) -> Any:
    return render_template(
        "console/intake.html",
        values=values,
        channels=CHANNELS,
        urgencies=list(Urgency),
        categories=_categories(),
        **extra,
    )


@bp.route("/intake", methods=["GET", "POST"])
@require_roles(*INTAKE_ROLES)
def intake() -> Any:
    if request.method == "GET":
        return _form({"channel": "letter", "urgency": "normal"})
    values = {f: request.form.get(f, "").strip() for f in FIELDS}
    settings: Settings = current_app.config["SETTINGS"]
    runtime: OrdersRuntime = current_app.extensions["hotline.orders"]
    problems = []
    if values["channel"] not in CHANNELS:
        problems.append("choose letter, visit or transfer")
    phone = None
    if values["contact_phone"]:
        phone = normalize_number(values["contact_phone"], settings.default_region)
        if phone is None:
            problems.append(f"{values['contact_phone']!r} is not a phone number")
    if problems:
        return _form(values, errors=problems), 400
    item = Intake(
        channel=values["channel"],
        category=values["category"],
        summary=values["summary"][:300],
        statement=values["statement"][:20000],
        urgency=values["urgency"] or Urgency.NORMAL,
        contact_phone=phone,
        contact_name=values["contact_name"][:200] or None,
        contact_address=values["contact_address"][:500] or None,
        case_number=values["case_number"][:60] or None,
        external_ref=values["external_ref"][:120] or None,
        region=settings.default_region,
    )
    on_duplicate = request.form.get("on_duplicate", "propose")
    if on_duplicate not in ("propose", "attach", "register"):
        on_duplicate = "propose"
    session = get_session()
    try:
        outcome = take_in(
            session,
            item,
            on_duplicate=on_duplicate,
            actor=require_principal().actor,
            calendar=runtime.calendar,
            now=clock.now(settings),
        )
        session.commit()
    except Problem as exc:  # possible duplicates: nothing written, the user decides
        session.rollback()
        return _form(values, candidates=exc.extra.get("candidates", [])), 409
    except WorkOrderError as exc:
        session.rollback()
        return _form(values, errors=[str(exc)]), 400
    except IntegrityError:
        session.rollback()
        again = replay(session, item)
        if again is None:
            raise
        outcome = again
    order = outcome.order
    if outcome.created:
        after_commit("queue routing", lambda: enqueue_routing(settings, order.id))
        flash(f"Registered {order.number}; it is being routed.", "ok")
    elif outcome.attached:
        flash(f"Added as a repeat contact to {order.number}.", "ok")
    else:
        flash(f"{order.number} was registered before with this reference.", "ok")
    return redirect(url_for("console.order_page", number=order.number))
