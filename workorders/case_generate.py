"""Realistic, deterministic court cases for demos and benchmarks, streamed, and a bulk loader."""

from __future__ import annotations

import bisect
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate, islice
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workorders.base import Base, utcnow
from workorders.case_numbers import parse_case_number
from workorders.case_registry import CaseRecord, PartyRecord, hash_id_number, id_last_digits
from workorders.cases import CourtCase, Party, PartyPhone, PartyRole
from workorders.contacts import Contact

SHANGHAI = ZoneInfo("Asia/Shanghai")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏飞斌宇浩凯俊峰晨欣怡佳琪雪梅婷慧"
    "颖振海波宁云健丹燕淑珍晓春荣德新利成林庆家嘉思雨梓涵轩然诺妍宏博翔鑫彬雅琳倩璐"
)
FIRM_WORDS = "华腾鑫源恒达信诚盛泰宏远金鹏创新瑞天成安顺汇通嘉和永兴富康星辰博雅中科"
INDUSTRIES = ("科技", "贸易", "电子", "实业", "建设工程", "物业管理", "投资", "餐饮管理", "物流")
AGENCIES = (
    "深圳市市场监督管理局",
    "深圳市人力资源和社会保障局",
    "深圳市规划和自然资源局",
    "深圳市公安局交通警察支队",
    "深圳市住房和建设局",
)
COURT_NAMES = {
    "粤03": "广东省深圳市中级人民法院",
    "粤0303": "深圳市罗湖区人民法院",
    "粤0304": "深圳市福田区人民法院",
    "粤0305": "深圳市南山区人民法院",
    "粤0306": "深圳市宝安区人民法院",
    "粤0307": "深圳市龙岗区人民法院",
}
# Household-register areas: Shenzhen's districts and a few provinces people move from.
AREAS = (
    *("440303", "440304", "440305", "440306", "440307", "440308", "441302", "440106"),
    *("445102", "430102", "430621", "360102", "450102", "510104", "420102", "350102"),
    *("410102", "110101", "310101", "500101"),
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
MOBILE_PREFIXES = (
    *(130, 131, 132, 133, 135, 136, 137, 138, 139),
    *(150, 151, 152, 153, 155, 156, 157, 158, 159),  # 154 is not allocated
    *(180, 181, 182, 183, 185, 186, 187, 188, 189),
)

Stage = tuple[str, str, str, bool]  # code, zh-CN, en-US, has a hearing to come
CLOSED: Stage = ("closed", "已结案", "closed", False)


@dataclass(frozen=True)
class Kind:
    """What a type of case looks like: causes (with the share of company parties), roles."""

    causes: tuple[tuple[str, float], ...]
    first: PartyRole
    second: PartyRole
    extra: PartyRole  # the occasional third party
    stages: tuple[Stage, ...]


# fmt: off
# (cause, share of parties that are companies)
CIVIL_CAUSES = (
    ("医疗损害责任纠纷", 0.0), ("民间借贷纠纷", 0.1), ("买卖合同纠纷", 0.6), ("劳动争议", 0.5),
    ("离婚纠纷", 0.0), ("机动车交通事故责任纠纷", 0.2), ("房屋租赁合同纠纷", 0.3),
    ("物业服务合同纠纷", 0.5), ("建设工程施工合同纠纷", 0.7), ("金融借款合同纠纷", 0.6),
)
CRIMES = tuple((c, 0.0) for c in ("盗窃罪", "诈骗罪", "危险驾驶罪", "故意伤害罪",
                                  "帮助信息网络犯罪活动罪", "非法吸收公众存款罪"))
ADMINISTRATIVE = (("行政许可", 0.3), ("行政处罚", 0.3), ("行政强制", 0.2),
                  ("政府信息公开", 0.0), ("工伤认定", 0.0))
ENFORCEMENT: tuple[Stage, ...] = (
    ("enforcement", "执行立案，财产调查阶段", "enforcement, asset investigation", False),
    ("enforcement", "执行款发放阶段", "enforcement, paying out proceeds", False),
    ("suspended", "终结本次执行程序", "enforcement suspended, no assets found", False),
)
FIRST_INSTANCE: tuple[Stage, ...] = (
    ("filed", "已立案，等待排期", "filed, awaiting a hearing date", False),
    ("mediation", "诉前调解阶段", "first instance, mediation", True),
    ("trial", "一审审理阶段", "first instance, trial", True),
    ("judgment", "一审待宣判", "first instance, awaiting judgment", False),
)
APPEAL: tuple[Stage, ...] = (
    ("mediation", "二审调解阶段", "second instance, mediation", True),
    ("trial", "二审审理阶段", "second instance, trial", True),
    ("judgment", "二审待宣判", "second instance, awaiting judgment", False),
)
R = PartyRole
KINDS: dict[str, Kind] = {
    "民初": Kind(CIVIL_CAUSES, R.PLAINTIFF, R.DEFENDANT, R.THIRD_PARTY, FIRST_INSTANCE),
    "民终": Kind(CIVIL_CAUSES, R.APPELLANT, R.APPELLEE, R.THIRD_PARTY, APPEAL),
    "执": Kind(CIVIL_CAUSES, R.APPLICANT, R.RESPONDENT, R.RESPONDENT, ENFORCEMENT),
    "执恢": Kind(CIVIL_CAUSES, R.APPLICANT, R.RESPONDENT, R.RESPONDENT, ENFORCEMENT[:2]),
    "刑初": Kind(CRIMES, R.DEFENDANT_CRIMINAL, R.VICTIM, R.DEFENDANT_CRIMINAL, FIRST_INSTANCE[2:]),
    "行初": Kind(ADMINISTRATIVE, R.PLAINTIFF, R.DEFENDANT, R.THIRD_PARTY, FIRST_INSTANCE),
}
# fmt: on
# Shares of the caseload: first-instance and appeal civil cases dominate the courts' dockets.
TYPE_WEIGHTS = {"民初": 40, "民终": 22, "执": 16, "执恢": 5, "刑初": 10, "行初": 7}
APPEAL_TYPES = frozenset({"民终"})  # heard by an intermediate or higher court only
AGENT_SHARE = 0.01


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a mainland ID number's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def generate_cases(
    count: int,
    *,
    seed: int,
    courts: tuple[str, ...] = ("粤03", "粤0304", "粤0305", "粤0306"),
    start_year: int = 2021,
    end_year: int = 2026,
    today: date | None = None,
) -> Iterator[CaseRecord]:
    """`count` cases, the same ones for the same seed and `today` (hearings are set from it).

    A stream: only counters per (year, court, type) are kept, so a million costs no memory."""
    return _Generator(seed, courts, start_year, end_year, today or date.today()).run(count)


