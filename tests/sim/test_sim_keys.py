"""The caller's keys script: tokens, silence, finish keys and type-ahead."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.sim.keys import KeyScript, parse_keys


@pytest.mark.parametrize(
    ("script", "tokens"),
    [
        ("", []),
        ("1", ["1"]),
        ("1,2 3", ["1", "2", "3"]),
        (" 2022#, . - *9 ", ["2022#", ".", "-", "*9"]),
    ],
)
def test_parse(script, tokens):
    assert parse_keys(script) == tokens


@pytest.mark.parametrize("script", ["a", "1,x2", "12.3", "+1"])
def test_parse_rejects_non_keypad_tokens(script):
    with pytest.raises(ValueError, match="bad keys token"):
        parse_keys(script)


@pytest.mark.parametrize(
    ("script", "gathers", "answers"),
    [
        ("241", [(1, "#")] * 4, ["2", "4", "1", None]),
        ("2022#", [(None, "#")], ["2022"]),
        ("2022#5", [(None, "#"), (1, "#")], ["2022", "5"]),
        ("12#3", [(None, "")], ["12#3"]),
        ("123", [(None, "#")], ["123"]),  # completes by timeout with what was typed
        ("12", [(4, "#")], ["12"]),
        (". 5", [(1, "#"), (1, "#")], [None, "5"]),
        ("- 5", [(1, "#"), (1, "#")], [None, "5"]),
        ("#", [(1, "#")], [None]),  # a bare finish key submits nothing
        ("1234", [(2, "#"), (2, "#")], ["12", "34"]),
        ("1*2", [(None, "*#"), (None, "#")], ["1", "2"]),
    ],
)
def test_answers(script, gathers, answers):
    keys = KeyScript(script)
    got = [keys.answer(num_digits=n, finish_keys=f) for n, f in gathers]
    assert got == answers
    assert keys.exhausted


@given(st.text(alphabet="0123456789*", min_size=1, max_size=20), st.integers(1, 5))
def test_type_ahead_never_loses_or_invents_keys(token, num_digits):
    keys = KeyScript(token)
    answers = []
    while not keys.exhausted:
        answer = keys.answer(num_digits=num_digits, finish_keys="#")
        assert answer is not None
        assert len(answer) <= num_digits
        answers.append(answer)
    assert "".join(answers) == token
