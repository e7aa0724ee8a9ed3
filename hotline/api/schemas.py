"""Marshmallow schemas of the API: what requests may carry and what responses contain.

They validate input and, through flask-smorest and apispec, are the OpenAPI document.
Responses are dumped from plain dicts built in `hotline.api.present`, so every field here
has a real type in the document (no untyped method fields).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from workorders.lifecycle import Move, ReturnReason, Satisfaction, State
from workorders.orders import Channel, Urgency

# Moves the system writes itself (registration, deadline timers) are not offered.
SYSTEM_MOVES = frozenset({Move.REGISTER, Move.REMIND, Move.OVERDUE, Move.ESCALATE})
API_MOVES = [m.value for m in Move if m not in SYSTEM_MOVES]
ON_DUPLICATE = ["propose", "attach", "register"]


class Text(fields.String):
    """A string PostgreSQL can store: NUL characters are refused here, not by the database."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        return text


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


def _one_of(values: Any) -> validate.OneOf:
    return validate.OneOf([str(v) for v in values])


# --- requests ---------------------------------------------------------------------------


class ContactInSchema(Schema):
    name = Text(allow_none=True, validate=validate.Length(max=200))
    phone = Text(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Any usual form; stored in E.164 (default region: CN)."},
    )
    address = Text(allow_none=True, validate=validate.Length(max=400))


class IntakeSchema(Schema):
    channel = fields.String(required=True, validate=_one_of(Channel))
    category = Text(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A category code (GET /categories)."},
    )
    summary = Text(required=True, validate=[validate.Length(min=1, max=300), _not_blank])
    statement = Text(load_default="", validate=validate.Length(max=20000))
    urgency = fields.String(load_default=str(Urgency.NORMAL), validate=_one_of(Urgency))
    language = fields.String(
        load_default="zh-CN",
        validate=validate.OneOf(["zh-CN", "en-US"]),
        metadata={"description": "The citizen's language, for the messages sent to them."},
    )
    contact = fields.Nested(ContactInSchema, load_default=dict)
    anonymous = fields.Boolean(
        load_default=False,
        metadata={"description": "Name and phone are then never shown to handlers."},
    )
    case_number = Text(allow_none=True, validate=validate.Length(max=60))
    case_division = Text(allow_none=True, validate=validate.Length(max=40))
    external_ref = Text(
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "The sender's own reference; unique per channel: sending "
            "the same one again returns the order already registered (200)."
        },
    )
    on_duplicate = fields.String(
        load_default="propose",
        validate=validate.OneOf(ON_DUPLICATE),
        metadata={
            "description": "When open orders look like the same matter: `propose` "
            "answers 409 with the candidates and writes nothing; `attach` records a "
            "repeat contact on the best candidate; `register` registers anyway."
        },
    )


class MoveSchema(Schema):
    move = fields.String(required=True, validate=validate.OneOf(API_MOVES))
    note = Text(allow_none=True, validate=validate.Length(max=20000))
    reason = fields.String(
        allow_none=True,
        validate=_one_of(ReturnReason),
        metadata={"description": "With `return`."},
    )
    department = Text(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "A department code, with `dispatch` and `transfer`."},
    )
    handler = Text(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "A handler code of that department (optional)."},
    )
    parent = Text(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "The number of the order to merge into, with `merge`."},
    )
    satisfaction = fields.String(
        allow_none=True,
        validate=_one_of(Satisfaction),
        metadata={"description": "With `follow_up`; a dissatisfied answer reopens the order."},
    )
    days = fields.Integer(
        strict=True,
        allow_none=True,
        metadata={"description": "Working days asked for (1–60), with `request_extension`."},
    )
    version = fields.Integer(
        strict=True,
        allow_none=True,
        metadata={"description": "The version the client saw; 409 `conflict` if it changed."},
    )


