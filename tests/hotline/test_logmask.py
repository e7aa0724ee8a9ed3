"""Phone numbers and ID numbers never reach a log line in clear, whoever logs them."""

from __future__ import annotations

import io
import logging

import pytest

from hotline.logmask import MaskingFilter, mask_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call from +8613800138000", "call from +86*******8000"),
        ('{"From": "+8613800138000"}', '{"From": "+86*******8000"}'),
        ("mobile 13800138000.", "mobile *******8000."),
        ("office 020-12345678", "office ***-****5678"),
        ("ID 11010519491231002X given", "ID 110105***********X given"),
        ("ID 110105194912310021", "110105***********1"),
    ],
)
def test_numbers_are_masked(text: str, expected: str) -> None:
    assert expected in mask_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "call CAd44651eed75efee2f86066fbff0d7613 ended",  # a CallSid's digits stay
        "order WO-2026-000123 due 2026-12-03 18:00:00",  # numbers and dates stay
        "case (2022)粤03民终5487号",
        "took 1234567 ms on port 5432",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_the_filter_masks_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.logmask")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("caller %s keyed %s", "+8613900001111", "2")
        try:
            raise ValueError("no party with phone 13900001111")
        except ValueError:
            logger.exception("lookup failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "13900001111" not in out and "+86*******1111" in out and "*******1111" in out
    assert "keyed 2" in out and "ValueError" in out
