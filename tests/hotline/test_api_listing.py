"""GET /work-orders filters and pagination, and the organisation endpoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.hotline.test_api_support import (
    ApiClient,
    api_app_fixture,  # noqa: F401
    api_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
    assert_problem,
    unique,
    unique_phone,
)


def _numbers(api: ApiClient, **query: Any) -> list[str]:
    r = api.get("/work-orders", query_string=query)
    assert r.status_code == 200, r.json
    return [o["number"] for o in r.json]


@pytest.fixture
def caller(api: ApiClient) -> tuple[str, list[str]]:
    """A phone number and its five orders, oldest first, in various states and channels."""
    phone = unique_phone()
    numbers = []
    for i, channel in enumerate(["phone", "letter", "visit", "web", "phone"]):
        order = api.intake(channel=channel, summary=unique(f"matter {i}"), contact={"phone": phone})
        numbers.append(order["number"])
    api.move(numbers[1], "dispatch", department="enforcement")
    api.move(numbers[2], "dispatch", department="filing")
    api.move(numbers[2], "supervise", note="on the weekly list")
    return phone, numbers


def test_pages_newest_first_with_totals(api: ApiClient, caller: tuple[str, list[str]]) -> None:
    phone, numbers = caller
    seen = []
    for page in (1, 2, 3):
        r = api.get("/work-orders", query_string={"contact_phone": phone, "page": page,
                                                  "page_size": 2})  # fmt: skip
        meta = json.loads(r.headers["X-Pagination"])
        assert meta["total"] == 5 and meta["total_pages"] == 3 and meta["page"] == page
        seen += [o["number"] for o in r.json]
    assert seen == numbers[::-1]
    assert len(_numbers(api, contact_phone=phone)) == 5  # default page size 20
    assert _numbers(api, contact_phone=phone, page=4, page_size=2) == []


def test_filters(api: ApiClient, caller: tuple[str, list[str]]) -> None:
    phone, n = caller
    assert _numbers(api, contact_phone=phone, state="dispatched") == [n[2], n[1]]
    both = _numbers(api, contact_phone=phone, state=["registered", "dispatched"])
    assert both == n[::-1]
    assert _numbers(api, contact_phone=phone, state="closed") == []
    assert _numbers(api, contact_phone=phone, department="enforcement") == [n[1]]
    assert _numbers(api, contact_phone=phone, channel="phone") == [n[4], n[0]]
    assert _numbers(api, contact_phone=phone, supervised="true") == [n[2]]
    assert len(_numbers(api, contact_phone=phone, supervised="false")) == 4
    assert _numbers(api, contact_phone=phone, overdue="true") == []
    assert len(_numbers(api, contact_phone=phone, overdue="false")) == 5
    # The phone in any usual form.
    assert len(_numbers(api, contact_phone="+86 " + phone)) == 5


def test_registered_between_times_with_offsets(
    api: ApiClient, caller: tuple[str, list[str]]
) -> None:
    phone, numbers = caller
    shanghai = api.get(f"/work-orders/{numbers[0]}").json["registered_at"]
    start = datetime.fromisoformat(shanghai)
    assert start.utcoffset() == timedelta(hours=8)
    same = _numbers(api, contact_phone=phone, registered_from=start.astimezone(UTC).isoformat())
    assert same == numbers[::-1]
    assert _numbers(api, contact_phone=phone, registered_to=start.isoformat()) == []
    problem = assert_problem(
        api.get("/work-orders", query_string={"registered_from": "2026-01-01T00:00:00"}),
        422,
        "validation_error",
    )
    assert "registered_from" in problem["errors"]  # no offset: refused, not guessed


def test_anonymous_orders_are_not_found_by_phone(api: ApiClient) -> None:
    phone = unique_phone()
    api.intake(contact={"phone": phone, "name": "匿名"}, anonymous=True)
    assert _numbers(api, contact_phone=phone) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "lost"}, "state.0"),
        ({"channel": "fax"}, "channel"),
        ({"page_size": 101}, "page_size"),
        ({"page": 0}, "page"),
        ({"overdue": "perhaps"}, "overdue"),
        ({"contact_phone": "not a number"}, "contact_phone"),
    ],
)
def test_bad_filters_are_422(api: ApiClient, query: dict[str, Any], field: str) -> None:
    problem = assert_problem(api.get("/work-orders", query_string=query), 422, "validation_error")
    assert field in problem["errors"], problem


def test_departments_and_categories(api: ApiClient) -> None:
    departments = {d["code"]: d for d in api.get("/departments").json}
    assert {"enforcement", "filing", "petitions"} <= set(departments)
    assert {h["code"] for h in departments["enforcement"]["handlers"]} >= {"en-01", "en-02"}
    categories = {c["code"]: c for c in api.get("/categories").json}
    assert categories["judge_conduct"]["limit_days"] == 13
    assert categories["filing"]["urgent_limit_days"] == 0


def test_a_page_past_the_end_is_empty_however_large(api: ApiClient) -> None:
    for page in (10_000, 461168601842738792, 2**70):
        r = api.get(f"/work-orders?page={page}")
        assert r.status_code == 200 and r.json == [], (page, r.json)
