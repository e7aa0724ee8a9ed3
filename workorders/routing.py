"""Routing rules: which department a new work order goes to, and which handler there takes it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

DEFAULT_RULES = Path(__file__).with_name("routing_rules.yaml")

# The same values as `orders.Channel` and `orders.Urgency` (a test keeps them equal); kept as
# plain strings here so this pure module does not import the SQL models.
CHANNELS = frozenset({"phone", "letter", "visit", "transfer", "web"})
URGENCIES = frozenset({"normal", "urgent"})

_TOP_KEYS = frozenset({"default_department", "rules"})
_RULE_KEYS = frozenset({"name", "department", "when"})
# Speech recognisers write Chinese with spaces between words ("申请 强制 执行"), so spaces
# between two CJK characters are dropped before keywords are looked for.
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff])\s+(?=[\u3400-\u9fff\uf900-\ufaff])")
_SPACES = re.compile(r"\s+")


class Condition(StrEnum):
    """What a rule's `when` may test, in the order reasons are given."""

    CATEGORY = "category"
    CHANNEL = "channel"
    URGENCY = "urgency"
    CASE_DIVISION = "case_division"
    KEYWORDS = "keywords"


class RulesError(ValueError):
    """A rules file cannot be used; `problems` lists every defect found, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class RoutingInput:
    """What routing looks at; `text` is the statement, summary and transcript joined."""

    category: str | None
    channel: str
    urgency: str
    text: str
    case_division: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    """The chosen department, the rule that chose it (None = the default) and why."""

    department: str
    rule: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One rule: every condition given must hold; a condition holds for any of its values."""

    name: str
    department: str
    conditions: tuple[tuple[Condition, tuple[str, ...]], ...]

    def match(self, item: RoutingInput, text: str) -> tuple[str, ...] | None:
        """The reasons this rule applies to `item` (with `text` normalised), or None."""
        reasons: list[str] = []
        for condition, values in self.conditions:
            if condition is Condition.KEYWORDS:
                hit = next((k for k in values if normalize_text(k) in text), None)
                if hit is None:
                    return None
                reasons.append(f"keyword {hit!r}")
                continue
            value = getattr(item, condition.value)
            if value not in values:
                return None
            reasons.append(f"{condition.value.replace('_', ' ')} {value}")
        return tuple(reasons)


@dataclass(frozen=True)
class RoutingRules:
    """Rules tried in file order, and the department for orders no rule matches."""

    default_department: str
    rules: tuple[Rule, ...]

    def route(self, item: RoutingInput) -> RouteDecision:
        text = normalize_text(item.text)
        for rule in self.rules:
            reasons = rule.match(item, text)
            if reasons is not None:
                return RouteDecision(rule.department, rule.name, reasons)
        return RouteDecision(self.default_department, None, ("no rule matched",))


@dataclass(frozen=True)
class HandlerLoad:
    """A handler's current load, as the dispatcher sees it."""

    handler_id: int
    open_orders: int
    on_duty: bool
    last_assigned_at: datetime | None


def choose_handler(candidates: Sequence[HandlerLoad]) -> int | None:
    """The on-duty handler with the fewest open orders; ties go to the one idle longest
    (never assigned first), then the lowest id. None when nobody is on duty."""
    on_duty = [c for c in candidates if c.on_duty]
    if not on_duty:
        return None

    def key(c: HandlerLoad) -> tuple[int, float, int]:
        idle_since = float("-inf") if c.last_assigned_at is None else c.last_assigned_at.timestamp()
        return (c.open_orders, idle_since, c.handler_id)

    return min(on_duty, key=key).handler_id


