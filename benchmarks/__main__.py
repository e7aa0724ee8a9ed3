"""`python -m benchmarks [--quick] [NAME ...]`: run, write results/NAME.json, print a table."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import call_load, kpis, matching, speech, sse_fanout, webhooks, workorders
from benchmarks.common import machine_info, write_result

Table = list[tuple[str, str, str, str, str]]
BENCHMARKS: dict[
    str, tuple[Callable[[bool], dict[str, Any]], Callable[[dict[str, Any]], Table]]
] = {
    webhooks.NAME: (webhooks.run, webhooks.table),
    call_load.NAME: (call_load.run, call_load.table),
    workorders.NAME: (workorders.run, workorders.table),
    matching.NAME: (matching.run, matching.table),
    speech.NAME: (speech.run, speech.table),
    kpis.NAME: (kpis.run, kpis.table),
    sse_fanout.NAME: (sse_fanout.run, sse_fanout.table),
}
ALIASES = {
    "call-load": call_load.NAME,
    "calls": call_load.NAME,
    "work-orders": workorders.NAME,
    "work_orders": workorders.NAME,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: each benchmark ≤ 60 s")
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all of {list(BENCHMARKS)}"
    )
    args = parser.parse_args(argv)
    names = [ALIASES.get(n, n) for n in args.names] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}")

    mode = "quick" if args.quick else "full"
    summary: list[tuple[str, Table, float]] = []
    crashed = []
    for name in names:
        run, table = BENCHMARKS[name]
        print(f"== {name} ({mode}) ...", flush=True)
        machine = machine_info()  # per benchmark: the load average is taken right before it
        started = time.perf_counter()
        try:
            result = run(args.quick)
        except Exception:
            traceback.print_exc()
            crashed.append(name)
            continue
        elapsed = time.perf_counter() - started
        result = {"benchmark": name, "mode": mode, "machine": machine} | result
        result["elapsed_s"] = round(elapsed, 1)
        path = write_result(name, result)
        print(f"   done in {elapsed:.1f} s -> {path}", flush=True)
        if result.get("errors_total"):
            print(
                f"\n!!!!! {name}: {result['errors_total']} ERRORS (failed requests or calls) — "
                f"see 'errors' / 'failures' in {path} !!!!!\n",
                flush=True,
            )
        summary.append((name, table(result), elapsed))

    print_table(summary, mode)
    if crashed:
        print(f"\nbenchmark(s) that could not run: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


def print_table(summary: list[tuple[str, Table, float]], mode: str) -> None:
    header = ("metric", "measured", "baseline", "ratio", "target / note")
    for name, rows, elapsed in summary:
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(5)]
        line = "  ".join("-" * w for w in widths)
        print(f"\n{name} ({mode}, {elapsed:.0f} s)")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print(line)
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
