"""The supervisors' endpoints (`bp`, under /api/v1): live KPIs, the weekly supervision list,
and CSV exports of calls, work orders and KPIs (streamed).

Any API token may read them. Exports carry full phone numbers (the token holder is an
authorised user of the registry); `?mask=true` masks them (`139****0000`). The supervision
list masks callers unless `?mask=false`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import redis
from flask import Response, current_app, stream_with_context
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from hotline import clock
from hotline.access import require_roles
from hotline.api.auth import authenticate
from hotline.api.openapi import Blueprint
from hotline.api.problems import Problem, register_blueprint_error_handlers
from hotline.config import Settings
from hotline.db import get_db, get_session
from hotline.kpis.export import kpis_csv
from hotline.kpis.snapshot import options_from, snapshot, window_for
from hotline.redis_store import redis_client
from hotline.supervision import as_csv, present
from hotline.users.roles import Role
from workorders.exports import calls_csv, orders_csv
from workorders.kpis import Window, WindowError
from workorders.supervision import Week, supervision_list

bp = Blueprint(
    "supervisors",
    __name__,
    description="Live KPIs with numerators and denominators, the weekly supervision list, "
    "and CSV exports.",
)
bp.before_request(authenticate)
register_blueprint_error_handlers(bp)

CSV = "text/csv"


class WindowQuery(Schema):
    window = fields.String(
        validate=validate.OneOf(["today", "yesterday", "7d", "30d"]),
        metadata={"description": "Default `today`; ignored when `from`/`to` are given."},
    )
    from_ = fields.Date(data_key="from", metadata={"description": "First local day (range)."})
    to = fields.Date(metadata={"description": "Last local day, inclusive."})


class ExportQuery(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    mask = fields.Boolean(load_default=False, metadata={"description": "Mask phone numbers."})


class SupervisionQuery(Schema):
    week = fields.String(
        metadata={"description": "ISO week (`2026-W48`) or a date in it; default: this week."}
    )
    format = fields.String(validate=validate.OneOf(["json", "csv"]), load_default="json")
    mask = fields.Boolean(load_default=True, metadata={"description": "Mask callers' numbers."})


class FigureSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "ratio (0..1), count, seconds"})
    numerator = fields.Integer(allow_none=True)
    denominator = fields.Integer(allow_none=True, metadata={"description": "null for plain counts"})
    value = fields.Float(
        allow_none=True, metadata={"description": "null when the denominator is 0 (never 100%)"}
    )
    numerator_label = fields.String()
    denominator_label = fields.String()
    note = fields.String()


class KpiSnapshotSchema(Schema):
    window = fields.Dict(required=True)
    generated_at = fields.String(required=True)
    kpis = fields.List(fields.Nested(FigureSchema), required=True)
    by = fields.Dict(
        metadata={"description": "{dimension: {value: [figure]}}: queue, agent, channel, "
                  "department where the definition allows"}
    )  # fmt: skip
    counters = fields.Dict(keys=fields.String(), values=fields.Integer())
    stale = fields.String(allow_none=True)
    rebuilt_at = fields.String(allow_none=True)


class ReasonSchema(Schema):
    code = fields.String(required=True)
    text = fields.String(required=True)


class SupervisionItemSchema(Schema):
    rank = fields.Integer(required=True)
    number = fields.String(allow_none=True)
    caller = fields.String(allow_none=True)
    summary = fields.String()
    state = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    deadline = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    weight = fields.Integer()
    supervision_note = fields.String(allow_none=True)


class SupervisionListSchema(Schema):
    week = fields.String(required=True)
    monday = fields.String(required=True)
    items = fields.List(fields.Nested(SupervisionItemSchema), required=True)


# The registry's figures and full exports are for supervisors (and admins): roles are
# checked before the query is parsed.
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _window(query: dict[str, Any]) -> Window:
    try:
        return window_for(
            _settings(),
            query.get("window"),
            first=query.get("from_"),
            last=query.get("to"),
            now=datetime.now(UTC),
        )
    except WindowError as exc:
        raise Problem(422, "validation_error", str(exc)) from None


def _redis() -> redis.Redis:
    try:
        client = redis_client(_settings())
        client.ping()
    except redis.RedisError as exc:
        raise Problem(
            503, "kpis_unavailable", f"the live counters are unreachable: {exc}"
        ) from None
    return client


@bp.route("/kpis")
class Kpis(MethodView):
    @require_roles(*SUPERVISORS)
    @bp.arguments(WindowQuery, location="query")
    @bp.response(200, KpiSnapshotSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every KPI with numerator, denominator and value for a window"""
        return snapshot(_redis(), window=_window(query), options=options_from(_settings()))


@bp.route("/supervision")
class Supervision(MethodView):
    @require_roles(*SUPERVISORS)
    @bp.arguments(SupervisionQuery, location="query")
    @bp.response(200, SupervisionListSchema, description="JSON, or CSV with `format=csv`.")
    # One status, two media types: smorest's alt_response would replace the JSON one.
    @bp.doc(
        responses={
            "200": {
                "description": "JSON, or CSV with `format=csv`.",
                "content": {
                    "application/json": {"schema": SupervisionListSchema},
                    CSV: {"schema": {"type": "string"}},
                },
            }
        }
    )
    def get(self, query: dict[str, Any]) -> Any:
        """The weekly supervision list, with the reasons for each matter"""
        settings = _settings()
        now = clock.now(settings)
        try:
            week = Week.parse(query.get("week"), today=now.date(), tz=settings.timezone)
        except ValueError as exc:
            raise Problem(422, "validation_error", str(exc)) from None
        session = get_session()
        items = supervision_list(session, week=week, now=now)
        rows = present(session, items, tz=settings.timezone, mask=query["mask"])
        if query["format"] == "csv":
            return _csv(as_csv(rows), f"supervision-{week.label}.csv")
        return {"week": week.label, "monday": week.monday.isoformat(), "items": rows}


@bp.route("/exports/<any(calls, orders, kpis):kind>")
class Export(MethodView):
    @require_roles(*SUPERVISORS)
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, content_type=CSV, description="CSV, streamed (RFC 4180, UTF-8).")
    def get(self, query: dict[str, Any], kind: str) -> Response:
        """CSV of calls, work orders (registered in the range) or daily KPIs"""
        settings = _settings()
        first: date = query["from_"]
        last: date = query["to"]
        window = _window({"from_": first, "to": last})
        name = f"{kind}-{first.isoformat()}-{last.isoformat()}.csv"
        if kind == "kpis":
            return _csv(kpis_csv(_redis(), window=window, options=options_from(settings)), name)
        export = calls_csv if kind == "calls" else orders_csv
        return _csv(_in_own_session(export, window, settings, query["mask"]), name)


def _in_own_session(export: Any, window: Window, settings: Settings, mask: bool) -> Iterator[str]:
    """The rows are read while the response streams, after the view returned: the generator
    holds its own session (and cursor) and closes it when done or abandoned."""
    with get_db().session() as session:
        yield from export(
            session, start=window.start, end=window.end, tz=settings.timezone, mask=mask
        )


def _csv(lines: Iterator[str], filename: str) -> Response:
    return Response(
        stream_with_context(lines),
        mimetype=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