class _Generator:
    def __init__(
        self, seed: int, courts: tuple[str, ...], start_year: int, end_year: int, today: date
    ) -> None:
        if not courts or start_year > end_year:
            raise ValueError("need at least one court and start_year <= end_year")
        self.rng = random.Random(seed)
        self.years = (start_year, end_year)
        self.today = today
        self.serials: dict[tuple[int, str, str], int] = {}
        self.courts_for = {t: _courts_for(t, courts) for t in TYPE_WEIGHTS}
        self.types = [t for t in TYPE_WEIGHTS if self.courts_for[t]]
        self.cumulative = list(accumulate(float(TYPE_WEIGHTS[t]) for t in self.types))
        self.judges = {c: [self.person() for _ in range(12)] for c in courts}
        self.clerks = {c: [(self.person(), self.landline()) for _ in range(12)] for c in courts}
        self.agents = [(f"{self.person()}律师", self.mobile()) for _ in range(4)]

    def run(self, count: int) -> Iterator[CaseRecord]:
        for _ in range(count):
            yield self.case()

    def case(self) -> CaseRecord:
        rng = self.rng
        year = rng.randint(*self.years)
        cumulative = self.cumulative
        type_code = self.types[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
        court = rng.choice(self.courts_for[type_code])
        key = (year, court, type_code)
        # Serials start somewhere and skip a few: other people's cases fill the gaps.
        serial = self.serials.get(key) or rng.randint(1, 400)
        self.serials[key] = serial + rng.randint(1, 3)
        kind = KINDS[type_code]
        cause, company_share = rng.choice(kind.causes)
        filed = self.filing_date(year)
        closed_share = min(0.85, 0.2 + 0.2 * (self.today.year - year))
        stage = CLOSED if rng.random() < closed_share else rng.choice(kind.stages)
        court_name = COURT_NAMES.get(court, f"{court}人民法院")
        hearing = self.hearing() if stage[3] else None
        judge = rng.choice(self.judges[court])
        clerk, clerk_phone = rng.choice(self.clerks[court])
        return CaseRecord(
            case_number=f"（{year}）{court}{type_code}{serial}号",
            court_name=court_name,
            cause=cause,
            stage=stage[0],
            status_text={"zh-CN": stage[1], "en-US": stage[2]},
            filing_date=filed,
            next_hearing_at=hearing,
            next_hearing_place=f"{court_name}第{rng.randint(1, 30)}法庭" if hearing else None,
            judge_name=judge,
            clerk_name=clerk,
            clerk_phone=clerk_phone,
            query_password=f"{rng.randrange(1_000_000):06d}",
            parties=self.parties(kind, type_code, company_share, filed),
        )

    def parties(
        self, kind: Kind, type_code: str, company_share: float, filed: date
    ) -> tuple[PartyRecord, ...]:
        rng = self.rng
        agency = type_code == "行初"
        roles = [kind.first, kind.second]
        if rng.random() < 0.3:
            roles.append(kind.extra)
        parties: list[PartyRecord] = []
        for i, role in enumerate(roles):
            if agency and i == 1:
                party = PartyRecord(rng.choice(AGENCIES), role, None, (self.landline(),))
            elif rng.random() < company_share and role != PartyRole.VICTIM:
                party = PartyRecord(self.company(), role, None, (self.mobile(),))
            else:
                phones = tuple(self.mobile() for _ in range(1 if rng.random() < 0.7 else 2))
                party = PartyRecord(self.person(), role, self.id_number(filed), phones)
            if all((p.name, p.role) != (party.name, party.role) for p in parties):
                parties.append(party)  # a same-named co-party is rare enough to drop
        if rng.random() < AGENT_SHARE:
            name, phone = rng.choice(self.agents)
            parties.append(PartyRecord(name, PartyRole.AGENT, None, (phone,)))
        return tuple(parties)

    def person(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) if rng.random() < 0.15 else rng.choice(GIVEN) + rng.choice(GIVEN)
        return rng.choice(SURNAMES) + given

    def company(self) -> str:
        rng = self.rng
        words = rng.choice(FIRM_WORDS) + rng.choice(FIRM_WORDS)
        return f"深圳市{words}{rng.choice(INDUSTRIES)}有限公司"

    def id_number(self, filed: date) -> str:
        rng = self.rng
        born = filed - timedelta(days=int(18 * 365.25) + int(rng.random() * 50 * 365))
        first17 = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randint(1, 999):03d}"
        return first17 + id_check_digit(first17)

    def mobile(self) -> str:
        rng = self.rng
        return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"

    def landline(self) -> str:
        # Shenzhen (0755) numbers are 8 digits; court offices sit in the 8xxx range.
        return f"+867558{self.rng.randrange(10_000_000):07d}"

    def filing_date(self, year: int) -> date:
        first, last = date(year, 1, 1), min(date(year, 12, 31), self.today)
        last = last if last >= first else date(year, 12, 31)
        # One draw whatever the span, so `today` never shifts the rest of the stream.
        return first + timedelta(days=int(self.rng.random() * ((last - first).days + 1)))

    def hearing(self) -> datetime:
        rng = self.rng
        day = self.today + timedelta(days=1 + int(rng.random() * 42))
        if day.weekday() >= 5:  # courts sit Monday to Friday
            day += timedelta(days=7 - day.weekday())
        slot = int(rng.random() * 16)  # 09:00, 09:30 … 16:30
        start = time(9 + slot // 2, 30 * (slot % 2))
        return datetime.combine(day, start, tzinfo=SHANGHAI)


def _courts_for(type_code: str, courts: tuple[str, ...]) -> list[str]:
    if type_code not in APPEAL_TYPES:
        return list(courts)
    return [c for c in courts if not re.fullmatch(r"\D+\d{4}", c)]  # 粤0304: a district court


def load_generated(
    session: Session,
    count: int,
    *,
    seed: int,
    pepper: str,
    batch_size: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
    fast: bool = False,
    today: date | None = None,
) -> int:
    """Bulk-insert `count` generated cases with parties and phones; returns how many were new.

    Cases already present (same seed loaded before) are skipped. `fast` hashes the query
    passwords with throw-away argon2 parameters (about 20 µs instead of a quarter second):
    such data is for benchmarks only, never for production. `on_progress(done, count)` runs
    after each batch, where a caller that wants a commit per batch commits."""
    hasher = (
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        if fast
        else PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    )
    records = generate_cases(count, seed=seed, today=today)
    loaded = done = 0
    while batch := list(islice(records, batch_size)):
        loaded += _insert_batch(session, batch, pepper=pepper, hasher=hasher)
        done += len(batch)
        if on_progress:
            on_progress(done, count)
    return loaded


# CaseRecord fields stored as they are, under the same name.
_COPIED = (
    *("court_name", "cause", "stage", "filing_date", "next_hearing_at"),
    *("next_hearing_place", "judge_name", "clerk_name", "clerk_phone"),
)
# Bound parameters per IN list: under SQLite's and PostgreSQL's limits whatever the batch size.
_IN_CHUNK = 5000


def _insert_batch(
    session: Session, batch: list[CaseRecord], *, pepper: str, hasher: PasswordHasher
) -> int:
    numbers = [parse_case_number(r.case_number) for r in batch]
    present = {
        n
        for chunk in _chunks([n.format() for n in numbers])
        for n in session.scalars(
            select(CourtCase.case_number).where(CourtCase.case_number.in_(chunk))
        )
    }
    now = utcnow()
    case_rows: list[dict[str, Any]] = []
    fresh: list[CaseRecord] = []
    for number, r in zip(numbers, batch, strict=True):
        if number.format() in present:
            continue
        fresh.append(r)
        case_rows.append(
            {f: getattr(r, f) for f in _COPIED}
            | {
                "case_number": number.format(),
                "year": number.year,
                "court_code": number.court,
                "type_code": number.type_code,
                "serial": number.serial,
                "division": number.division,
                "status_text": dict(r.status_text),
                "query_password_hash": hasher.hash(r.query_password) if r.query_password else None,
                "failed_checks": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not case_rows:
        return 0
    case_ids = _inserted_ids(session, _table(CourtCase), case_rows)
    party_rows: list[dict[str, Any]] = []
    party_phones: list[Sequence[str]] = []
    for case_id, r in zip(case_ids, fresh, strict=True):
        for p in r.parties:
            party_rows.append(
                {
                    "case_id": case_id,
                    "name": p.name,
                    "role": str(p.role),
                    "id_hash": hash_id_number(p.id_number, pepper=pepper) if p.id_number else None,
                    "id_last_digits": id_last_digits(p.id_number) if p.id_number else None,
                }
            )
            party_phones.append(p.phones)
    party_ids = _inserted_ids(session, _table(Party), party_rows)
    contact_ids = _contact_ids(session, [n for phones in party_phones for n in phones], now)
    links = [
        {"party_id": party_id, "contact_id": contact_ids[n]}
        for party_id, phones in zip(party_ids, party_phones, strict=True)
        for n in dict.fromkeys(phones)
    ]
    if links:
        session.execute(insert(_table(PartyPhone)), links)
    return len(case_rows)


def _inserted_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    # Core, not ORM, bulk insert: the ORM's RETURNING path runs a statement per row here.
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.execute(statement, rows).scalars())


def _contact_ids(session: Session, numbers: list[str], now: datetime) -> dict[str, int]:
    """Ids of the contacts for these E.164 numbers, inserting the new ones.

    Insert-or-ignore dedupes across batches and runs without a run-wide map of numbers."""
    unique = list(dict.fromkeys(numbers))
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    ids: dict[str, int] = {}
    for chunk in _chunks(unique):
        session.execute(
            dialect_insert(_table(Contact)).on_conflict_do_nothing(index_elements=["phone_e164"]),
            [{"phone_e164": n, "created_at": now} for n in chunk],
        )
        rows = session.execute(
            select(Contact.phone_e164, Contact.id).where(Contact.phone_e164.in_(chunk))
        )
        ids.update({phone: contact_id for phone, contact_id in rows})
    return ids


def _table(model: type[Base]) -> Table:
    return model.metadata.tables[model.__tablename__]


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]