def normalize_text(text: str) -> str:
    """`text` as keywords are matched: NFKC (full-width to half-width), case-folded, single
    spaces, and no spaces between Chinese characters."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _CJK_GAP.sub("", _SPACES.sub(" ", folded)).strip()


def load_rules(
    path: Path | None = None,
    *,
    departments: Collection[str] | None = None,
    categories: Collection[str] | None = None,
    case_divisions: Collection[str] | None = None,
) -> RoutingRules:
    """The rules in `path` (default: the shipped file); codes are checked against the
    collections given. Raises RulesError listing every problem."""
    rules, problems = _read(path, departments, categories, case_divisions)
    if rules is None or problems:
        raise RulesError(problems)
    return rules


def check_rules(
    path: Path | None = None,
    *,
    departments: Collection[str] | None = None,
    categories: Collection[str] | None = None,
    case_divisions: Collection[str] | None = None,
) -> list[str]:
    """Every problem in the rules file at `path`; empty when it is usable. Never raises."""
    return _read(path, departments, categories, case_divisions)[1]


class _RulesLoader(yaml.SafeLoader):
    """A SafeLoader that notes duplicate keys, which YAML would otherwise silently drop."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode):
                if key_node.value in seen:
                    self.duplicates.append((key_node.start_mark.line + 1, key_node.value))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _read(
    path: Path | None,
    departments: Collection[str] | None,
    categories: Collection[str] | None,
    case_divisions: Collection[str] | None,
) -> tuple[RoutingRules | None, list[str]]:
    path = DEFAULT_RULES if path is None else path
    problems: list[str] = []
    try:
        loader = _RulesLoader(path.read_text(encoding="utf-8"))
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [f"{path}: cannot be read: {exc}"]
    problems += [f"{path}: line {n}: duplicate key {key!r}" for n, key in loader.duplicates]
    if not isinstance(data, dict):
        return None, [*problems, f"{path}: expected a mapping with default_department and rules"]

    known: dict[Condition, Collection[str] | None] = {
        Condition.CATEGORY: categories,
        Condition.CHANNEL: CHANNELS,
        Condition.URGENCY: URGENCIES,
        Condition.CASE_DIVISION: case_divisions,
    }

    def department(value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: department must be a department code (text)")
        elif departments is not None and value not in departments:
            problems.append(f"{where}: unknown department {value!r}")
        return str(value)

    for key in sorted(set(map(str, data)) - _TOP_KEYS):
        problems.append(f"{path}: unknown key {key!r}")
    default = department(data.get("default_department"), f"{path}: default_department")
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        problems.append(f"{path}: rules must be a list")
        entries = []
    rules: list[Rule] = []
    names: set[str] = set()
    for i, entry in enumerate(entries, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"{path}: rule {i}" + (f" ({name!r})" if isinstance(name, str) else "")
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with name, department, when")
            continue
        for key in sorted(set(map(str, entry)) - _RULE_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: name must be non-empty text")
        elif name in names:
            problems.append(f"{where}: another rule has the same name")
        names.add(str(name))
        target = department(entry.get("department"), where)
        conditions = _conditions(entry.get("when"), where, known, problems)
        rules.append(Rule(str(name), target, conditions))
    return RoutingRules(default, tuple(rules)), problems


def _conditions(
    when: Any,
    where: str,
    known: dict[Condition, Collection[str] | None],
    problems: list[str],
) -> tuple[tuple[Condition, tuple[str, ...]], ...]:
    """A rule's `when`, checked; in Condition order so reasons read the same for every rule."""
    if not isinstance(when, dict) or not when:
        problems.append(f"{where}: when must list at least one condition (or use the default)")
        return ()
    found: dict[Condition, tuple[str, ...]] = {}
    for key, values in when.items():
        try:
            condition = Condition(str(key))
        except ValueError:
            problems.append(f"{where}: unknown condition {key!r}")
            continue
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: {condition} must be a non-empty list")
            continue
        texts = [v for v in values if isinstance(v, str) and v.strip()]
        if len(texts) < len(values):
            bad = ", ".join(repr(v) for v in values if v not in texts)
            hint = " (quote words such as yes/no/on/off)" if condition is Condition.KEYWORDS else ""
            problems.append(f"{where}: {condition} has empty or non-text values: {bad}{hint}")
        allowed = known.get(condition)
        for value in texts:
            if allowed is not None and value not in allowed:
                problems.append(f"{where}: unknown {condition.replace('_', ' ')} {value!r}")
        found[condition] = tuple(texts)
    return tuple((c, found[c]) for c in Condition if c in found)
