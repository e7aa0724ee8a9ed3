"""How spoken answers are matched: phrase normalisation, built-in yes/no words, spoken digits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .model import ConfirmNode, MenuNode

BUILTIN_YES_NO: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "zh-CN": (("是", "对", "是的"), ("不是", "不对")),
        "en-US": (("yes", "yeah", "correct"), ("no", "nope")),
        "ko-KR": (("네", "예"), ("아니요",)),
    }
)

_DIGIT_WORDS = {
    **{ch: str(i) for i, ch in enumerate("零一二三四五六七八九")},
    "〇": "0",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_DIGITS = re.compile(r"[0-9]+")


def normalise(text: str) -> str:
    """The form phrases are compared in: NFKC, casefolded, no whitespace, no end punctuation.

    All whitespace goes (not just the ends) because recognisers such as Vosk put spaces
    between Chinese words ("普通 话"), which a flow author never writes.
    """
    folded = "".join(unicodedata.normalize("NFKC", text).casefold().split())
    end = len(folded)
    while end and unicodedata.category(folded[end - 1]).startswith("P"):
        end -= 1
    return folded[:end]


def _grammar(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """phrase -> key; the first key listed wins when two keys share a phrase."""
    grammar: dict[str, str] = {}
    for phrase, key in pairs:
        grammar.setdefault(phrase, key)
    return grammar


def yes_no_words(node: ConfirmNode, language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The yes and no words a confirm node accepts in `language` (overrides, else built-in)."""
    builtin = BUILTIN_YES_NO.get(language)
    if builtin is None:
        primary = language.split("-")[0].casefold()
        builtin = next(
            (w for lang, w in BUILTIN_YES_NO.items() if lang.split("-")[0].casefold() == primary),
            ((), ()),
        )
    override = node.speech.get(language)
    yes = override.yes if override is not None and override.yes is not None else builtin[0]
    no = override.no if override is not None and override.no is not None else builtin[1]
    return yes, no


def node_grammar(node: MenuNode | ConfirmNode, language: str) -> dict[str, str]:
    """Phrase (as written) -> the key it stands for, at this node in this language."""
    if isinstance(node, ConfirmNode):
        yes, no = yes_no_words(node, language)
        return _grammar([*((w, "1") for w in yes), *((w, "2") for w in no)])
    return _grammar(
        (phrase, choice.key)
        for choice in node.choices.values()
        for phrase in choice.speech.get(language, ())
    )


def match(grammar: Mapping[str, str], text: str) -> str | None:
    """The key whose phrase the utterance is (after normalisation), or None."""
    said = normalise(text)
    if not said:
        return None
    return next((key for phrase, key in grammar.items() if normalise(phrase) == said), None)


def spoken_digits(text: str) -> str:
    """The digits in an utterance such as "2 0 2 3", "二零二三" or "two zero two three".

    Returns "" when anything other than digits was said.
    """
    tokens = unicodedata.normalize("NFKC", text).casefold().split()
    out: list[str] = []
    for token in tokens:
        token = token.rstrip(".,!?;:。，！？；：")
        if token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
            continue
        for ch in token:
            if ch in _DIGIT_WORDS:
                out.append(_DIGIT_WORDS[ch])
            elif _DIGITS.fullmatch(ch):
                out.append(ch)
            else:
                return ""
    return "".join(out)
