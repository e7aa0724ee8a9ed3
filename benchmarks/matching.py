"""Case matching: caller lookup, case-number lookup, keyed lookup and candidate ranking on a
generated court registry (1 M cases full, 20 k quick), beside a primary-key lookup, interleaved.

What is measured (in this process, one session, one transaction: a latency of the lookup
functions themselves, so there is no load and nothing to put in a separate process):

- *caller*: `workorders.matching.match_caller(session, phone_e164=…, now=…)`: contact → party
  phones → parties → cases, the caller's open work orders and their previous call. 90 % of the
  numbers are drawn from the contacts table (uniformly over contact ids), 10 % are well-formed
  mobile numbers that are not in it (`caller_known` / `caller_unknown` split them).
- *case_number*: `workorders.case_registry.find_case(session, text)`: parse, normalise, look
  the number up. The numbers of random cases, written in varied forms: canonical
  `（2022）粤03民终5487号`, half-width brackets, spaces between the parts, both, full-width
  digits, 〔〕 brackets.
- *keyed*: `workorders.matching.cases_by_keys(session, year=…, serial=…)` for the (year, serial)
  of random cases, with no candidates of the caller's (the query path, as for an unknown number).
- *ranking*: `match_caller` for a random party's number, then `narrow_by_name` on that party's
  name with one character changed (the typed or transcribed name), timed together.

Baseline: `session.get(CourtCase, random_id)`, a primary-key lookup on the same table. Before
every sample of every kind the identity map is emptied (`session.expunge_all()`, outside the
timing), so each one really reaches the database. Order: a warm-up of every kind and of the
baseline (not counted), then rounds (3 quick, 5 full); in each round every kind runs a block of
samples (200 / 2,000) next to a block of baseline lookups — kind then baseline in even rounds,
baseline then kind in odd ones, the order of the kinds rotating per round. A kind's ratio is
against the baseline blocks run beside it: p50 and p99 ratios pooled, and the ratio of medians
per round (median, min, max).

Data: a fresh temporary instance folder and SQLite database (migrated with `hotline.migrate.
upgrade`), loaded with `workorders.case_generate.load_generated` (seed fixed, `today` fixed at
2026-06-01, `fast=True` password hashes, a commit per 2,000 cases); the generator puts about two
contacts on a case, the real counts are in `databases.*.data`. Loading is timed separately and
is not part of any measurement; a database that has not finished after 8 minutes keeps what it
has (`data.truncated_by_budget`, `data.cases` then says how many). On PostgreSQL the tables are
ANALYZEd after loading (autovacuum would do it soon after such a load); SQLite gets no ANALYZE
(the application never runs it). The calls and work_orders tables stay empty: their two queries
in `match_caller` cost what an index probe on an empty table costs.

PostgreSQL as well: `--postgres URL` or `BENCH_POSTGRES_URL=URL` (e.g. `postgresql+psycopg://
postgres@127.0.0.1:5432/test`). THIS DROPS EVERY TABLE of the project in that database
(`Base.metadata.drop_all` and `alembic_version`), migrates it afresh, loads it, and at the end
drops the data again and leaves an empty migrated schema. Use a scratch database.

Query plans: each kind is run once with the statements it sends captured, and each SELECT is
explained (SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`); the plans are in
`databases.*.plans`. A full scan is listed in `scans` — SQLite `SCAN table` (a `SCAN … USING
INDEX` is a walk over a whole index and is listed too), PostgreSQL `Seq Scan on table`, which
is explained again with `enable_seqscan = off` to tell a missing index (`no usable index`) from
a planner that merely preferred the scan on a tiny table.

Read: per database and kind, `kinds.KIND.ms` (p50 = `median`, p99, max, n, quartiles) against
`targets` (DESIGN.md: caller lookup p99 ≤ 5 ms, case-number lookup p99 ≤ 2 ms at 1 M cases /
2 M contacts), `ratio_to_baseline`, `scans` (should be empty) and `checks` (the answers:
every existing number and case number must be found, no unknown number may match — those
count in `errors_total`; keyed lookups return at most 20 cases and the name filter needs a
ratio ≥ 60, so their hit rates are reported, not counted as errors).

Standalone: `python -m benchmarks.matching [--quick] [--postgres URL] [--no-sqlite]` writes the
same `results/matching.json` and prints the table.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, func, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks.common import machine_info, median, stats, write_result

NAME = "matching"
KINDS = ("caller", "case_number", "keyed", "ranking")
LABELS = {
    "caller": "caller lookup",
    "case_number": "case-number lookup",
    "keyed": "keyed (year, serial)",
    "ranking": "ranking (match + name)",
}
MODES = {
    "quick": {"cases": 20_000, "rounds": 3, "block": 200, "warmup": 100},
    "full": {"cases": 1_000_000, "rounds": 5, "block": 2000, "warmup": 500},
}
SEED = 20261128
TODAY = date(2026, 6, 1)  # the generator's `today` (hearing dates): fixed, so the data is too
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # match_caller's `now`
PEPPER = "matching-benchmark-pepper"
UNKNOWN_SHARE = 0.10
BATCH_SIZE = 2000
LOAD_BUDGET_S = 8 * 60.0
TARGETS_P99_MS = {"caller": 5.0, "case_number": 2.0}
POSTGRES_ENV = "BENCH_POSTGRES_URL"
EXTRA_PACKAGES = ("psycopg", "rapidfuzz", "alembic", "argon2-cffi")
_IN_CHUNK = 500


# ---------------------------------------------------------------------------------------------
# entry points


def run(quick: bool, postgres_url: str | None = None, *, sqlite: bool = True) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    cfg = MODES[mode]
    url = postgres_url or os.environ.get(POSTGRES_ENV) or None
    targets: list[tuple[str, str | None]] = [("sqlite", None)] if sqlite else []
    if url:
        targets.append(("postgresql", url))
    if not targets:
        raise ValueError("nothing to run: no SQLite and no PostgreSQL URL")
    databases = {label: bench_database(label, db_url, cfg) for label, db_url in targets}
    return {
        "benchmark": NAME,
        "mode": mode,
        "settings": {
            **cfg,
            "seed": SEED,
            "generator_today": TODAY.isoformat(),
            "now": NOW.isoformat(),
            "unknown_caller_share": UNKNOWN_SHARE,
            "load_batch_size": BATCH_SIZE,
            "load_budget_s": LOAD_BUDGET_S,
            "fast_password_hashes": True,
            "baseline": "session.get(CourtCase, random id) after session.expunge_all()",
            "interleaving": "per round and kind: kind block + baseline block (order alternates "
            "by round), kinds rotated per round",
            "units": "ms; spread = q1/q3, iqr, min/max",
        },
        "targets": {
            "p99_ms": {k: v for k, v in TARGETS_P99_MS.items()},
            "source": "DESIGN.md: case matching, 1 M cases / 2 M contacts",
            "at_design_size": cfg["cases"] >= 1_000_000,
        },
        "databases": databases,
        "versions": _versions(),
        "errors_total": sum(d["checks"]["errors"] for d in databases.values()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matching", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 cases, ≤ 60 s")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help=f"also run on this PostgreSQL database (DROPS its tables); default: ${POSTGRES_ENV}",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    machine = machine_info()
    started = time.perf_counter()
    result = run(args.quick, args.postgres, sqlite=not args.no_sqlite)
    elapsed = time.perf_counter() - started
    result = {"benchmark": NAME, "mode": mode, "machine": machine} | result
    result["elapsed_s"] = round(elapsed, 1)
    path = write_result(NAME, result)
    print(f"   done in {elapsed:.1f} s -> {path}")
    _print_table(table(result), f"{NAME} ({mode}, {elapsed:.0f} s)")
    return 1 if result["errors_total"] else 0


# ---------------------------------------------------------------------------------------------
# one database


def bench_database(label: str, url: str | None, cfg: dict[str, Any]) -> dict[str, Any]:
    # Imported here: `python -m benchmarks --help` should not need the app's dependencies.
    from hotline.config import Settings
    from hotline.db import Database
    from hotline.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="bench-matching-"))
    try:
        overrides: dict[str, Any] = {"instance_path": folder / "instance"}
        if url:
            overrides["database_url"] = url
        settings = Settings.from_env(environ={}, overrides=overrides)
        database = Database(settings)
        try:
            if url:
                _drop_schema(database.engine)
            started = time.perf_counter()
            upgrade(settings)
            migrate_s = time.perf_counter() - started
            data = load_cases(label, database, cfg["cases"])
            data["migrate_s"] = round(migrate_s, 2)
            with database.session() as session:
                if url:
                    started = time.perf_counter()
                    session.execute(text("ANALYZE"))
                    session.commit()
                    data["analyze_s"] = round(time.perf_counter() - started, 2)
                data |= _counts(session)
                data["alembic_revision"] = session.scalar(
                    text("SELECT version_num FROM alembic_version")
                )
                print(f"   {label}: drawing samples, explaining, measuring ...", flush=True)
                samples = draw_samples(session, cfg)
                plans = explain_kinds(session, samples)
                measured = measure(session, samples, cfg)
                session.rollback()
                server = _server(session)
            data["size_bytes"] = _size(database.engine, settings.database_url)
            if url:
                _drop_schema(database.engine)  # leave an empty, migrated database behind
                upgrade(settings)
        finally:
            database.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    kinds, checks = measured
    scans = {k: p["scans"] for k, p in plans.items() if p["scans"]}
    return {
        "url": make_url(url).render_as_string(hide_password=True) if url else "sqlite (temp file)",
        "server": server,
        "data": data,
        "kinds": kinds,
        "targets_met": {
            k: kinds[k]["ms"].get("p99", float("inf")) <= v for k, v in TARGETS_P99_MS.items()
        },
        "checks": checks,
        "scans": scans,
        "plans": plans,
    }


def _drop_schema(engine: Engine) -> None:
    import hotline.models  # every table of the project, the API's too

    hotline.models.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


class _OverBudget(Exception):
    """Raised from the progress callback (after its commit) to stop a load at the budget."""


def load_cases(label: str, database: Any, count: int) -> dict[str, Any]:
    from workorders.case_generate import load_generated

    print(f"   {label}: loading {count:,} generated cases ...", flush=True)
    started = time.perf_counter()
    done_at = {"done": 0, "reported": 0}
    truncated = False
    with database.session() as session:

        def progress(done: int, total: int) -> None:
            session.commit()
            done_at["done"] = done
            elapsed = time.perf_counter() - started
            if total >= 100_000 and done * 10 // total > done_at["reported"]:
                done_at["reported"] = done * 10 // total
                print(f"   {label}: {done:,}/{total:,} cases, {elapsed:.0f} s", flush=True)
            if elapsed > LOAD_BUDGET_S and done < total:
                raise _OverBudget

        try:
            load_generated(
                session,
                count,
                seed=SEED,
                pepper=PEPPER,
                batch_size=BATCH_SIZE,
                on_progress=progress,
                fast=True,
                today=TODAY,
            )
            session.commit()
        except _OverBudget:
            truncated = True
            print(
                f"   {label}: load budget of {LOAD_BUDGET_S:.0f} s reached at "
                f"{done_at['done']:,} of {count:,} cases: measuring at that size",
                flush=True,
            )
    load_s = time.perf_counter() - started
    loaded = done_at["done"] if truncated else count
    return {
        "cases_requested": count,
        "truncated_by_budget": truncated,
        "load_s": round(load_s, 1),
        "load_cases_per_s": round(loaded / load_s) if load_s else None,
        "projected_full_load_s": round(load_s * count / loaded) if loaded else None,
    }


def _counts(session: Session) -> dict[str, Any]:
    from workorders.cases import CourtCase, Party, PartyPhone
    from workorders.contacts import Contact

    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    cases, contacts = count(CourtCase), count(Contact)
    return {
        "cases": cases,
        "contacts": contacts,
        "parties": count(Party),
        "party_phones": count(PartyPhone),
        "contacts_per_case": round(contacts / cases, 3) if cases else None,
    }


def _server(session: Session) -> dict[str, Any]:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return {"dialect": "sqlite", "version": sqlite3.sqlite_version, "analyze": False}
    info: dict[str, Any] = {"dialect": bind.dialect.name, "analyze": True}
    info["version"] = session.scalar(text("SHOW server_version"))
    for setting in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"):
        info[setting] = session.scalar(text(f"SHOW {setting}"))
    return info


def _size(engine: Engine, url: str) -> int | None:
    if engine.dialect.name == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)


# ---------------------------------------------------------------------------------------------
# samples


@dataclass(frozen=True)
class CallerSample:
    phone: str
    known: bool


@dataclass(frozen=True)
class NumberSample:
    text: str
    form: str
    case_id: int


@dataclass(frozen=True)
class KeySample:
    year: int
    serial: int
    case_id: int


@dataclass(frozen=True)
class RankSample:
    phone: str
    name: str  # the party's name with one character changed
    true_name: str
    case_id: int


@dataclass
class Samples:
    """Every sample of a run, drawn before any measurement: warm-up first, then the rounds."""

    kinds: dict[str, list[Any]]
    baseline: list[int]


def draw_samples(session: Session, cfg: dict[str, Any]) -> Samples:
    from workorders.cases import CourtCase

    per_kind = cfg["warmup"] + cfg["rounds"] * cfg["block"]
    low, high = session.execute(select(func.min(CourtCase.id), func.max(CourtCase.id))).one()
    kinds: dict[str, list[Any]] = {
        "caller": _callers(session, per_kind, random.Random(f"{SEED}/caller")),
        "case_number": _numbers(session, per_kind, random.Random(f"{SEED}/number"), low, high),
        "keyed": _keys(session, per_kind, random.Random(f"{SEED}/keyed"), low, high),
        "ranking": _rankings(session, per_kind, random.Random(f"{SEED}/ranking"), low, high),
    }
    rng = random.Random(f"{SEED}/baseline")
    baseline = [rng.randint(low, high) for _ in range(per_kind * len(KINDS))]
    return Samples(kinds, baseline)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _callers(session: Session, count: int, rng: random.Random) -> list[CallerSample]:
    from workorders.case_generate import MOBILE_PREFIXES
    from workorders.contacts import Contact

    unknown_n = round(count * UNKNOWN_SHARE)
    known_n = count - unknown_n
    low, high = session.execute(select(func.min(Contact.id), func.max(Contact.id))).one()
    known: list[str] = []
    while len(known) < known_n:  # PostgreSQL's sequence has gaps (insert … on conflict)
        ids = [rng.randint(low, high) for _ in range(known_n - len(known))]
        found = _lookup(session, Contact.id, Contact.phone_e164, ids)
        known += [found[i] for i in ids if i in found]
    unknown: list[str] = []
    while len(unknown) < unknown_n:
        numbers = [
            f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
            for _ in range(unknown_n - len(unknown))
        ]
        taken = set(_lookup(session, Contact.phone_e164, Contact.id, numbers))
        unknown += [n for n in numbers if n not in taken]
    mixed = [CallerSample(n, True) for n in known] + [CallerSample(n, False) for n in unknown]
    rng.shuffle(mixed)
    return mixed


def _lookup(session: Session, key: Any, value: Any, keys: Sequence[Any]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        found.update({k: v for k, v in session.execute(select(key, value).where(key.in_(chunk)))})
    return found


def _case_rows(
    session: Session, count: int, rng: random.Random, low: int, high: int
) -> list[tuple[int, str, int, int]]:
    """(id, case_number, year, serial) of `count` random cases (ids are contiguous)."""
    from workorders.cases import CourtCase

    ids = [rng.randint(low, high) for _ in range(count)]
    rows: dict[int, tuple[int, str, int, int]] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        query = select(CourtCase.id, CourtCase.case_number, CourtCase.year, CourtCase.serial)
        rows.update({r[0]: r for r in session.execute(query.where(CourtCase.id.in_(chunk)))})
    return [tuple(rows[i]) for i in ids if i in rows]  # type: ignore[misc]


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# How people write a case number: the forms find_case must all bring back to the stored one.
FORMS: dict[str, Callable[[Any], str]] = {
    "canonical": lambda n: n.format(),
    "half_width_brackets": lambda n: f"({n.year}){n.court}{n.special}{n.type_code}{n.serial}号",
    "spaces": lambda n: f"（{n.year}） {n.court} {n.special}{n.type_code} {n.serial} 号",
    "half_width_and_spaces": lambda n: f"({n.year}) {n.court}{n.special}{n.type_code} {n.serial}号",
    "full_width_digits": lambda n: n.format().translate(_FULL_WIDTH),
    "hex_brackets": lambda n: f"〔{n.year}〕{n.court}{n.special}{n.type_code}{n.serial}号",
}


def _numbers(
    session: Session, count: int, rng: random.Random, low: int, high: int
) -> list[NumberSample]:
    from workorders.case_numbers import parse_case_number

    names = list(FORMS)
    out = []
    for case_id, case_number, _, _ in _case_rows(session, count, rng, low, high):
        form = rng.choice(names)
        out.append(NumberSample(FORMS[form](parse_case_number(case_number)), form, case_id))
    return out


def _keys(session: Session, count: int, rng: random.Random, low: int, high: int) -> list[KeySample]:
    return [KeySample(y, s, i) for i, _, y, s in _case_rows(session, count, rng, low, high)]


def _rankings(
    session: Session, count: int, rng: random.Random, low: int, high: int
) -> list[RankSample]:
    from workorders.case_generate import FIRM_WORDS, GIVEN, SURNAMES
    from workorders.cases import Party, PartyPhone
    from workorders.contacts import Contact

    pool = sorted(set(SURNAMES + GIVEN + FIRM_WORDS))
    out: list[RankSample] = []
    while len(out) < count:
        ids = [rng.randint(low, high) for _ in range(count - len(out))]
        by_case: dict[int, list[tuple[str, str]]] = {}
        for chunk in _chunks(sorted(set(ids))):
            query = (
                select(Party.case_id, Party.name, Contact.phone_e164)
                .join(PartyPhone, PartyPhone.party_id == Party.id)
                .join(Contact, Contact.id == PartyPhone.contact_id)
                .where(Party.case_id.in_(chunk))
                .order_by(Party.id, Contact.id)
            )
            for case_id, name, phone in session.execute(query):
                by_case.setdefault(case_id, []).append((name, phone))
        for case_id in ids:
            if case_id not in by_case:
                continue
            name, phone = rng.choice(by_case[case_id])
            at = rng.randrange(len(name))
            typo = rng.choice([c for c in pool if c != name[at]])
            out.append(RankSample(phone, name[:at] + typo + name[at + 1 :], name, case_id))
    return out


# ---------------------------------------------------------------------------------------------
# the calls under test


def _calls(session: Session) -> dict[str, Callable[[Any], Any]]:
    from workorders.case_registry import find_case
    from workorders.matching import cases_by_keys, match_caller, narrow_by_name

    def caller(s: CallerSample) -> Any:
        return match_caller(session, phone_e164=s.phone, now=NOW)

    def case_number(s: NumberSample) -> Any:
        return find_case(session, s.text)

    def keyed(s: KeySample) -> Any:
        return cases_by_keys(session, year=s.year, serial=s.serial)

    def ranking(s: RankSample) -> Any:
        return narrow_by_name(match_caller(session, phone_e164=s.phone, now=NOW).candidates, s.name)

    return {"caller": caller, "case_number": case_number, "keyed": keyed, "ranking": ranking}


def _baseline_call(session: Session) -> Callable[[int], Any]:
    from workorders.cases import CourtCase

    def primary_key(case_id: int) -> Any:
        return session.get(CourtCase, case_id)

    return primary_key


def _outcome(kind: str, sample: Any, answer: Any) -> str:
    """What the answer says, read after the timing (loaded attributes only, no lazy load)."""
    if kind == "caller":
        found = bool(answer.candidates)
        if sample.known:
            return "found" if found else "ERROR_known_number_not_found"
        return "ERROR_unknown_number_matched" if found else "not_found"
    if kind == "case_number":
        if answer is not None and answer.id == sample.case_id:
            return "found"
        return "ERROR_case_number_not_found"
    if kind == "keyed":
        return "found" if any(c.id == sample.case_id for c in answer) else "not_in_first_20"
    kept = [c.case.id for c in answer if c.case is not None]
    if sample.case_id in kept:
        return "kept_right_case"
    return "name_filter_dropped_it" if not kept else "kept_other_cases_only"


# ---------------------------------------------------------------------------------------------
# measurement


def measure(
    session: Session, samples: Samples, cfg: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    calls = _calls(session)
    base = _baseline_call(session)
    warm, block, rounds = cfg["warmup"], cfg["block"], cfg["rounds"]
    baseline_ids = iter(samples.baseline)

    def timed(
        fn: Callable[[Any], Any], items: Iterable[Any], kind: str | None = None
    ) -> tuple[list[float], list[str]]:
        times, outcomes = [], []
        for item in items:
            session.expunge_all()  # a fresh identity map: every lookup reaches the database
            t0 = time.perf_counter_ns()
            answer = fn(item)
            t1 = time.perf_counter_ns()
            times.append((t1 - t0) / 1e6)
            if kind is not None:
                outcomes.append(_outcome(kind, item, answer))
        return times, outcomes

    for kind in KINDS:  # warm-up: caches, statement compilation, the planner's first look
        timed(calls[kind], samples.kinds[kind][:warm])
        timed(base, (next(baseline_ids) for _ in range(warm)))

    ms: dict[str, list[float]] = {k: [] for k in KINDS}
    base_ms: dict[str, list[float]] = {k: [] for k in KINDS}
    per_round: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    outcomes: dict[str, list[str]] = {k: [] for k in KINDS}
    for rnd in range(rounds):
        order = KINDS[rnd % len(KINDS) :] + KINDS[: rnd % len(KINDS)]
        for kind in order:
            start = warm + rnd * block
            items = samples.kinds[kind][start : start + block]
            ids = [next(baseline_ids) for _ in range(block)]
            if rnd % 2 == 0:  # A B in even rounds, B A in odd ones
                got, seen = timed(calls[kind], items, kind)
                got_base, _ = timed(base, ids)
            else:
                got_base, _ = timed(base, ids)
                got, seen = timed(calls[kind], items, kind)
            ms[kind] += got
            base_ms[kind] += got_base
            outcomes[kind] += seen
            m, b = median(got), median(got_base)
            per_round[kind].append(
                {"round": rnd + 1, "median": round(m, 3), "baseline_median": round(b, 3)}
                | {"ratio_of_medians": round(m / b, 2) if b else None}
            )

    kinds: dict[str, Any] = {}
    for kind in KINDS:
        s, bs = stats(ms[kind]), stats(base_ms[kind])
        round_ratios = [r["ratio_of_medians"] for r in per_round[kind] if r["ratio_of_medians"]]
        kinds[kind] = {
            "label": LABELS[kind],
            "ms": s,
            "baseline_ms": bs,
            "ratio_to_baseline": {
                "p50": _ratio(s, bs, "median"),
                "p99": _ratio(s, bs, "p99"),
                "per_round_median": round(median(round_ratios), 2) if round_ratios else None,
                "per_round_min": min(round_ratios, default=None),
                "per_round_max": max(round_ratios, default=None),
            },
            "per_round": per_round[kind],
            "outcomes": _tally(outcomes[kind]),
        }
        if kind in TARGETS_P99_MS:
            kinds[kind]["target_p99_ms"] = TARGETS_P99_MS[kind]
            kinds[kind]["target_met"] = s.get("p99", float("inf")) <= TARGETS_P99_MS[kind]
    _splits(kinds, samples, ms, outcomes, cfg)
    errors = sum(n for k in KINDS for o, n in kinds[k]["outcomes"].items() if o.startswith("ERR"))
    # Hit rates over the samples that should hit: the caller lookup's over the known numbers.
    should = {k: len(outcomes[k]) for k in KINDS}
    should["caller"] = sum(
        n for o, n in kinds["caller"]["outcomes"].items() if o != "not_found" and "unknown" not in o
    )
    hits = {
        k: sum(n for o, n in kinds[k]["outcomes"].items() if o in ("found", "kept_right_case"))
        for k in KINDS
    }
    checks = {
        "errors": errors,
        "hit_rate": {k: round(hits[k] / max(1, should[k]), 4) for k in KINDS},
        "hit_rate_of": "caller: known numbers with a candidate; case_number: the right case; "
        "keyed: the right case among the first 20; ranking: the right case kept by the name",
    }
    return kinds, checks


def _splits(
    kinds: dict[str, Any],
    samples: Samples,
    ms: dict[str, list[float]],
    outcomes: dict[str, list[str]],
    cfg: dict[str, Any],
) -> None:
    """Sub-figures: caller lookups of known / unknown numbers, case numbers by written form,
    ranking hit rate by name length. The measured samples are the drawn ones after the warm-up,
    in the order of the rounds, so they line up with `ms` and `outcomes`."""
    warm = cfg["warmup"]
    callers = samples.kinds["caller"][warm : warm + len(ms["caller"])]
    for known, key in ((True, "caller_known"), (False, "caller_unknown")):
        kinds["caller"][key] = stats(
            t for t, s in zip(ms["caller"], callers, strict=True) if s.known == known
        )
    numbers = samples.kinds["case_number"][warm : warm + len(ms["case_number"])]
    kinds["case_number"]["by_form"] = {
        form: _p50_p99(t for t, s in zip(ms["case_number"], numbers, strict=True) if s.form == form)
        for form in FORMS
    }
    ranks = samples.kinds["ranking"][warm : warm + len(ms["ranking"])]
    by_length: dict[str, list[int]] = {}
    for outcome, s in zip(outcomes["ranking"], ranks, strict=True):
        key = str(len(s.true_name)) if len(s.true_name) < 5 else "5+"
        hits = by_length.setdefault(key, [0, 0])
        hits[0] += outcome == "kept_right_case"
        hits[1] += 1
    kinds["ranking"]["kept_right_case_by_name_length"] = {
        k: {"n": n, "kept": kept, "share": round(kept / n, 3)}
        for k, (kept, n) in sorted(by_length.items())
    }


def _tally(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _ratio(a: dict[str, Any], b: dict[str, Any], stat: str) -> float | None:
    if not a.get(stat) or not b.get(stat):
        return None
    return round(float(a[stat]) / float(b[stat]), 2)


def _p50_p99(samples: Iterable[float]) -> dict[str, Any]:
    s = stats(samples)
    return {"n": s["n"], "p50": s.get("median"), "p99": s.get("p99")}


# ---------------------------------------------------------------------------------------------
# query plans


def explain_kinds(session: Session, samples: Samples) -> dict[str, Any]:
    """Run one sample of each kind (and the baseline) with its statements captured; explain
    every SELECT it sent."""
    calls = _calls(session) | {"baseline": _baseline_call(session)}
    firsts: dict[str, Any] = {k: v[0] for k, v in samples.kinds.items()}
    firsts["baseline"] = samples.baseline[0]
    # The caller lookup of a known number: an unknown one stops at the contacts index.
    firsts["caller"] = next(s for s in samples.kinds["caller"] if s.known)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    plans: dict[str, Any] = {}
    for kind, fn in calls.items():
        session.expunge_all()
        sent = _captured(engine, partial(fn, firsts[kind]))
        statements = []
        for sql, params in sent:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            statements.append(_explain(session, sql, params))
        plans[kind] = {
            "statements": statements,
            "scans": [s for st in statements for s in st["scans"]],
        }
    session.expunge_all()
    return plans


def _captured(engine: Engine, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return sent


_SQLITE_SCAN = re.compile(r"^SCAN (\w+)(.*)$")
_PG_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def _explain(session: Session, sql: str, params: Any) -> dict[str, Any]:
    conn = session.connection()
    entry: dict[str, Any] = {"sql": " ".join(sql.split()), "params": _jsonable(params)}
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
        depth = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        entry["plan"] = lines
        entry["scans"] = [
            {"table": m.group(1), "detail": d.strip(), "verdict": _sqlite_verdict(m.group(2))}
            for d in lines
            if (m := _SQLITE_SCAN.match(d.strip())) and m.group(1) != "CONSTANT"
        ]
        return entry
    lines = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params).all()]
    entry["plan"] = lines
    scans = []
    seq_tables = [m.group(1) for line in lines if (m := _PG_SEQ_SCAN.search(line))]
    if seq_tables:
        conn.exec_driver_sql("SET enable_seqscan = off")
        try:
            forced = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params).all()]
        finally:
            conn.exec_driver_sql("RESET enable_seqscan")
        entry["plan_with_enable_seqscan_off"] = forced
        still = {m.group(1) for line in forced if (m := _PG_SEQ_SCAN.search(line))}
        for table_name in seq_tables:
            verdict = (
                "no usable index"
                if table_name in still
                else "an index exists; the planner preferred a scan (small or empty table)"
            )
            scans.append({"table": table_name, "verdict": verdict})
    entry["scans"] = scans
    return entry


def _sqlite_verdict(rest: str) -> str:
    if "USING" in rest and "INDEX" in rest:
        return "walks a whole index (no index matches the condition's leading column)"
    return "no usable index"


def _jsonable(params: Any) -> Any:
    if isinstance(params, dict):
        return {str(k): _jsonable(v) for k, v in params.items()}
    if isinstance(params, list | tuple):
        return [_jsonable(v) for v in params]
    if params is None or isinstance(params, str | int | float | bool):
        return params
    return str(params)


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {"sqlite_library": sqlite3.sqlite_version}
    for name in EXTRA_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


# ---------------------------------------------------------------------------------------------
# the table


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, measured, baseline, ratio, target) rows for the summary printed at the end."""
    rows: list[tuple[str, str, str, str, str]] = []
    for db, d in result["databases"].items():
        data = d["data"]
        cut = " CUT BY THE 8-MIN BUDGET" if data["truncated_by_budget"] else ""
        rows.append(
            (
                f"{db}: cases / contacts (load s)",
                f"{data['cases']:,} / {data['contacts']:,}",
                "",
                "",
                f"load {data['load_s']:.0f} s ({data['load_cases_per_s']:,}/s){cut}",
            )
        )
        for kind in KINDS:
            k = d["kinds"][kind]
            r = k["ratio_to_baseline"]
            target = ""
            if kind in TARGETS_P99_MS:
                met = k["target_met"]
                target = f"p99 <= {TARGETS_P99_MS[kind]:g} " + ("ok" if met else "MISSED")
            rows.append(
                (
                    f"{db} {LABELS[kind]} ms: p50 / p99 / max (n)",
                    _pp(k["ms"]),
                    _pp(k["baseline_ms"]),
                    f"{_x(r['p50'])} / {_x(r['p99'])} "
                    f"[rounds {_x(r['per_round_min'])}-{_x(r['per_round_max'])}]",
                    target,
                )
            )
        hits = d["checks"]["hit_rate"]
        rows.append(
            (
                f"{db}: answers (found / kept)",
                " ".join(f"{k} {hits[k]:.1%}" for k in KINDS),
                "",
                "",
                f"errors {d['checks']['errors']} (must be 0)",
            )
        )
        scans = [f"{k}: {s['table']}" for k, p in d["plans"].items() for s in p["scans"]]
        rows.append(
            (
                f"{db}: full scans in the query plans",
                ", ".join(scans) or "none (every lookup uses an index)",
                "",
                "",
                "",
            )
        )
    return rows


def _pp(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "-"
    return f"{s['median']:.3f} / {s['p99']:.3f} / {s['max']:.1f} ({s['n']})"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _print_table(rows: list[tuple[str, str, str, str, str]], title: str) -> None:
    header = ("metric", "measured", "baseline", "ratio", "target / note")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(5)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
