"""Chinese court case numbers (案号): parsing, the normalised form, phone keying and speech."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final

DTMF_SCHEME: Final = """\
Keying a case number (案号) on the phone:
  year * serial #                  2022*5487#         for （2022）粤03民终5487号
  year * court digits * serial #   2023*0304*12345#   for （2023）粤0304民初12345号
The year is four digits. The serial is the number before 号; leading zeros are ignored. The
court digits are the 2 or 4 digits after the province character (03 in 粤03, 0304 in 粤0304).
The final # ends the entry and may already be gone (Twilio strips finishOnKey); a flow that
collects the year and the serial in two prompts joins them with *. Characters cannot be keyed,
so the province, the special-trial code and the type code come from the caller's candidate
cases (the province may come from the hotline's own court); every candidate that fits is
returned, and when several remain the flow offers a short menu of their types.
"""


class CaseClass(StrEnum):
    CIVIL = "civil"
    CRIMINAL = "criminal"
    ADMINISTRATIVE = "administrative"
    ENFORCEMENT = "enforcement"
    STATE_COMPENSATION = "state_compensation"
    BANKRUPTCY = "bankruptcy"
    JUDICIAL_AID = "judicial_aid"
    OTHER = "other"


class Division(StrEnum):
    """The `case_division` values routing_rules.yaml routes on."""

    CIVIL_FIRST = "civil_first"
    CIVIL_APPEAL = "civil_appeal"
    CRIMINAL = "criminal"
    ADMINISTRATIVE = "administrative"
    ENFORCEMENT = "enforcement"


class CourtLevel(StrEnum):
    SUPREME = "supreme"
    HIGH = "high"
    INTERMEDIATE = "intermediate"
    BASIC = "basic"


SUPREME_COURT: Final = "最高法"
# fmt: off
# High-court codes → English. Guizhou and Yunnan each have two abbreviations in use (黔/贵,
# 云/滇) and both turn up in case numbers people read out, so both are accepted.
COURT_PREFIXES: Final[Mapping[str, str]] = MappingProxyType({
    "京": "Beijing", "津": "Tianjin", "冀": "Hebei", "晋": "Shanxi", "内": "Inner Mongolia",
    "辽": "Liaoning", "吉": "Jilin", "黑": "Heilongjiang", "沪": "Shanghai", "苏": "Jiangsu",
    "浙": "Zhejiang", "皖": "Anhui", "闽": "Fujian", "赣": "Jiangxi", "鲁": "Shandong",
    "豫": "Henan", "鄂": "Hubei", "湘": "Hunan", "粤": "Guangdong", "桂": "Guangxi",
    "琼": "Hainan", "渝": "Chongqing", "川": "Sichuan", "黔": "Guizhou", "贵": "Guizhou",
    "云": "Yunnan", "滇": "Yunnan", "藏": "Tibet", "陕": "Shaanxi", "甘": "Gansu",
    "青": "Qinghai", "宁": "Ningxia", "新": "Xinjiang",
    "军": "Military", "兵": "Production and Construction Corps",
})
# The special-trial codes of the specialised courts known to use one (2018 amendment); a code
# outside this list is reported as part of an unknown case type rather than guessed at.
SPECIAL_TRIAL_CODES: Final[Mapping[str, str]] = MappingProxyType({
    "知": "intellectual property", "金": "financial", "海": "maritime",
    "环": "environmental", "铁": "railway transport", "互": "internet",
})
# The common type codes of the standard (it has 131); English is for read-back.
TYPE_CODES: Final[Mapping[str, str]] = MappingProxyType({
    "民初": "civil first instance", "民终": "civil appeal", "民申": "civil retrial review",
    "民再": "civil retrial", "民特": "civil special procedure", "民辖": "civil jurisdiction",
    "民辖终": "civil jurisdiction appeal", "民催": "public summons", "民督": "payment order",
    "民撤": "setting aside an arbitral award", "民保": "civil preservation",
    "民抗": "civil protest",
    "刑初": "criminal first instance", "刑终": "criminal appeal",
    "刑申": "criminal retrial review", "刑再": "criminal retrial",
    "刑更": "sentence reduction and parole", "刑监": "criminal supervision",
    "刑核": "death penalty review",
    "行初": "administrative first instance", "行终": "administrative appeal",
    "行申": "administrative retrial review", "行再": "administrative retrial",
    "行审": "administrative non-litigation review", "行抗": "administrative protest",
    "执": "enforcement", "执恢": "resumed enforcement", "执异": "enforcement objection",
    "执复": "enforcement review", "执保": "preservation enforcement",
    "执监": "enforcement supervision", "执协": "enforcement coordination",
    "破": "bankruptcy", "破申": "bankruptcy application", "赔": "state compensation",
    "委赔": "compensation commission", "司救": "judicial aid", "司惩": "judicial sanction",
})
_CLASS_PREFIXES = (
    ("民", CaseClass.CIVIL), ("刑", CaseClass.CRIMINAL), ("行", CaseClass.ADMINISTRATIVE),
    ("执", CaseClass.ENFORCEMENT), ("赔", CaseClass.STATE_COMPENSATION),
    ("委赔", CaseClass.STATE_COMPENSATION), ("破", CaseClass.BANKRUPTCY),
    ("司救", CaseClass.JUDICIAL_AID),
)
# Civil cases a higher court reviews (appeals, retrials, protests); the other civil types are
# first-instance or non-contentious work for the civil first-instance division.
_CIVIL_APPEAL_TYPES = frozenset({"民终", "民申", "民再", "民抗", "民辖终"})
_BY_CLASS = {CaseClass.CRIMINAL: Division.CRIMINAL, CaseClass.ENFORCEMENT: Division.ENFORCEMENT,
             CaseClass.ADMINISTRATIVE: Division.ADMINISTRATIVE}
# fmt: on


def _court_prefix(court: str) -> str:
    return SUPREME_COURT if court.startswith(SUPREME_COURT) else court[:1]


@dataclass(frozen=True, slots=True)
class CaseNumber:
    year: int
    court: str  # 最高法, 粤, 粤03 or 粤0304
    special: str  # "" or a special-trial code such as 知
    type_code: str
    serial: int

    def format(self) -> str:
        return f"（{self.year}）{self.court}{self.special}{self.type_code}{self.serial}号"

    def __str__(self) -> str:
        return self.format()

    @property
    def court_prefix(self) -> str:
        return _court_prefix(self.court)

    @property
    def court_digits(self) -> str:
        return self.court[len(self.court_prefix) :]

    @property
    def case_class(self) -> CaseClass:
        matches = (c for prefix, c in _CLASS_PREFIXES if self.type_code.startswith(prefix))
        return next(matches, CaseClass.OTHER)

    @property
    def division(self) -> Division | None:
        if self.case_class is CaseClass.CIVIL:
            appeal = self.type_code in _CIVIL_APPEAL_TYPES
            return Division.CIVIL_APPEAL if appeal else Division.CIVIL_FIRST
        return _BY_CLASS.get(self.case_class)

    @property
    def court_level(self) -> CourtLevel:
        if self.court_prefix == SUPREME_COURT:
            return CourtLevel.SUPREME
        digits = len(self.court_digits)
        if digits == 0:
            return CourtLevel.HIGH
        return CourtLevel.INTERMEDIATE if digits == 2 else CourtLevel.BASIC


class CaseNumberError(ValueError):
    """Text that is not a case number; the message says why, in plain English."""


_OPEN, _CLOSE = "([〔【", ")]〕】"  # after NFKC, which folds （）［］ to ()[]
_SPACE = re.compile(r"\s+")
# [0-9], not \d: \d also matches other scripts' digits, which int() accepts but nobody keys.
_BODY = re.compile(r"([0-9]*)([^0-9]*)([0-9]*)(.*)", re.DOTALL)
_MAX_SERIAL_DIGITS = 9  # death-penalty reviews use 8 random digits; also keeps int() cheap


def _check_year(text: str, today_year: int | None) -> int:
    if not re.fullmatch(r"[0-9]{4}", text):
        raise CaseNumberError(f"year must be four digits, got '{text}'")
    year, last = int(text), (today_year or date.today().year) + 1
    if not 1949 <= year <= last:
        raise CaseNumberError(f"year {year} is out of range (1949–{last})")
    return year


def _check_serial(text: str) -> int:
    digits = text.lstrip("0")
    if not digits or not re.fullmatch(r"[0-9]+", digits):
        raise CaseNumberError("serial must be a positive whole number")
    if len(digits) > _MAX_SERIAL_DIGITS:
        raise CaseNumberError(
            f"serial is too long ({len(digits)} digits, at most {_MAX_SERIAL_DIGITS})"
        )
    return int(digits)


def parse_case_number(text: str, *, today_year: int | None = None) -> CaseNumber:
    """Read a case number as written or typed; raises CaseNumberError saying what is wrong."""
    s = _SPACE.sub("", unicodedata.normalize("NFKC", text))
    if not s[:1] or s[0] not in _OPEN:
        raise CaseNumberError("missing year in brackets")
    close = next((i for i, ch in enumerate(s) if ch in _CLOSE), 0)
    if not close:
        raise CaseNumberError("missing closing bracket after the year")
    if close == 1:
        raise CaseNumberError("missing year in brackets")
    year = _check_year(s[1:close], today_year)
    rest = s[close + 1 :].removesuffix("号")
    if not rest:
        raise CaseNumberError("missing court code")
    prefix = _court_prefix(rest)
    match = _BODY.fullmatch(rest, len(prefix))
    assert match is not None  # every group is optional
    digits, kind, serial, extra = match.groups()
    court = prefix + digits
    if prefix not in COURT_PREFIXES and (prefix != SUPREME_COURT or digits):
        raise CaseNumberError(f"unknown court code '{court}'")
    if not kind:
        raise CaseNumberError("missing case type")
    if len(digits) not in (0, 2, 4):
        raise CaseNumberError(f"court code '{court}' must have 2 or 4 digits after '{prefix}'")
    # The serial's digits end the type code, so an exact lookup is the longest match (执恢88
    # is 执恢, never 执 with a stray 恢).
    if kind in TYPE_CODES:
        special, type_code = "", kind
    elif kind[0] in SPECIAL_TRIAL_CODES and kind[1:] in TYPE_CODES:
        special, type_code = kind[0], kind[1:]
    else:
        raise CaseNumberError(f"unknown case type '{kind}'")
    if not serial and not extra:
        raise CaseNumberError("missing serial number")
    return CaseNumber(year, court, special, type_code, _check_serial(serial + extra))


def parse_keyed(
    keys: str,
    *,
    candidates: Sequence[CaseNumber] = (),
    default_court: str | None = None,
    today_year: int | None = None,
) -> list[CaseNumber]:
    """The candidates that fit keys entered per DTMF_SCHEME, in candidate order.

    Keys alone cannot name a type code, so with no candidates the answer is always [].
    `default_court` (the hotline's own court) supplies the province for keyed court digits.
    """
    entry = keys.strip().removesuffix("#")
    if not re.fullmatch(r"[0-9*]+", entry):
        raise CaseNumberError("keys must be digits separated by * (year*serial#)")
    parts = entry.split("*")
    if len(parts) not in (2, 3) or "" in parts:
        raise CaseNumberError("key year*serial# or year*court digits*serial#")
    year, serial = _check_year(parts[0], today_year), _check_serial(parts[-1])
    digits = parts[1] if len(parts) == 3 else None
    if digits is not None and len(digits) not in (2, 4):
        raise CaseNumberError(f"court digits must be 2 or 4 digits, got {digits}")
    prefix = _court_prefix(default_court or "")
    court = prefix + digits if digits is not None and prefix in COURT_PREFIXES else None
    fits = (
        c
        for c in candidates
        if c.year == year
        and c.serial == serial
        and digits in (None, c.court_digits)
        and court in (None, c.court)
    )
    return list(dict.fromkeys(fits))


_ZH_CHARS = "零一二三四五六七八九"
_ZH_DIGITS = {ch: i for i, ch in enumerate(_ZH_CHARS)} | {"〇": 0, "两": 2, "幺": 1}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_NUMERAL = "[零〇一二两三四五六七八九幺十百千万]"
_ZH_READ = str.maketrans("0123456789", _ZH_CHARS)
_ZH_FORMAL = str.maketrans("壹贰叁肆伍陆柒捌玖拾佰仟", "一二三四五六七八九十百千")
_ZH_GAP = re.compile(rf"(?<={_ZH_NUMERAL})\s+(?={_ZH_NUMERAL})")
_ZH_GROUP = re.compile(r"([零〇一二两三四五六七八九幺]*)([十百千万]?)")
_TOKEN = re.compile(rf"[0-9]+|{_ZH_NUMERAL}+|[a-z]+|\S")
# fmt: off
_EN_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen")
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on
_EN_WORDS = (
    {w: ("ones", i) for i, w in enumerate(_EN_SMALL[:10])}
    | {"oh": ("ones", 0), "o": ("ones", 0)}
    | {w: ("teen", i + 10) for i, w in enumerate(_EN_SMALL[10:])}
    | {w: ("tens", 20 + 10 * i) for i, w in enumerate(_EN_TENS)}
    | {"hundred": ("hundred", 100), "thousand": ("thousand", 1000), "and": ("and", 0)}
)


def _read_chinese(run: str) -> str:
    """One run of Chinese numerals as digits: 二零二二 → 2022, 两千零二十二 → 2022."""
    out: list[str] = []
    high = low = unit = 0  # unit: the last unit of the number being read, 0 when none is

    def flush() -> None:
        nonlocal high, low, unit
        if unit:
            out.append(str(high + low))
        high = low = unit = 0

    for numerals, mark in _ZH_GROUP.findall(run):
        values = [_ZH_DIGITS[ch] for ch in numerals]
        gap = bool(unit and values and values[0] == 0)  # 零 fills a gap: 一百零五
        values = values[len(values) - len(numerals.lstrip("零〇")) :] if unit else values
        if not mark:
            if unit and len(values) == 1:
                # 五千四 is 5400 and 一万二 is 12000: speakers drop the next unit down.
                low += values.pop() * (unit // 10 if unit >= 100 and not gap else 1)
            flush()
            out.extend(str(v) for v in values)
            continue
        scale = _ZH_UNITS[mark]
        if unit and (len(values) > 1 or (high > 0 if scale == 10000 else scale >= unit)):
            flush()  # 五百三百 or 二零二二五千…: a new number starts here
        if not unit:
            out.extend(str(v) for v in values[:-1])  # digit-by-digit lead-in: 二零二二 五千…
            values = values[-1:]
        if scale == 10000:
            high, low = (low + (values[0] if values else 0 if low else 1)) * scale, 0
        else:
            low += (values[0] if values else 1) * scale  # 十二 is 12
        unit = scale
    flush()
    return "".join(out)


def spoken_to_digits(text: str) -> str:
    """All the digits said in `text`, each spoken number converted and the results joined.

    Handles Arabic digits (full-width too); Chinese numerals read digit by digit (二零二二,
    with 〇, 两 and the phone 幺) or as numbers with 十百千万 (五千四百八十七, 两千零二十二,
    colloquial 五千四 = 5400), formal 壹贰…; and English number words: digit by digit ("two oh
    two two"), teens and tens ("twenty twenty two" → 2022) and hundred/thousand ("two thousand
    and five"). Whitespace inside a Chinese number is ignored (recognisers such as Vosk put
    spaces between words); any other word or character only ends the number being read.
    Mixed text keeps every run: "2022年 5487号" → "20225487".
    """
    s = unicodedata.normalize("NFKC", text).casefold().translate(_ZH_FORMAL).replace("-", " ")
    out: list[str] = []
    kind, high, low = "", 0, 0  # the English number being read; kind "" when none is

    def flush() -> None:
        nonlocal kind, high, low
        if kind:
            out.append(str(high + low))
        kind, high, low = "", 0, 0

    for token in _TOKEN.findall(_ZH_GAP.sub("", s)):
        word, value = _EN_WORDS.get(token, ("", 0))
        if word == "and" and kind == "scale":
            continue
        if word == "ones" and (kind == "scale" or (kind == "tens" and value)):
            low, kind = low + value, kind if kind == "scale" and not value else "ones"
        elif word in ("teen", "tens") and kind == "scale":
            low, kind = low + value, word
        elif word in ("ones", "teen", "tens"):
            flush()
            low, kind = value, word
        elif word == "hundred":
            if kind not in ("", "scale") and low < 100:
                low *= 100
            else:
                flush()
                low = 100
            kind = "scale"
        elif word == "thousand":
            if kind and not high:
                high, low = (low or 1) * 1000, 0
            else:
                flush()
                high = 1000
            kind = "scale"
        else:
            flush()
            if token[0] in "0123456789":
                out.append(token)
            elif token[0] in _ZH_DIGITS or token[0] in _ZH_UNITS:
                out.append(_read_chinese(token))
    flush()
    return "".join(out)


def _zh_number(n: int) -> str:
    if n >= 10000:
        high, low = divmod(n, 10000)
        tail = ("零" if low < 1000 else "") + _zh_number(low) if low else ""
        return f"{_zh_number(high)}万{tail}"
    out: list[str] = []
    gap = False
    for power, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // power % 10
        if not digit:
            gap = bool(out)
            continue
        lead = "" if power == 10 and digit == 1 and not out else _ZH_CHARS[digit]  # 十二
        out.append(("零" if gap else "") + lead + unit)
        gap = False
    return "".join(out)


def _en_digits(text: str) -> str:
    return " ".join(_EN_SMALL[int(ch)] for ch in text)


def _en_number(n: int) -> str:
    if n < 20:
        return _EN_SMALL[n]
    if n < 100:
        return _EN_TENS[n // 10 - 2] + (f" {_EN_SMALL[n % 10]}" if n % 10 else "")
    size, word = (100, "hundred") if n < 1000 else (1000, "thousand")
    head, rest = divmod(n, size)
    return f"{_en_number(head)} {word}" + (f" {_en_number(rest)}" if rest else "")


def _en_year(year: int) -> str:
    century, rest = divmod(year, 100)
    if 2000 <= year < 2010 or not year % 1000:
        return _en_number(year)  # two thousand five
    if not rest:
        return f"{_en_number(century)} hundred"
    if rest < 10:
        return f"{_en_number(century)} oh {_EN_SMALL[rest]}"
    return f"{_en_number(century)} {_en_number(rest)}"


def _language(language: str) -> str:
    primary = language.split("-")[0].casefold()
    if primary not in ("zh", "en"):
        raise ValueError(f"no case-number speech for language {language!r}")
    return primary


def _en_kind(number: CaseNumber) -> str:
    kind = TYPE_CODES.get(number.type_code, number.type_code)
    return f"{SPECIAL_TRIAL_CODES.get(number.special, number.special)} {kind}".strip()


def spoken_forms(number: CaseNumber, language: str) -> list[str]:
    """Phrases a caller might say for this case, for speech grammars built from candidates.

    English forms are lower case and unhyphenated, as recognisers write them; a year in words
    is always followed by "case" because "twenty twenty" + "two" would otherwise sound like 2022.
    """
    serial = str(number.serial)
    positional = 10 <= number.serial < 100000  # short serials are often said as numbers
    if _language(language) == "zh":
        year, s = str(number.year).translate(_ZH_READ), serial.translate(_ZH_READ)
        court = number.court_prefix + number.court_digits.translate(_ZH_READ)
        kind = number.special + number.type_code
        forms = [f"{year}年 {court} {kind} {s}号", f"{year}年 {s}号", f"{year} {s}"]
        forms += [f"{kind} {s}号", f"{s}号", s]
        if positional:
            said = _zh_number(number.serial)
            forms += [f"{said}号", f"{year}年 {said}号"]
            if said[0] == "二" and said[1:2] in ("百", "千", "万"):
                forms.append(f"两{said[1:]}号")
    else:
        year, s = _en_year(number.year), _en_digits(serial)
        kind = _en_kind(number).lower()
        forms = [f"{year} case {s}", f"{_en_digits(str(number.year))} {s}", f"case {s}"]
        forms += [f"{kind} {s}", s]
        if positional:
            forms += [f"case {_en_number(number.serial)}", _en_number(number.serial)]
    return list(dict.fromkeys(forms))


def speakable(number: CaseNumber, language: str) -> str:
    """The read-back text for TTS: year, court digits and serial digit by digit, in clauses."""
    digits = number.court_digits
    if _language(language) == "zh":
        court = number.court_prefix + digits.translate(_ZH_READ)
        kind = number.special + number.type_code
        year, serial = str(number.year).translate(_ZH_READ), str(number.serial).translate(_ZH_READ)
        return f"{year}年，{court}，{kind}，{serial}号"
    prefix = number.court_prefix
    name = "Supreme People's Court" if prefix == SUPREME_COURT else COURT_PREFIXES.get(prefix)
    court = " ".join([name or prefix, *digits])
    serial = " ".join(str(number.serial))
    return f"case {number.year}, {court}, {_en_kind(number)}, number {serial}"
