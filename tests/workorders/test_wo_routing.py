"""Routing rules: the shipped court rules, every validation problem, and handler choice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workorders import orders
from workorders.routing import (
    CHANNELS,
    DEFAULT_RULES,
    URGENCIES,
    HandlerLoad,
    RouteDecision,
    RoutingInput,
    RoutingRules,
    RulesError,
    check_rules,
    choose_handler,
    load_rules,
    normalize_text,
)

DEPARTMENTS = frozenset(
    {
        "filing",
        "civil_first",
        "civil_appeal",
        "criminal",
        "administrative",
        "enforcement",
        "litigation_service",
        "petitions",
    }
)
CATEGORIES = frozenset(
    {
        "case_progress",
        "complaint",
        "enforcement",
        "filing",
        "consultation",
        "judge_conduct",
        "other",
    }
)
DIVISIONS = frozenset({"civil_first", "civil_appeal", "criminal", "administrative", "enforcement"})


@pytest.fixture(scope="module")
def rules() -> RoutingRules:
    return load_rules(departments=DEPARTMENTS, categories=CATEGORIES, case_divisions=DIVISIONS)


def test_vocabularies_match_the_work_order_model() -> None:
    assert {c.value for c in orders.Channel} == CHANNELS
    assert {u.value for u in orders.Urgency} == URGENCIES


def test_shipped_rules_are_clean(rules: RoutingRules) -> None:
    assert (
        check_rules(departments=DEPARTMENTS, categories=CATEGORIES, case_divisions=DIVISIONS) == []
    )
    assert check_rules(DEFAULT_RULES) == []
    assert rules.default_department == "litigation_service"
    assert {r.department for r in rules.rules} <= DEPARTMENTS
    assert len({r.name for r in rules.rules}) == len(rules.rules)


def item(
    text: str = "",
    *,
    category: str | None = None,
    channel: str = "phone",
    urgency: str = "normal",
    case_division: str | None = None,
) -> RoutingInput:
    return RoutingInput(category, channel, urgency, text, case_division)


@pytest.mark.parametrize(
    ("given", "department", "rule", "reasons"),
    [
        (item("我要申请强制执行"), "enforcement", "enforcement keywords", ("keyword '强制执行'",)),
        # Speech recognisers put spaces between Chinese words.
        (
            item("我 要 申请 强制 执行"),
            "enforcement",
            "enforcement keywords",
            ("keyword '强制执行'",),
        ),
        (
            item("对方的财产什么时候执行"),
            "enforcement",
            "enforcement keywords",
            ("keyword '执行'",),
        ),
        (
            item("When will ENFORCEMENT start?"),
            "enforcement",
            "enforcement keywords",
            ("keyword 'enforcement'",),
        ),
        (item("我想上诉"), "civil_appeal", "appeal keywords", ("keyword '上诉'",)),
        (item("二审什么时候开庭"), "civil_appeal", "appeal keywords", ("keyword '二审'",)),
        (
            item("I want to Appeal the judgment"),
            "civil_appeal",
            "appeal keywords",
            ("keyword 'appeal'",),
        ),
        (item("请问怎么立案"), "filing", "filing keywords", ("keyword '立案'",)),
        (item("How do I file a case?"), "filing", "filing keywords", ("keyword 'file a case'",)),
        (item("ｆｉｌｉｎｇ fees"), "filing", "filing keywords", ("keyword 'filing'",)),
        (item("投诉法官作风问题"), "petitions", "judge conduct keywords", ("keyword '法官作风'",)),
        (
            item("report judge conduct"),
            "petitions",
            "judge conduct keywords",
            ("keyword 'judge conduct'",),
        ),
        # The bare word 法官 is not a complaint: this is a case-progress question.
        (item("承办法官是谁"), "litigation_service", None, ("no rule matched",)),
        (
            item("开庭时间", category="judge_conduct"),
            "petitions",
            "judge conduct complaints",
            ("category judge_conduct",),
        ),
        (
            item("", category="complaint", channel="letter"),
            "petitions",
            "complaints by letter or visit",
            ("category complaint", "channel letter"),
        ),
        (
            item("", category="complaint", channel="visit"),
            "petitions",
            "complaints by letter or visit",
            ("category complaint", "channel visit"),
        ),
        # A complaint by phone is not a letters-and-visits matter.
        (
            item("", category="complaint", channel="phone"),
            "litigation_service",
            None,
            ("no rule matched",),
        ),
        (
            item("上诉", category="enforcement"),
            "enforcement",
            "enforcement category",
            ("category enforcement",),
        ),
        (
            item("", category="filing", channel="web"),
            "filing",
            "filing category",
            ("category filing",),
        ),
        # A matched case's division wins over keywords.
        (
            item("执行", category="case_progress", case_division="civil_appeal"),
            "civil_appeal",
            "civil appeal cases",
            ("case division civil_appeal",),
        ),
        (
            item("", case_division="enforcement"),
            "enforcement",
            "enforcement cases",
            ("case division enforcement",),
        ),
        (
            item("", case_division="civil_first"),
            "civil_first",
            "civil first-instance cases",
            ("case division civil_first",),
        ),
        (
            item("", case_division="criminal"),
            "criminal",
            "criminal cases",
            ("case division criminal",),
        ),
        (
            item("", case_division="administrative"),
            "administrative",
            "administrative cases",
            ("case division administrative",),
        ),
        (
            item("请问诉讼费怎么交", category="consultation"),
            "litigation_service",
            None,
            ("no rule matched",),
        ),
        (
            item("", category="other", channel="transfer", urgency="urgent"),
            "litigation_service",
            None,
            ("no rule matched",),
        ),
    ],
)
def test_default_routing(
    rules: RoutingRules,
    given: RoutingInput,
    department: str,
    rule: str | None,
    reasons: tuple[str, ...],
) -> None:
    assert rules.route(given) == RouteDecision(department, rule, reasons)


def test_first_matching_rule_wins_and_all_conditions_must_hold(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        """
default_department: desk
rules:
  - name: urgent enforcement letters
    department: a
    when: {category: [enforcement], channel: [letter], urgency: [urgent], keywords: [查封]}
  - name: enforcement
    department: b
    when: {keywords: [查封, 执行]}
