"""A logging filter that masks phone numbers and ID numbers in every log line.

Code logs `mask_number(...)` on purpose, but a phone number can still reach a log through an
exception message, a request dump or a third-party library; this filter is the net under all
of them. It rewrites the formatted message (args included), so it costs one regex pass per
emitted record and nothing for records below the log level.
"""

from __future__ import annotations

import logging
import re

# A resident ID number (18 characters, the last may be X); phone numbers as E.164 (+ and 7-15
# digits), a mainland mobile (11 digits from 13-19) or a landline with its area code (0XX-…).
# Lookarounds keep digits inside hex ids (CallSids), dates and longer tokens untouched.
_ID_NUMBER = re.compile(r"(?<![\w])(\d{6})\d{11}([\dXx])(?![\w])")
_PHONE = re.compile(r"(?<![\w+\-])(\+\d{7,15}|1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\w\-])")


def _mask_phone(match: re.Match[str]) -> str:
    raw = match.group(1)
    head = 3 if raw.startswith("+") else 0
    return raw[:head] + re.sub(r"\d", "*", raw[head:-4]) + raw[-4:]


def mask_text(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    return _PHONE.sub(_mask_phone, text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Tracebacks carry exception messages (SQL parameters, URLs): mask them too.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (default: root), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
