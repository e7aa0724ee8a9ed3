"""Fixtures for the work-order domain: a session rolled back after each test, the calendar."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from hotline.db import Database
from workorders.calendar import BusinessCalendar, load_calendar
from workorders.organisation import load_organisation
from workorders.routing import RoutingRules, load_rules


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back: each test's writes vanish."""
    with database.engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        load_organisation(s)
        try:
            yield s
        finally:
            s.close()
            outer.rollback()


@pytest.fixture(scope="session")
def calendar() -> BusinessCalendar:
    return load_calendar()


@pytest.fixture(scope="session")
def rules() -> RoutingRules:
    return load_rules()