""",
        encoding="utf-8",
    )
    rules = load_rules(path)
    full = item("请 查封 房产", category="enforcement", channel="letter", urgency="urgent")
    assert rules.route(full) == RouteDecision(
        "a",
        "urgent enforcement letters",
        ("category enforcement", "channel letter", "urgency urgent", "keyword '查封'"),
    )
    not_urgent = item("请查封房产", category="enforcement", channel="letter")
    assert rules.route(not_urgent) == RouteDecision("b", "enforcement", ("keyword '查封'",))
    assert rules.route(item("nothing")).department == "desk"


def test_normalize_text() -> None:
    assert normalize_text("  申请  强制\t执行 NOW ") == "申请强制执行 now"
    assert normalize_text("ＡＢＣ　ｄｅｆ") == "abc def"
    assert normalize_text("file\n a  case") == "file a case"


RULE = "  - name: {name}\n    department: {department}\n    when: {when}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def rules_file(*rules: str, default: str = "litigation_service") -> str:
    return f"default_department: {default}\nrules:\n" + "".join(rules)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules: [\n", "cannot be read"),
        ("- a\n- b\n", "expected a mapping with default_department and rules"),
        ("", "expected a mapping"),
        (rules_file() + "extra: 1\n", "unknown key 'extra'"),
        ("rules: []\n", "default_department: department must be a department code"),
        (rules_file(default="nowhere"), "default_department: unknown department 'nowhere'"),
        ("default_department: filing\nrules: {a: 1}\n", "rules must be a list"),
        (rules_file("  - just text\n"), "rule 1: expected a mapping with name, department, when"),
        (
            rules_file(
                RULE.format(name="a", department="filing", when="{keywords: [x]}")
                + "    priority: 1\n"
            ),
            "rule 1 ('a'): unknown key 'priority'",
        ),
        (
            rules_file("  - department: filing\n    when: {keywords: [x]}\n"),
            "rule 1: name must be non-empty text",
        ),
        (
            rules_file(
                RULE.format(name="a", department="filing", when="{keywords: [x]}"),
                RULE.format(name="a", department="filing", when="{keywords: [y]}"),
            ),
            "rule 2 ('a'): another rule has the same name",
        ),
        (
            rules_file(RULE.format(name="a", department="registry", when="{keywords: [x]}")),
            "rule 1 ('a'): unknown department 'registry'",
        ),
        (
            rules_file(RULE.format(name="a", department="[filing]", when="{keywords: [x]}")),
            "rule 1 ('a'): department must be a department code",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{}")),
            "rule 1 ('a'): when must list at least one condition",
        ),
        (
            rules_file("  - name: a\n    department: filing\n"),
            "rule 1 ('a'): when must list at least one condition",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{topic: [x]}")),
            "rule 1 ('a'): unknown condition 'topic'",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{keywords: []}")),
            "rule 1 ('a'): keywords must be a non-empty list",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{keywords: 立案}")),
            "rule 1 ('a'): keywords must be a non-empty list",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{keywords: [立案, '']}")),
            "rule 1 ('a'): keywords has empty or non-text values: ''",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{keywords: [no]}")),
            "keywords has empty or non-text values: False (quote words such as yes/no/on/off)",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{category: [appeals]}")),
            "rule 1 ('a'): unknown category 'appeals'",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{channel: [fax]}")),
            "rule 1 ('a'): unknown channel 'fax'",
        ),
        (
            rules_file(RULE.format(name="a", department="filing", when="{urgency: [critical]}")),
            "rule 1 ('a'): unknown urgency 'critical'",
        ),
        (
            rules_file(
                RULE.format(name="a", department="filing", when="{case_division: [family]}")
            ),
            "rule 1 ('a'): unknown case division 'family'",
        ),
        (
            rules_file(
                RULE.format(name="a", department="filing", when="{keywords: [x]}")
                + "    department: enforcement\n"
            ),
            "line 6: duplicate key 'department'",
        ),
    ],
)
def test_rules_problems(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    found = check_rules(
        path, departments=DEPARTMENTS, categories=CATEGORIES, case_divisions=DIVISIONS
    )
    assert any(p.startswith(f"{path}: ") and problem in p for p in found), found
    with pytest.raises(RulesError) as caught:
        load_rules(path, departments=DEPARTMENTS, categories=CATEGORIES, case_divisions=DIVISIONS)
    assert caught.value.problems == found


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        rules_file(
            RULE.format(name="a", department="registry", when="{topic: [x], channel: [fax]}"),
            RULE.format(name="a", department="filing", when="{}"),
            default="nowhere",
        ),
    )
    with pytest.raises(RulesError) as caught:
        load_rules(path, departments=DEPARTMENTS, categories=CATEGORIES)
    assert len(caught.value.problems) == 6, caught.value.problems
    assert str(caught.value).count(str(path)) == 6


def test_codes_are_only_checked_when_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        rules_file(
            RULE.format(
                name="a", department="registry", when="{category: [x], case_division: [y]}"
            ),
            default="desk",
        ),
    )
    assert check_rules(path) == []
    assert check_rules(path, departments=DEPARTMENTS) == [
        f"{path}: default_department: unknown department 'desk'",
        f"{path}: rule 1 ('a'): unknown department 'registry'",
    ]


def test_check_rules_never_raises_on_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    [problem] = check_rules(missing)
    assert problem.startswith(f"{missing}: cannot be read")
    with pytest.raises(RulesError, match="cannot be read"):
        load_rules(missing)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        ([], None),
        ([HandlerLoad(1, 0, False, None), HandlerLoad(2, 0, False, None)], None),
        ([HandlerLoad(1, 3, True, T0), HandlerLoad(2, 1, True, T1)], 2),
        # Off-duty handlers are skipped however idle they are.
        ([HandlerLoad(1, 0, False, None), HandlerLoad(2, 5, True, T1)], 2),
        # Same load: the one assigned longest ago.
        ([HandlerLoad(1, 2, True, T1), HandlerLoad(2, 2, True, T0)], 2),
        # Never assigned beats assigned.
        ([HandlerLoad(1, 2, True, T0), HandlerLoad(2, 2, True, None)], 2),
        # Fewer open orders beats never assigned.
        ([HandlerLoad(1, 1, True, T1), HandlerLoad(2, 2, True, None)], 1),
        # Full tie: the lowest id.
        (
            [HandlerLoad(3, 2, True, T0), HandlerLoad(2, 2, True, T0), HandlerLoad(5, 2, True, T0)],
            2,
        ),
        ([HandlerLoad(4, 0, True, None), HandlerLoad(3, 0, True, None)], 3),
    ],
)
def test_choose_handler(candidates: list[HandlerLoad], chosen: int | None) -> None:
    assert choose_handler(candidates) == chosen
