"""Schemathesis against the REST API's own OpenAPI document: generated requests (valid and
invalid) never get a 5xx, and every response matches what the document promises.

Not checked: that every schema-valid request is accepted. Some rules are beyond JSON Schema
(a phone number `phonenumbers` can parse, a category that exists); those get a clear 422.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.hotline.test_api_support import (
    API,
    api_app_fixture,  # noqa: F401
    api_token_fixture,  # noqa: F401
)


def test_the_api_never_fails_on_generated_requests(
    api_app: Flask, api_token: tuple[str, str]
) -> None:
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {api_token[1]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,  # the same cases every run: CI never flakes on a new example
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def generated(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        generated()