class OrderFilterSchema(Schema):
    state = fields.List(
        fields.String(validate=_one_of(State)),
        metadata={"description": "Repeatable: `?state=registered&state=dispatched`."},
    )
    department = Text(validate=validate.Length(max=40))
    channel = fields.String(validate=_one_of(Channel))
    overdue = fields.Boolean(metadata={"description": "Open and past the deadline."})
    supervised = fields.Boolean()
    contact_phone = Text(
        validate=validate.Length(max=40),
        metadata={"description": "Anonymous orders are never matched by phone."},
    )
    registered_from = fields.AwareDateTime(
        metadata={"description": "ISO 8601 with an offset (write `+` as `%2B`, or use `Z`)."}
    )
    registered_to = fields.AwareDateTime()


# --- responses --------------------------------------------------------------------------


class ContactSchema(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164"})
    address = fields.String(allow_none=True)


class EventSchema(Schema):
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    move = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(required=True)
    reason_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    data = fields.Dict(keys=fields.String(), required=True)


class WorkOrderSchema(Schema):
    number = fields.String(required=True, metadata={"example": "WO-2026-000123"})
    channel = fields.String(required=True, validate=_one_of(Channel))
    external_ref = fields.String(allow_none=True)
    state = fields.String(required=True, validate=_one_of(State))
    category = fields.String(required=True)
    urgency = fields.String(required=True, validate=_one_of(Urgency))
    summary = fields.String(required=True)
    statement = fields.String(required=True)
    anonymous = fields.Boolean(required=True)
    contact = fields.Nested(
        ContactSchema,
        required=True,
        metadata={"description": "Name and phone are null when the order is anonymous."},
    )
    case_number = fields.String(allow_none=True)
    case_division = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    handler = fields.String(allow_none=True)
    registered_at = fields.DateTime(required=True)
    deadline = fields.DateTime(required=True)
    original_deadline = fields.DateTime(required=True)
    overdue = fields.Boolean(required=True)
    extension_requested_days = fields.Integer(allow_none=True)
    supervised = fields.Boolean(required=True)
    supervision_note = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)
    urge_count = fields.Integer(required=True)
    redo_count = fields.Integer(required=True)
    contact_count = fields.Integer(required=True)
    reply = fields.String(allow_none=True)
    satisfaction = fields.String(allow_none=True)
    replied_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)
    allowed_moves = fields.List(fields.String(), required=True)


class WorkOrderDetailSchema(WorkOrderSchema):
    events = fields.List(fields.Nested(EventSchema), required=True)


class CandidateSchema(Schema):
    number = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Text similarity, 0–100."})
    reasons = fields.List(fields.String(), required=True)
    state = fields.String(required=True)


class IntakeResultSchema(WorkOrderDetailSchema):
    attached = fields.Boolean(
        required=True, metadata={"description": "Recorded as a repeat contact on this order."}
    )
    replayed = fields.Boolean(
        required=True, metadata={"description": "This external_ref was received before."}
    )
    possible_duplicates = fields.List(fields.Nested(CandidateSchema), required=True)


class HandlerSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    on_duty = fields.Boolean(required=True)


class DepartmentSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    handlers = fields.List(fields.Nested(HandlerSchema), required=True)


class CategorySchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    limit_days = fields.Integer(
        required=True, metadata={"description": "Working days; 0 is the same working day."}
    )
    urgent_limit_days = fields.Integer(required=True)


class ProblemSchema(Schema):
    """An RFC 9457 problem document (`application/problem+json`)."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(
        required=True,
        metadata={
            "description": "Machine code: illegal_move, not_found, invalid_intake, "
            "conflict, deadline_passed, possible_duplicate, unauthorized, "
            "validation_error, invalid_json, unsupported_media_type…"
        },
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field (validation_error only)."},
    )
    candidates = fields.List(
        fields.Nested(CandidateSchema),
        metadata={
            "description": "Open orders that look like the same matter (possible_duplicate only)."
        },
    )
    move = fields.String(metadata={"description": "illegal_move only"})
    state = fields.String(metadata={"description": "illegal_move only"})
