"""Phone numbers: parsing whatever Twilio sends into E.164, or None when it is not a number."""

from __future__ import annotations

import phonenumbers

# What Twilio puts in From when the caller withheld the number: literal words, or numbers
# that spell them on a keypad (+266696687 = "ANONYMOUS", +86282452253 = "UNAVAILABLE").
WITHHELD = frozenset(
    {
        "",
        "anonymous",
        "restricted",
        "unknown",
        "unavailable",
        "private",
        "blocked",
        "+266696687",
        "+86282452253",
        "+8656696",
        "+7378742833",
        "+2562533",
    }
)


def normalize_number(raw: str | None, region: str = "CN") -> str | None:
    """E.164 form of `raw`, or None for withheld, malformed or impossible numbers.

    `region` is the country assumed for numbers written without a country code.
    """
    text = (raw or "").strip()
    if text.lower() in WITHHELD or text.startswith(("client:", "sip:")):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_number(e164: str | None) -> str:
    """A number safe for logs: country code and the last 4 digits, e.g. +86*******8000."""
    if not e164:
        return "unknown"
    keep = 4
    return e164[:3] + "*" * max(len(e164) - 3 - keep, 0) + e164[-keep:]
