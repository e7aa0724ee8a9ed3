"""Grammar mode for short answers: phrases in the model's own words, and the decision.

Three lessons measured on real telephone speech (reference/speech.md) shape this module:
the phrase list goes to Vosk with `ensure_ascii=False` (escaped words are "unknown"); a word
outside the model's vocabulary is silently dropped, so it is split into the fewest known
pieces first; and Vosk's grammar is a small language model, not a strict list, so its output
is mapped to the nearest phrase and that similarity is kept as part of the confidence.
"""

from __future__ import annotations

import json
import logging
import struct
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

log = logging.getLogger(__name__)

_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS = 1, 2

# Number words per language, digit → words a caller may say for it.
DIGIT_WORDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "ko-KR": {"0": ("영", "공"), "1": ("일",), "2": ("이",), "3": ("삼",), "4": ("사",),
              "5": ("오",), "6": ("육",), "7": ("칠",), "8": ("팔",), "9": ("구",)},
    "zh-CN": {"0": ("零", "洞"), "1": ("一", "幺"), "2": ("二", "两"), "3": ("三",), "4": ("四",),
              "5": ("五",), "6": ("六",), "7": ("七",), "8": ("八",), "9": ("九",)},
    "en-US": {"0": ("zero", "oh"), "1": ("one",), "2": ("two",), "3": ("three",),
              "4": ("four",), "5": ("five",), "6": ("six",), "7": ("seven",), "8": ("eight",),
              "9": ("nine",)},
}  # fmt: skip
# How a menu key is said as a choice ("삼 번" = number three).
KEY_TEMPLATES: Mapping[str, str] = {"ko-KR": "{} 번", "zh-CN": "{}", "en-US": "{}"}


def language_of(tag: str, table: Mapping[str, object]) -> str | None:
    """`tag` itself, else the first entry of `table` with the same primary language."""
    if tag in table:
        return tag
    primary = tag.split("-")[0].casefold()
    return next((t for t in table if t.split("-")[0].casefold() == primary), None)


def squash(text: str) -> str:
    """Compare form: NFKC, casefolded, without spaces (Vosk spaces words apart freely)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- vocabulary --------------------------------------------------------------------------


def _read_symbols(path: Path) -> frozenset[str]:
    """Output symbols of an OpenFst binary (the header's symbol tables; arcs are not read)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        pos = 0

        def need(n: int) -> None:
            nonlocal head
            while len(head) < pos + n:
                more = fh.read(max(1 << 20, n))
                if not more:
                    raise ValueError(f"{path}: truncated symbol table")
                head += more

        def i32() -> int:
            nonlocal pos
            need(4)
            (v,) = struct.unpack_from("<i", head, pos)
            pos += 4
            return int(v)

        def i64() -> int:
            nonlocal pos
            need(8)
            (v,) = struct.unpack_from("<q", head, pos)
            pos += 8
            return int(v)

        def text() -> bytes:
            nonlocal pos
            n = i32()
            need(n)
            v = head[pos : pos + n]
            pos += n
            return v

        def table() -> list[bytes]:
            if i32() != _SYMBOLS_MAGIC:
                raise ValueError(f"{path}: bad symbol table")
            text()
            i64()
            size = i64()
            out = []
            for _ in range(size):
                out.append(text())
                i64()
            return out

        if i32() != _FST_MAGIC:
            raise ValueError(f"{path}: not an OpenFst binary")
        text(), text(), i32()
        flags = i32()
        pos += 8 + 8 + 8 + 8  # properties, start, states, arcs
        if not flags & _HAS_OSYMBOLS:
            raise ValueError(f"{path}: no output symbol table")
        if flags & _HAS_ISYMBOLS:
            table()
        return frozenset(s.decode("utf-8", "replace") for s in table())


@lru_cache(maxsize=8)
def vocabulary(model_path: str) -> frozenset[str]:
    """Words the model can output: graph/Gr.fst's (or HCLG.fst's) output symbols, else words.txt.

    Read once per process (~1.5 s for the Korean model's 500 k words).
    """
    root = Path(model_path)
    for fst in (root / "graph" / "Gr.fst", root / "graph" / "HCLG.fst"):
        if fst.exists():
            try:
                return _read_symbols(fst)
            except (ValueError, OSError) as exc:
                log.warning("vocabulary of %s: %s", fst, exc)
    for words in (root / "graph" / "words.txt", root / "words.txt"):
        if words.exists():
            return frozenset(
                line.split()[0] for line in words.read_text("utf-8").splitlines() if line.strip()
            )
    log.warning("model %s has no readable vocabulary: grammar words are used as written", root)
    return frozenset()


def split_word(word: str, vocab: frozenset[str]) -> list[str] | None:
    """The fewest in-vocabulary pieces that spell `word`, or None when it cannot be covered."""
    if not vocab or word in vocab:
        return [word]
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 12), end):
            prefix = best[start]
            piece = word[start:end]
            if prefix is not None and piece in vocab:
                candidate = [*prefix, piece]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[n]


