"""`needlepen campaign loops`: the stroke rate across a population of pens,
the firmware's closed loop next to the open loop (sim/loop_spread.py)."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sim import loop_spread

HELP = """Run pens 0..N-1 of a campaign population (the pens of `campaign run
--population spread --seed S`, with the skin at its nominal) through the
load_steps scenario, each with the firmware's closed loop and with the
open-loop baseline (fixed duty per level), and compare their steady-state
stroke-rate error in skin per speed level: median and worst across the pens
of each pen's p95 |error| and mean error.  exit status: 0; 1 a pen's closed
loop missed the ±2 % target or faulted; 2 bad input."""


def add_parser(cs: argparse._SubParsersAction, to_int: Any, parse_workers: Any) -> None:
    p = cs.add_parser("loops", help="closed vs open loop stroke-rate error across a population of pens",
                      description=HELP)
    p.add_argument("--pens", type=to_int("--pens"), default=48, metavar="N", help="pens (default 48)")
    p.add_argument("--seed", type=to_int("--seed"), default=1, help="the population's seed (default 1)")
    p.add_argument("--workers", default="auto", metavar="N|auto", help="processes (default auto: every core)")
    p.add_argument("--duration", type=float, metavar="S", help="cut the scenario at S seconds (a quick look)")
    p.add_argument("--markdown", action="store_true", help="the table as markdown (docs/simulator.md)")
    p.add_argument("--json", metavar="FILE", help="every pen's figures and the table as JSON; - for stdout")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=lambda args: run(args, parse_workers))


def _pen(job: tuple[int, int, float | None]) -> dict[str, Any]:
    import pen  # noqa: F401  (the MicroPython stand-ins, in a fresh worker too)
    return loop_spread.run_pen(*job)


def run(args: argparse.Namespace, parse_workers: Any) -> int:
    if args.pens < 1:
        print("needlepen campaign loops: --pens must be 1 or more", file=sys.stderr)
        return 2
    if args.duration is not None and not 1.0 <= args.duration <= 1e4:
        print("needlepen campaign loops: --duration must be 1..10000 s", file=sys.stderr)
        return 2
    workers = min(parse_workers(args.workers), args.pens)
    jobs = [(args.seed, n, args.duration) for n in range(args.pens)]
    show = not args.quiet and sys.stderr.isatty()
    rows: list[dict[str, Any]] = []

    def done() -> None:
        if show:
            print(f"\r{len(rows)}/{args.pens} pens", end="", file=sys.stderr, flush=True)

    if workers == 1:
        for job in jobs:
            rows.append(_pen(job))
            done()
    else:
        with ProcessPoolExecutor(workers) as pool:
            for r in pool.map(_pen, jobs):
                rows.append(r)
                done()
    if show:
        print(file=sys.stderr)
    table = loop_spread.table(rows)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(loop_spread.format_table(table, markdown=args.markdown), file=out)
    if args.json:
        text = json.dumps({"seed": args.seed, "pens": rows, "table": table}, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    closed = table["controllers"]["closed-loop"]
    return 0 if closed["pens_within_target"] == args.pens and not closed["pens_faulted"] else 1
