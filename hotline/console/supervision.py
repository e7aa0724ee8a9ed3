"""The weekly supervision list (督办) for the president's meeting: the proposed matters with
the reason for each, as a printable page and as CSV."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from hotline import clock
from hotline.access import require_roles
from hotline.config import Settings
from hotline.console import bp
from hotline.console.nav import add_nav
from hotline.db import get_session
from hotline.supervision import as_csv, present
from hotline.users.roles import Role
from workorders.supervision import Week, supervision_list

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)

add_nav("Supervision list", "console.supervision", *SUPERVISORS, accesskey="w",
        description="This week's matters for the supervision meeting: print or CSV.")  # fmt: skip


def _week(settings: Settings) -> tuple[Week, str | None]:
    """The asked week (`?week=2026-W48`), or this week with an error to show."""
    today = clock.now(settings).date()
    try:
        return Week.parse(request.args.get("week") or None, today=today, tz=settings.timezone), None
    except ValueError as exc:
        return Week.parse(None, today=today, tz=settings.timezone), str(exc)


@bp.route("/supervision")
@require_roles(*SUPERVISORS)
def supervision() -> str:
    settings: Settings = current_app.config["SETTINGS"]
    week, error = _week(settings)
    session = get_session()
    items = supervision_list(session, week=week, now=clock.now(settings))
    rows = present(session, items, tz=settings.timezone, mask=True)
    return render_template("console/supervision.html", week=week, rows=rows, error=error)


@bp.route("/supervision.csv")
@require_roles(*SUPERVISORS)
def supervision_csv() -> Response:
    settings: Settings = current_app.config["SETTINGS"]
    week, _ = _week(settings)
    session = get_session()
    items = supervision_list(session, week=week, now=clock.now(settings))
    rows = present(session, items, tz=settings.timezone, mask=True)
    return Response(
        as_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="supervision-{week.label}.csv"'},
    )
