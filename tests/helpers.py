"""Test helpers: Twilio-style parameters and signatures, unique ids, polling."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator

TEST_ACCOUNT_SID = "AC" + "0" * 32
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
HOTLINE_NUMBER = "+862012368"

_sids = itertools.count(1)


def new_call_sid() -> str:
    return f"CA{secrets.token_hex(12)}{next(_sids):08x}"


def sign(url: str, params: Mapping[str, str], token: str = TEST_AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, dict(params))


def call_params(call_sid: str, **extra: str) -> dict[str, str]:
    params = {
        "CallSid": call_sid,
        "AccountSid": TEST_ACCOUNT_SID,
        "From": "+8613800138000",
        "To": "+862012368",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy (for work done by another process)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
