"""POST /work-orders: every channel, replays by external_ref, duplicates, malformed bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import redis
from flask import Flask

from hotline.db import Database
from tests.hotline.test_api_support import (
    API,
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_redis_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    assert_problem,
    job_queued,
    order_id,
    row_counts,
    unique,
    unique_phone,
)
from workorders.orders import Channel

INTAKES: dict[str, dict[str, Any]] = {
    "phone": {"category": "case_progress", "contact": {"name": "张三", "phone": "PHONE"}},
    "letter": {"category": "complaint", "contact": {"name": "李四", "address": "北京市东城区"}},
    "visit": {"category": "consultation", "urgency": "urgent", "contact": {"name": "王五"}},
    "transfer": {
        "category": "enforcement",
        "case_number": "(2026)京0101执123号",
        "case_division": "执行局",
        "external_ref": "REF",
    },
    "web": {"category": "filing", "anonymous": True, "contact": {"name": "赵六", "phone": "PHONE"}},
}


def test_every_channel_registers(
    api: ApiClient, api_redis: redis.Redis, database: Database
) -> None:
    assert set(INTAKES) == {c.value for c in Channel}
    for channel, extra in INTAKES.items():
        body: dict[str, Any] = {"channel": channel, "summary": unique(f"{channel} matter")}
        body |= extra
        if "contact" in body and body["contact"].get("phone") == "PHONE":
            body["contact"] = {**body["contact"], "phone": unique_phone()}
        if body.get("external_ref") == "REF":
            body["external_ref"] = unique("superior")
        r = api.post("/work-orders", body)
        assert r.status_code == 201, r.json
        order = r.json
        assert r.headers["Location"] == f"{API}/work-orders/{order['number']}"
        assert order["channel"] == channel and order["state"] == "registered"
        assert order["category"] == body["category"]
        assert order["possible_duplicates"] == []
        assert not order["attached"] and not order["replayed"]
        assert [e["move"] for e in order["events"]] == ["register"]
        # ISO 8601 with the court's offset; the deadline is in the future.
        deadline = datetime.fromisoformat(order["deadline"])
        assert deadline.utcoffset() is not None
        assert deadline > datetime.fromisoformat(order["registered_at"])
        assert "dispatch" in order["allowed_moves"]
        # Routing was queued (after the commit) for the new order.
        assert job_queued(api_redis, f"route-{order_id(database, order['number'])}")
        shown = api.get(f"/work-orders/{order['number']}").json
        assert shown["number"] == order["number"]
        if channel == "web":  # anonymous: handlers see neither name nor phone
            assert shown["anonymous"] is True
            assert shown["contact"] == {"name": None, "phone": None, "address": None}
        if channel == "phone":
            assert shown["contact"]["phone"].startswith("+86")
            assert shown["contact"]["name"] == "张三"
        if channel == "transfer":
            assert shown["case_number"] == body["case_number"]
            assert shown["external_ref"] == body["external_ref"]


def test_an_external_ref_registers_once_per_channel(api: ApiClient, database: Database) -> None:
    ref = unique("court-A")
    body = {"channel": "transfer", "category": "complaint", "summary": unique("transfer"),
            "external_ref": ref}  # fmt: skip
    first = api.post("/work-orders", body)
    assert first.status_code == 201
    before = row_counts(database)
    again = api.post("/work-orders", body | {"summary": "resent with other words"})
    assert again.status_code == 200
    assert again.json["number"] == first.json["number"]
    assert again.json["replayed"] is True and "Location" not in again.headers
    assert row_counts(database) == before
    # The same reference from another channel is another sender's.
    other = api.post("/work-orders", body | {"channel": "letter"})
    assert other.status_code == 201 and other.json["number"] != first.json["number"]


def _matter(phone: str) -> dict[str, Any]:
    return {
        "channel": "phone",
        "category": "case_progress",
        "summary": "判决书还没有收到",
        "statement": "我的案件判决已经一个月了，判决书一直没有收到",
        "contact": {"phone": phone},
    }


def test_possible_duplicates_are_proposed_and_nothing_is_written(
    api: ApiClient, database: Database
) -> None:
    phone = unique_phone()
    first = api.intake(**_matter(phone))
    before = row_counts(database)
    r = api.post("/work-orders", _matter(phone) | {"on_duplicate": "propose"})
    body = assert_problem(r, 409, "possible_duplicate")
    assert [c["number"] for c in body["candidates"]] == [first["number"]]
    candidate = body["candidates"][0]
    assert candidate["state"] == "registered" and candidate["score"] >= 60
    assert "same contact" in candidate["reasons"]
    assert row_counts(database) == before
    # "propose" is the default.
    assert api.post("/work-orders", _matter(phone)).status_code == 409


def test_a_repeat_contact_is_attached_once(api: ApiClient, database: Database) -> None:
    phone = unique_phone()
    first = api.intake(**_matter(phone))
    ref = unique("web-form")
    repeat = _matter(phone) | {"on_duplicate": "attach", "channel": "web", "external_ref": ref,
                               "summary": "又来催判决书"}  # fmt: skip
    before = row_counts(database)
    r = api.post("/work-orders", repeat)
    assert r.status_code == 200, r.json
    assert r.json["number"] == first["number"] and r.json["attached"] is True
    assert r.json["contact_count"] == 2
    attach = r.json["events"][-1]
    assert attach["move"] == "attach_contact"
    assert attach["note"].startswith("又来催判决书")
    assert attach["data"]["external_ref"] == ref
    after = row_counts(database)
    assert after["work_orders"] == before["work_orders"]
    assert after["work_order_events"] == before["work_order_events"] + 1
    # Sent again with the same reference: nothing more is attached.
    again = api.post("/work-orders", repeat)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["contact_count"] == 2
    assert row_counts(database) == after


def test_register_anyway_lists_the_possible_duplicates(api: ApiClient) -> None:
    phone = unique_phone()
    first = api.intake(**_matter(phone))
    second = api.intake(**_matter(phone), on_duplicate="register")
    assert second["number"] != first["number"]
    assert [c["number"] for c in second["possible_duplicates"]] == [first["number"]]


def test_attach_without_candidates_registers(api: ApiClient) -> None:
    order = api.post("/work-orders", _matter(unique_phone()) | {"on_duplicate": "attach"})
    assert order.status_code == 201 and order.json["attached"] is False


GOOD = {"channel": "web", "category": "complaint", "summary": "something"}

MALFORMED: list[tuple[str, Any, int, str, str | None]] = [
    ("summary not a string", GOOD | {"summary": 3}, 422, "validation_error", "summary"),
    ("missing summary", {"channel": "web", "category": "complaint"}, 422, "validation_error",
     "summary"),
    ("blank summary", GOOD | {"summary": "   "}, 422, "validation_error", "summary"),
    ("bad channel", GOOD | {"channel": "fax"}, 422, "validation_error", "channel"),
    ("bad urgency", GOOD | {"urgency": "panic"}, 422, "validation_error", "urgency"),
    ("anonymous not a bool", GOOD | {"anonymous": "perhaps"}, 422, "validation_error",
     "anonymous"),
    ("contact not an object", GOOD | {"contact": "Li"}, 422, "validation_error", "contact"),
    ("bad phone", GOOD | {"contact": {"phone": "call me"}}, 422, "validation_error",
     "contact.phone"),
    ("unknown field", GOOD | {"colour": "red"}, 422, "validation_error", "colour"),
    ("NUL character", GOOD | {"statement": "a\x00b"}, 422, "validation_error", "statement"),
    ("bad on_duplicate", GOOD | {"on_duplicate": "merge"}, 422, "validation_error",
     "on_duplicate"),
    ("array body", [GOOD], 422, "validation_error", "_schema"),
    ("unknown category", GOOD | {"category": "astrology"}, 400, "invalid_intake", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in MALFORMED],
)
def test_malformed_bodies_are_problems_and_write_nothing(
    api: ApiClient, database: Database, body: Any, status: int, code: str, field: str | None
) -> None:
    before = row_counts(database)
    problem = assert_problem(api.post("/work-orders", body), status, code)
    if field:
        assert field in problem["errors"], problem
    assert row_counts(database) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ('{"channel": "web", ', "application/json", 400, "invalid_json"),
        (b"\xff\xfe not utf-8", "application/json", 400, "invalid_json"),
        ("channel=web&summary=x", "application/x-www-form-urlencoded", 415,
         "unsupported_media_type"),
        ("", None, 415, "unsupported_media_type"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_json_are_refused(
    api_app: Flask,
    api: ApiClient,
    database: Database,
    data: str | bytes,
    content_type: str | None,
    status: int,
    code: str,
) -> None:
    before = row_counts(database)
    headers = dict(api.headers)
    if content_type:
        headers["Content-Type"] = content_type
    r = api_app.test_client().post(f"{API}/work-orders", data=data, headers=headers)
    assert_problem(r, status, code)
    assert row_counts(database) == before
