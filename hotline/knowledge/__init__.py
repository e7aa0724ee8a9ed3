"""The FAQ knowledge base: answers per topic and language, loaded and checked at startup,
read by the IVR's `faq_answer` intent and searchable by keywords (agents, speech)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from hotline.config import ConfigError

DEFAULT_FAQ = Path(__file__).parent / "faq.yaml"


@dataclass(frozen=True)
class FaqEntry:
    topic: str
    title: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    answer: Mapping[str, str]


@dataclass(frozen=True)
class FaqBase:
    languages: tuple[str, ...]
    entries: Mapping[str, FaqEntry]

    def answer(self, topic: str, language: str) -> str | None:
        entry = self.entries.get(topic)
        if entry is None:
            return None
        return entry.answer.get(language) or entry.answer.get(self.languages[0])

    def search(self, text: str, language: str, limit: int = 3) -> list[tuple[FaqEntry, float]]:
        """Entries whose keywords appear in `text` (fuzzy, spaces ignored), best first."""
        said = "".join(text.casefold().split())
        scored = []
        for entry in self.entries.values():
            words = entry.keywords.get(language, ())
            best = max(
                (fuzz.partial_ratio("".join(w.casefold().split()), said) for w in words),
                default=0.0,
            )
            if best >= 80:
                scored.append((entry, best))
        return sorted(scored, key=lambda pair: -pair[1])[:limit]


def load_faq(path: Path = DEFAULT_FAQ) -> FaqBase:
    """Load and check the knowledge base; every problem named at once."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("topics"), dict):
        raise ConfigError([f"{path}: expected `languages` and a `topics` mapping"])
    languages = tuple(data.get("languages") or ())
    entries: dict[str, FaqEntry] = {}
    for topic, raw in data["topics"].items():
        where = f"{path}: topic {topic!r}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        for field in ("title", "answer", "keywords"):
            value = raw.get(field) or {}
            missing = [lang for lang in languages if not value.get(lang)]
            if missing:
                problems.append(f"{where}: {field} missing for {', '.join(missing)}")
        entries[str(topic)] = FaqEntry(
            topic=str(topic),
            title=dict(raw.get("title") or {}),
            keywords={k: tuple(v) for k, v in (raw.get("keywords") or {}).items()},
            answer={k: str(v).strip() for k, v in (raw.get("answer") or {}).items()},
        )
    if problems:
        raise ConfigError(problems)
    return FaqBase(languages, entries)


def check_topics(faq: FaqBase, topics: Iterable[tuple[str, str]]) -> list[str]:
    """(flow node, topic) pairs naming a topic the knowledge base lacks."""
    return [
        f"flow node {node!r}: unknown FAQ topic {topic!r}"
        for node, topic in topics
        if topic not in faq.entries
    ]
