"""The caller's keypad script: which keys a simulated caller presses at each <Gather>."""

from __future__ import annotations

import re

KEYPAD = set("0123456789*#")
NO_INPUT_TOKENS = {".", "-"}
SAY_TOKEN = "say"  # noqa: S105  (a keys-script word, no secret): the caller speaks the next --say file at this Gather
_SEPARATORS = re.compile(r"[,\s]+")


def parse_keys(script: str) -> list[str]:
    """Split a keys script into tokens; `.` or `-` is a silent answer to one Gather."""
    tokens = [t for t in _SEPARATORS.split(script.strip()) if t]
    for token in tokens:
        if token not in NO_INPUT_TOKENS and token != SAY_TOKEN and not set(token) <= KEYPAD:
            raise ValueError(
                f"bad keys token {token!r}: use 0-9 * #, '.' or '-' for no input, 'say' to speak"
            )
    return tokens


class KeyScript:
    """Feeds keys to Gathers the way a caller types them, including type-ahead."""

    def __init__(self, script: str) -> None:
        self._tokens = parse_keys(script)

    @property
    def exhausted(self) -> bool:
        return not self._tokens

    def remaining(self) -> list[str]:
        return list(self._tokens)

    def speaks_next(self) -> bool:
        """The caller speaks (rather than keys) at the next Gather; consumes the token."""
        if self._tokens and self._tokens[0] == SAY_TOKEN:
            self._tokens.pop(0)
            return True
        return False

    def answer(self, *, num_digits: int | None, finish_keys: str) -> str | None:
        """Digits Twilio would send for the next Gather (finish key stripped), or None.

        Keys are consumed one by one as Twilio's collector does: the gather completes on a
        finish key or once `num_digits` keys are in; whatever the caller typed beyond that
        stays buffered for the next Gather (so "241" answers three one-key menus). A token
        that runs out without either completes by timeout with what was typed.
        """
        if not self._tokens:
            return None
        token = self._tokens.pop(0)
        if token in NO_INPUT_TOKENS:
            return None
        collected = ""
        consumed = len(token)
        for index, key in enumerate(token):
            if key in finish_keys:
                consumed = index + 1
                break
            collected += key
            if num_digits is not None and len(collected) >= num_digits:
                consumed = index + 1
                break
        rest = token[consumed:]
        if rest:
            self._tokens.insert(0, rest)
        # A bare finish key submits nothing: Twilio treats it like no input.
        return collected or None
