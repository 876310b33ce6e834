"""`needlepen sim`: run a scenario on the simulated pen."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pen  # noqa: F401  (installs the MicroPython stand-ins on CPython)
from sim import runner, scenario, summary

HELP = """Run the pen's own firmware core against modelled motor, needles, skin,
battery and faults, following a scenario of timed events.

Without SCENARIO it runs the shipped full-face treatment session (about
31 minutes of pen time), prints the summary and writes a plot.
SCENARIO is a file path or the name of a shipped scenario (--list).

examples:
  needlepen sim
  needlepen sim stall_jam --plot out/jam.png --trace out/jam.csv
  needlepen sim default --controller open-loop
  needlepen sim my_session.toml --json out/summary.json
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="run the simulator on a scenario", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default="default", help="scenario file or shipped name (default: default)")
    p.add_argument("--plot", metavar="PNG", help="write the plot here (default: out/<scenario>.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write a plot")
    p.add_argument("--trace", metavar="CSV", help="write the trace as CSV")
    p.add_argument("--trace-ms", type=int, default=10, metavar="MS",
                   help="one trace row per MS milliseconds (default 10)")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    p.add_argument("--controller", choices=runner.CONTROLLERS, default="closed-loop",
                   help="stroke-rate control: the firmware's PI (default) or the open-loop baseline")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        for path in scenario.shipped():
            sc = scenario.load(str(path))
            print(f"{path.stem:22} {sc.duration_us / 60e6:5.1f} min  {sc.description}")
        return 0
    if args.trace_ms < 1:
        print("needlepen sim: --trace-ms must be at least 1", file=sys.stderr)
        return 2
    try:
        sc = scenario.load(args.scenario)
    except scenario.ScenarioError as e:
        print(f"needlepen sim: {e}", file=sys.stderr)
        return 2
    if args.seed is not None:
        sc.seed = args.seed
    show = not args.quiet and sys.stderr.isatty()
    try:
        result = runner.run(sc, args.controller, args.trace_ms, progress=show)
    except ValueError as e:
        print(f"needlepen sim: {sc.path}: {e}", file=sys.stderr)
        return 2
    s = summary.summarize(result)
    print(summary.format_summary(s))
    if not args.no_plot:
        from sim import plot
        out = plot.plot(result, args.plot or Path("out") / f"{Path(sc.path).stem}.png")
        print(f"plot: {out}")
    if args.trace:
        from sim import plot
        print(f"trace: {plot.write_csv(result, args.trace)}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(s, indent=1, default=str))
        print(f"summary: {args.json}")
    return 0