# --- grammars and decisions --------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """Phrases in the model's words (`form` → the key it stands for) and what was left out."""

    forms: Mapping[str, str]
    dropped: tuple[str, ...] = ()
    digits: Mapping[str, str] = field(default_factory=dict)  # number word → digit (digit mode)

    @property
    def empty(self) -> bool:
        return not self.forms

    def to_json(self) -> str:
        # ensure_ascii=False: vosk 0.3.45 treats \uXXXX-escaped words as unknown.
        return json.dumps(sorted(self.forms), ensure_ascii=False)


def in_vocabulary(phrase: str, vocab: frozenset[str]) -> str | None:
    pieces: list[str] = []
    for word in unicodedata.normalize("NFKC", phrase).casefold().split():
        split = split_word(word, vocab)
        if split is None:
            return None
        pieces.extend(split)
    return " ".join(pieces) or None


def build_grammar(phrases: Mapping[str, str], vocab: frozenset[str]) -> Grammar:
    """`phrases` (as written → key) turned into model words; uncovered phrases are logged."""
    forms: dict[str, str] = {}
    dropped: list[str] = []
    for phrase, key in phrases.items():
        form = in_vocabulary(phrase, vocab)
        if form is None:
            dropped.append(phrase)
        else:
            forms.setdefault(form, key)
    if dropped:
        log.info("grammar: %d phrase(s) not in the model's vocabulary: %s", len(dropped), dropped)
    return Grammar(forms=forms, dropped=tuple(dropped))


def menu_phrases(phrases: Mapping[str, str], keys: Iterable[str], language: str) -> dict[str, str]:
    """A menu's phrases plus its keys said as numbers ("삼 번" → "3")."""
    out = dict(phrases)
    lang = language_of(language, DIGIT_WORDS)
    if lang is None:
        return out
    template = KEY_TEMPLATES.get(lang, "{}")
    for key in keys:
        if len(key) == 1 and key in DIGIT_WORDS[lang]:
            for word in DIGIT_WORDS[lang][key]:
                out.setdefault(template.format(word), key)
    return out


def digit_grammar(language: str, vocab: frozenset[str]) -> Grammar:
    lang = language_of(language, DIGIT_WORDS) or "en-US"
    words = {w: d for d, ws in DIGIT_WORDS[lang].items() for w in ws}
    built = build_grammar(words, vocab)
    return Grammar(forms=built.forms, dropped=built.dropped, digits=dict(built.forms))


@dataclass(frozen=True)
class Decision:
    """What the caller chose: the key (or digits), the phrase, and how sure we are."""

    key: str
    text: str  # the phrase (or digit words) as decided
    heard: str  # the recogniser's raw output
    confidence: float  # similarity to the phrase × mean word confidence, 0..1
    similarity: float
    word_confidence: float

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "text": self.text,
            "heard": self.heard,
            "confidence": round(self.confidence, 3),
        }


def _mean_conf(words: Sequence[Mapping[str, object]]) -> float:
    confs = [float(c) for w in words if isinstance(c := w.get("conf", 1.0), int | float)]
    return sum(confs) / len(confs) if confs else 0.0


def decide(grammar: Grammar, heard: str, words: Sequence[Mapping[str, object]]) -> Decision | None:
    """The nearest phrase to what Vosk returned (or the digits said), None for nothing said."""
    said = squash(heard)
    if not said or grammar.empty:
        return None
    word_conf = _mean_conf(words)
    if grammar.digits:
        tokens = heard.split()
        digits = [grammar.digits[t] for t in tokens if t in grammar.digits]
        if not digits:
            return None
        similarity = len(digits) / len(tokens)
        return Decision(
            "".join(digits), " ".join(tokens), heard, similarity * word_conf, similarity, word_conf
        )
    best_form, best_score = "", -1.0
    for form in grammar.forms:
        score = fuzz.ratio(said, squash(form)) / 100.0
        if score > best_score:
            best_form, best_score = form, score
    key = grammar.forms[best_form]
    return Decision(key, best_form, heard, best_score * word_conf, best_score, word_conf)
