"""Case numbers (案号): parsing, classification, DTMF keying, spoken digits and read-back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workorders.case_numbers import (
    COURT_PREFIXES,
    DTMF_SCHEME,
    SPECIAL_TRIAL_CODES,
    SUPREME_COURT,
    TYPE_CODES,
    CaseClass,
    CaseNumber,
    CaseNumberError,
    CourtLevel,
    Division,
    parse_case_number,
    parse_keyed,
    speakable,
    spoken_forms,
    spoken_to_digits,
)

T = TypeVar("T")
TODAY = 2026
SHENZHEN_APPEAL = CaseNumber(2022, "粤03", "", "民终", 5487)
FUTIAN_FIRST = CaseNumber(2023, "粤0304", "", "民初", 12345)
RESUMED = CaseNumber(2024, "粤03", "", "执恢", 88)
SUPREME_IP = CaseNumber(2019, "最高法", "知", "民终", 1)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def parse(text: str) -> CaseNumber:
    return parse_case_number(text, today_year=TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("（2022）粤03民终5487号", SHENZHEN_APPEAL),
        ("（2023）粤0304民初12345号", FUTIAN_FIRST),
        ("（2024）粤03执恢88号", RESUMED),  # 执恢, not 执 followed by junk
        ("（2019）最高法知民终1号", SUPREME_IP),
        ("（2024）粤03执88号", CaseNumber(2024, "粤03", "", "执", 88)),
        ("（2020）京民初7号", CaseNumber(2020, "京", "", "民初", 7)),
        ("（2021）黔01刑初3号", CaseNumber(2021, "黔01", "", "刑初", 3)),
        ("（2021）贵01刑初3号", CaseNumber(2021, "贵01", "", "刑初", 3)),
        ("（2021）兵0101民辖终2号", CaseNumber(2021, "兵0101", "", "民辖终", 2)),
        ("（2018）最高法刑核12345678号", CaseNumber(2018, "最高法", "", "刑核", 12345678)),
    ],
)
def test_reference_examples(text: str, expected: CaseNumber) -> None:
    number = parse(text)
    assert number == expected
    assert number.format() == str(number) == text


@pytest.mark.parametrize(
    "text",
    [
        "(2022)粤03民终5487号",
        "（2022)粤03民终5487号",
        "( 2022 ) 粤 03 民终 5487 号",
        "（2022） 粤03 民终 5487号",
        "（２０２２）粤０３民终５４８７号",
        "〔2022〕粤03民终5487号",
        "[2022]粤03民终5487号",
        "［2022］粤03民终5487号",
        "【2022】粤03民终5487号",
        "（2022）粤03民终5487",
        "（2022）粤03民终005487号",
        "  （2022）粤03民终5487号\n",
        "\u3000(2022)粤03民终5487号\u3000",
    ],
)
def test_forms_from_the_wild_normalise(text: str) -> None:
    assert parse(text) == SHENZHEN_APPEAL
    assert parse(text).format() == "（2022）粤03民终5487号"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "missing year in brackets"),
        ("2022粤03民终5487号", "missing year in brackets"),
        ("（）粤03民终5487号", "missing year in brackets"),
        ("（2022粤03民终5487号", "missing closing bracket after the year"),
        ("（22）粤03民终5487号", "year must be four digits, got '22'"),
        ("（二〇二二）粤03民终5487号", "year must be four digits, got '二〇二二'"),
        ("（1890）粤03民终5487号", "year 1890 is out of range (1949–2027)"),
        ("（1948）粤03民终5487号", "year 1948 is out of range (1949–2027)"),
        ("（2028）粤03民终5487号", "year 2028 is out of range (1949–2027)"),
        ("（2022）", "missing court code"),
        ("（2022）号", "missing court code"),
        ("（2022）港03民终5487号", "unknown court code '港03'"),
        ("（2022）广东03民终5487号", "unknown court code '广'"),
        ("（2022）最高法03民终5487号", "unknown court code '最高法03'"),
        ("（2022）粤035487号", "missing case type"),
        ("（2022）粤3民终5487号", "court code '粤3' must have 2 or 4 digits after '粤'"),
        ("（2022）粤030民终5487号", "court code '粤030' must have 2 or 4 digits after '粤'"),
        ("（2022）粤03民X5487号", "unknown case type '民X'"),
        ("（2022）闽X民初5487号", "unknown case type 'X民初'"),
        ("（2022）粤03知知民终5487号", "unknown case type '知知民终'"),
        ("（2022）粤03民终号", "missing serial number"),
        ("（2022）粤03民终0号", "serial must be a positive whole number"),
        ("（2022）粤03民终000号", "serial must be a positive whole number"),
        ("（2022）粤03民终54.87号", "serial must be a positive whole number"),
        ("（2022）粤03民终5487号号", "serial must be a positive whole number"),
        ("（2022）粤03民终1234567890号", "serial is too long (10 digits, at most 9)"),
        (f"（2022）粤03民终{'7' * 5000}号", "serial is too long (5000 digits, at most 9)"),
    ],
)
def test_errors_say_why(text: str, reason: str) -> None:
    with pytest.raises(CaseNumberError) as caught:
        parse(text)
    assert str(caught.value) == reason
    assert isinstance(caught.value, ValueError)


def test_year_range_defaults_to_the_current_year() -> None:
    next_year = date.today().year + 1
    assert parse_case_number(f"（{next_year}）粤03民终1号").year == next_year
    with pytest.raises(CaseNumberError, match="out of range"):
        parse_case_number(f"（{next_year + 1}）粤03民终1号")
    assert parse("（1949）京民初1号").year == 1949


@pytest.mark.parametrize(
    ("text", "case_class", "division", "level"),
    [
        ("（2022）粤03民终5487号", "civil", "civil_appeal", "intermediate"),
        ("（2023）粤0304民初12345号", "civil", "civil_first", "basic"),
        ("（2024）粤03执恢88号", "enforcement", "enforcement", "intermediate"),
        ("（2019）最高法知民终1号", "civil", "civil_appeal", "supreme"),
        ("（2022）粤民特1号", "civil", "civil_first", "high"),
        ("（2022）粤0304民辖2号", "civil", "civil_first", "basic"),
        ("（2022）粤03民辖终2号", "civil", "civil_appeal", "intermediate"),
        ("（2022）粤民申3号", "civil", "civil_appeal", "high"),
        ("（2022）粤民再3号", "civil", "civil_appeal", "high"),
        ("（2022）粤0304民督3号", "civil", "civil_first", "basic"),
        ("（2022）粤0304刑初3号", "criminal", "criminal", "basic"),
        ("（2022）军03刑终3号", "criminal", "criminal", "intermediate"),
        ("（2022）京行终4号", "administrative", "administrative", "high"),
        ("（2022）京73行抗4号", "administrative", "administrative", "intermediate"),
        ("（2022）粤0304执异4号", "enforcement", "enforcement", "basic"),
        ("（2022）粤03破5号", "bankruptcy", None, "intermediate"),
        ("（2022）粤03破申5号", "bankruptcy", None, "intermediate"),
        ("（2022）粤赔6号", "state_compensation", None, "high"),
        ("（2022）粤03委赔6号", "state_compensation", None, "intermediate"),
        ("（2022）粤03司救7号", "judicial_aid", None, "intermediate"),
        ("（2022）粤03司惩8号", "other", None, "intermediate"),
    ],
)
def test_class_division_and_level(
    text: str, case_class: str, division: str | None, level: str
) -> None:
    number = parse(text)
    assert number.case_class == case_class
    assert number.division == division
    assert number.court_level == level
    assert isinstance(number.case_class, CaseClass)
    assert isinstance(number.court_level, CourtLevel)
    assert division is None or isinstance(number.division, Division)


SAME_SERIAL_ENFORCEMENT = CaseNumber(2022, "粤0304", "", "执", 5487)
OTHER_YEAR = CaseNumber(2021, "粤03", "", "民终", 5487)
CANDIDATES = (SHENZHEN_APPEAL, SAME_SERIAL_ENFORCEMENT, OTHER_YEAR, FUTIAN_FIRST, RESUMED)


@pytest.mark.parametrize(
    ("keys", "default_court", "expected"),
    [
        ("2023*12345#", None, [FUTIAN_FIRST]),
        ("2023*12345", None, [FUTIAN_FIRST]),  # Twilio already took the #
        (" 2024*88# ", None, [RESUMED]),
        ("2024*0088#", None, [RESUMED]),
        ("2022*5487#", None, [SHENZHEN_APPEAL, SAME_SERIAL_ENFORCEMENT]),
        ("2022*03*5487#", None, [SHENZHEN_APPEAL]),
        ("2022*0304*5487#", None, [SAME_SERIAL_ENFORCEMENT]),
        ("2022*0304*5487#", "粤03", [SAME_SERIAL_ENFORCEMENT]),
        ("2022*0304*5487#", "京", []),  # the hotline's province rules 粤0304 out
        ("2022*0305*5487#", None, []),
        ("2022*5488#", None, []),
        ("2020*5487#", None, []),
    ],
)
def test_parse_keyed_matches_candidates(
    keys: str, default_court: str | None, expected: list[CaseNumber]
) -> None:
    found = parse_keyed(keys, candidates=CANDIDATES, default_court=default_court, today_year=TODAY)
    assert found == expected


def test_parse_keyed_without_candidates_finds_nothing() -> None:
    assert parse_keyed("2022*5487#", today_year=TODAY) == []
    assert parse_keyed("2022*03*5487#", default_court="粤03", today_year=TODAY) == []


def test_parse_keyed_lists_each_candidate_once() -> None:
    doubled = (SHENZHEN_APPEAL, SHENZHEN_APPEAL)
    assert parse_keyed("2022*5487", candidates=doubled, today_year=TODAY) == [SHENZHEN_APPEAL]


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ("", "keys must be digits separated by * (year*serial#)"),
        ("#", "keys must be digits separated by * (year*serial#)"),
        ("2022*54a7#", "keys must be digits separated by * (year*serial#)"),
        ("2022#5487", "keys must be digits separated by * (year*serial#)"),
        ("20225487#", "key year*serial# or year*court digits*serial#"),
        ("2022*03*01*5487#", "key year*serial# or year*court digits*serial#"),
        ("2022**5487#", "key year*serial# or year*court digits*serial#"),
        ("2022*", "key year*serial# or year*court digits*serial#"),
        ("22*5487#", "year must be four digits, got '22'"),
        ("1890*5487#", "year 1890 is out of range (1949–2027)"),
        ("2022*000#", "serial must be a positive whole number"),
        ("2022*030*5487#", "court digits must be 2 or 4 digits, got 030"),
    ],
)
def test_parse_keyed_rejects_malformed_keys(keys: str, reason: str) -> None:
    with pytest.raises(CaseNumberError) as caught:
        parse_keyed(keys, candidates=CANDIDATES, today_year=TODAY)
    assert str(caught.value) == reason


def test_dtmf_scheme_documents_both_forms() -> None:
    assert "2022*5487#" in DTMF_SCHEME
    assert "2023*0304*12345#" in DTMF_SCHEME


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("二零二二", "2022"),
        ("二〇二二", "2022"),
        ("一二三", "123"),
        ("幺二三", "123"),
        ("五千四百八十七", "5487"),
        ("两千零二十二", "2022"),
        ("一百零五", "105"),
        ("一千零五十", "1050"),
        ("十", "10"),
        ("十二", "12"),
        ("二十", "20"),
        ("八十八", "88"),
        ("两百", "200"),
        ("五千四", "5400"),  # colloquial: the unit after 四 is implied
        ("一万二千三百四十五", "12345"),
        ("一万零五", "10005"),
        ("一万二", "12000"),
        ("一千万", "10000000"),
        ("壹贰叁", "123"),
        ("五 千 四 百 八 十 七", "5487"),  # Vosk puts spaces between words
        ("二零二二 五千四百八十七", "20225487"),
        ("二零二二年 五四八七号", "20225487"),
        ("2022年 5487号", "20225487"),
        ("２０２２", "2022"),
        ("2 0 2 2", "2022"),
        ("two zero two two", "2022"),
        ("Two Oh Two Two", "2022"),
        ("twenty twenty two", "2022"),
        ("twenty twenty-two", "2022"),
        ("nineteen ninety nine", "1999"),
        ("nineteen oh five", "1905"),
        ("twenty ten", "2010"),
        ("two thousand and five", "2005"),
        ("five thousand four hundred eighty seven", "5487"),
        ("one hundred twelve", "112"),
        ("eighty eight", "88"),
        ("case number five four eight seven please", "5487"),
        ("粤零三", "03"),
        ("民终", ""),
        ("", ""),
    ],
)
def test_spoken_to_digits(said: str, digits: str) -> None:
    assert spoken_to_digits(said) == digits


def test_spoken_forms_of_the_reference_example() -> None:
    zh = spoken_forms(SHENZHEN_APPEAL, "zh-CN")
    assert {"二零二二年 粤零三 民终 五四八七号", "二零二二 五四八七", "五四八七号"} <= set(zh)
    assert "五千四百八十七号" in zh
    en = spoken_forms(SHENZHEN_APPEAL, "en-US")
    assert {"twenty twenty two case five four eight seven", "five four eight seven"} <= set(en)
    assert "civil appeal five four eight seven" in en
    assert len(zh) == len(set(zh))
    assert "两百号" in spoken_forms(CaseNumber(2022, "粤03", "", "民终", 200), "zh-CN")
    assert spoken_forms(SUPREME_IP, "zh")[0] == "二零一九年 最高法 知民终 一号"


@pytest.mark.parametrize(
    ("number", "language", "text"),
    [
        (SHENZHEN_APPEAL, "zh-CN", "二零二二年，粤零三，民终，五四八七号"),
        (FUTIAN_FIRST, "zh-CN", "二零二三年，粤零三零四，民初，一二三四五号"),
        (SUPREME_IP, "zh-CN", "二零一九年，最高法，知民终，一号"),
        (SHENZHEN_APPEAL, "en-US", "case 2022, Guangdong 0 3, civil appeal, number 5 4 8 7"),
        (RESUMED, "en-US", "case 2024, Guangdong 0 3, resumed enforcement, number 8 8"),
        (
            SUPREME_IP,
            "en-US",
            "case 2019, Supreme People's Court, intellectual property civil appeal, number 1",
        ),
        (
            CaseNumber(2021, "内01", "", "行初", 30),
            "en-GB",
            "case 2021, Inner Mongolia 0 1, administrative first instance, number 3 0",
        ),
        (CaseNumber(2021, "港03", "", "民X", 5), "en-US", "case 2021, 港 0 3, 民X, number 5"),
    ],
)
def test_speakable(number: CaseNumber, language: str, text: str) -> None:
    assert speakable(number, language) == text


def test_speech_needs_a_known_language() -> None:
    with pytest.raises(ValueError, match="ko-KR"):
        speakable(SHENZHEN_APPEAL, "ko-KR")
    with pytest.raises(ValueError, match="ko-KR"):
        spoken_forms(SHENZHEN_APPEAL, "ko-KR")


@st.composite
def case_numbers(draw: st.DrawFn) -> CaseNumber:
    prefix = draw(st.sampled_from([SUPREME_COURT, *sorted(COURT_PREFIXES)]))
    width = 0 if prefix == SUPREME_COURT else draw(st.sampled_from([0, 2, 4]))
    digits = f"{draw(st.integers(0, 10**width - 1)):0{width}d}" if width else ""
    return CaseNumber(
        year=draw(st.integers(1949, TODAY + 1)),
        court=prefix + digits,
        special=draw(st.sampled_from(["", *sorted(SPECIAL_TRIAL_CODES)])),
        type_code=draw(st.sampled_from(sorted(TYPE_CODES))),
        serial=draw(st.integers(1, 10**9 - 1)),
    )


@st.composite
def as_written_in_the_wild(draw: st.DrawFn, number: CaseNumber) -> str:
    """The number with any brackets, padding zeros, spacing and digit widths people use."""
    text = (
        draw(st.sampled_from("（(〔[【［"))
        + f"{number.year}"
        + draw(st.sampled_from("）)〕]】］"))
        + f"{number.court}{number.special}{number.type_code}"
        + "0" * draw(st.integers(0, 3))
        + f"{number.serial}"
        + draw(st.sampled_from(["号", ""]))
    )
    out = []
    for ch in text:
        out.append(draw(st.sampled_from(["", "", "", " ", "\u3000", "\t"])))
        out.append(ch.translate(FULL_WIDTH) if draw(st.booleans()) else ch)
    return "".join(out) + draw(st.sampled_from(["", " ", "\n"]))


@given(case_numbers())
def test_format_round_trips(number: CaseNumber) -> None:
    assert parse(number.format()) == number


@given(st.data())
def test_wild_forms_round_trip(data: st.DataObject) -> None:
    number = data.draw(case_numbers())
    assert parse(data.draw(as_written_in_the_wild(number))) == number


def outcome_of(read: Callable[[str], T], text: str) -> T | str:
    """What `read` returns, or the reason it gave; any other exception fails the test."""
    try:
        return read(text)
    except CaseNumberError as error:
        return str(error)


@given(
    st.one_of(
        st.text(),
        st.text(alphabet="（）()[]〔〕0123456789０粤京最高法民终初执恢知号 　X.*#", max_size=30),
        case_numbers().map(CaseNumber.format).map(lambda s: s[: len(s) // 2]),
        st.integers(0, 6000).map(lambda k: f"（2022）粤03民终{'7' * k}号"),
    )
)
def test_only_case_number_errors_escape(text: str) -> None:
    outcome = outcome_of(parse, text)
    if isinstance(outcome, CaseNumber):
        assert parse(outcome.format()) == outcome
    else:
        assert outcome


@given(st.text(alphabet="0123456789*#a ", max_size=20))
def test_keyed_input_only_raises_case_number_errors(keys: str) -> None:
    outcome = outcome_of(lambda k: parse_keyed(k, candidates=CANDIDATES, today_year=TODAY), keys)
    if isinstance(outcome, list):
        assert set(outcome) <= set(CANDIDATES)
    else:
        assert outcome


@given(case_numbers(), st.sampled_from(["zh-CN", "en-US"]))
def test_every_spoken_form_ends_in_the_serial(number: CaseNumber, language: str) -> None:
    heard = [spoken_to_digits(form) for form in spoken_forms(number, language)]
    assert all(digits.endswith(str(number.serial)) for digits in heard)
    assert f"{number.year}{number.serial}" in heard
