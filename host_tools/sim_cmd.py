"""`needlepen sim`: run a scenario on the simulated pen."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

import pen  # noqa: F401  (installs the MicroPython stand-ins on CPython)
from sim import runner, scenario, summary

MAX_TRACE_MS = 60_000

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
  needlepen sim tach_lost --no-plot --json - | jq .faults

The plot goes to out/<scenario>.png (closed loop) or out/<scenario>.open-loop.png.
With --json - the JSON is all that goes to stdout; the summary goes to stderr.
A scenario's [expect] is checked after the run: one "expect:" line each.

exit status: 0 done (every expectation held), 1 an expectation failed,
2 bad input (scenario file, option, output path; nothing was run).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="run the simulator on a scenario", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default="default", help="scenario file or shipped name (default: default)")
    p.add_argument("--plot", metavar="PNG", help="write the plot here (default: out/<scenario>.png, "
                   "out/<scenario>.open-loop.png for --controller open-loop)")
    p.add_argument("--no-plot", action="store_true", help="do not write a plot")
    p.add_argument("--trace", metavar="CSV", help="write the trace as CSV")
    p.add_argument("--trace-ms", type=int, default=10, metavar="MS",
                   help=f"one trace row per MS milliseconds (default 10, at most {MAX_TRACE_MS})")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON; - for stdout (the summary "
                   "for people then goes to stderr)")
    p.add_argument("--controller", choices=runner.CONTROLLERS, default="closed-loop",
                   help="stroke-rate control: the firmware's PI (default) or the open-loop baseline")
    p.add_argument("--seed", type=int, help=f"override the scenario's seed (0..{scenario.MAX_SEED})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    p.set_defaults(run=run)


def fail(msg: str) -> int:
    print(f"needlepen sim: {msg}", file=sys.stderr)
    return 2


def say(text: str, stream: TextIO) -> None:
    """Print for people; µ and ° fall back to u and C on a stream that cannot encode them."""
    try:
        print(text, file=stream)
    except UnicodeEncodeError:
        plain = text.replace("µ", "u").replace(" °C", " C").replace("°C", " C")
        enc = getattr(stream, "encoding", None) or "ascii"
        print(plain.encode(enc, "replace").decode(enc), file=stream)


def default_plot(sc: scenario.Scenario, controller: str) -> Path:
    """out/<scenario>.png for the firmware's closed loop, out/<scenario>.<controller>.png
    otherwise, so that the two runs of one scenario keep both plots."""
    stem = Path(sc.path).stem
    return Path("out") / (f"{stem}.png" if controller == "closed-loop" else f"{stem}.{controller}.png")


def unwritable(opt: str, path: Path) -> str | None:
    """Why `path` cannot be written, or None.  Makes the missing folders (the
    run would) and leaves no file behind."""
    if str(path) == "-":
        return f"{opt} -: {opt} writes a file ('-' for stdout works with --json only); give a file name"
    if path.is_dir():
        return f"{opt} {path}: is a folder; give a file name in it"
    anc = path.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if anc.exists() and not anc.is_dir():
        return f"{opt} {path}: {anc} is a file, not a folder; give a path in a folder"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with path.open("ab"):
            pass
        if not existed:
            path.unlink()
    except OSError as e:
        return f"{opt} {path}: cannot write there ({e.strerror or e}); give a writable path"
    return None


def plot_format(path: Path) -> str | None:
    """Why matplotlib cannot write a plot named `path`, or None."""
    suffix = path.suffix.lstrip(".").lower()
    if not suffix:
        return None                                  # matplotlib writes PNG
    from matplotlib.backend_bases import FigureCanvasBase
    kinds = FigureCanvasBase.get_supported_filetypes()
    if suffix not in kinds:
        return f"--plot {path}: no plot format '.{suffix}'; use one of: {', '.join('.' + k for k in sorted(kinds))}"
    return None


def run(args: argparse.Namespace) -> int:
    if args.list:
        for path in scenario.shipped():
            try:
                sc = scenario.load(str(path))
            except scenario.ScenarioError as e:
                print(f"needlepen sim: {e}", file=sys.stderr)
                continue
            print(f"{path.stem:22} {sc.duration_us / 60e6:5.1f} min  {sc.description}")
        return 0
    if not 1 <= args.trace_ms <= MAX_TRACE_MS:
        return fail(f"--trace-ms {args.trace_ms}: out of range; give 1..{MAX_TRACE_MS} ms")
    if args.seed is not None and not 0 <= args.seed <= scenario.MAX_SEED:
        return fail(f"--seed {args.seed}: out of range; give 0..{scenario.MAX_SEED}")
    if args.plot is not None and args.no_plot:
        return fail("--plot and --no-plot contradict each other; give one of them")
    try:
        sc = scenario.load(args.scenario)
    except scenario.ScenarioError as e:
        return fail(str(e))
    if args.seed is not None:
        sc.seed = args.seed

    # Every output checked before the run (a long session must not end in a write error).
    outputs: dict[str, Path] = {}
    if not args.no_plot:
        outputs["--plot"] = Path(args.plot) if args.plot is not None else default_plot(sc, args.controller)
    if args.trace is not None:
        outputs["--trace"] = Path(args.trace)
    if args.json is not None and args.json != "-":
        outputs["--json"] = Path(args.json)
    seen: dict[Path, str] = {}
    for opt, path in outputs.items():
        why = unwritable(opt, path) or (plot_format(path) if opt == "--plot" else None)
        if why:
            return fail(why)
        key = path.resolve()
        if key in seen:
            return fail(f"{seen[key]} and {opt} both write {path}; give them different files")
        seen[key] = opt

    human = sys.stderr if args.json == "-" else sys.stdout      # stdout carries only the JSON then
    show = not args.quiet and sys.stderr.isatty()
    try:
        result = runner.run(sc, args.controller, args.trace_ms, progress=show)
    except ValueError as e:
        return fail(f"{sc.path}: {e}")
    s = summary.summarize(result)
    checks = summary.check_expect(sc.expect, s)
    s["expect"] = checks
    say(summary.format_summary(s), human)
    text = json.dumps(summary.jsonable(s), indent=1, allow_nan=False)
    written: list[str] = []
    try:                                   # files only: a closed pipe on stdout is cli.main's to handle
        if "--plot" in outputs:
            from sim import plot
            written.append(f"plot: {plot.plot(result, outputs['--plot'])}")
        if "--trace" in outputs:
            from sim import plot
            written.append(f"trace: {plot.write_csv(result, outputs['--trace'])}")
        if "--json" in outputs:
            outputs["--json"].write_text(text + "\n")
            written.append(f"summary: {outputs['--json']}")
    except OSError as e:
        return fail(f"cannot write {e.filename or 'an output'} ({e.strerror or e}); give a writable path")
    for line in written:
        say(line, human)
    if args.json == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    failed = [c for c in checks if not c["ok"]]
    for c in checks:
        if c["ok"]:
            say(f"expect: ok      {c['key']}: {c['text']}", human)
    for c in failed:
        say(f"expect: FAILED  {c['key']}: {c['text']}", sys.stderr)
    return 1 if failed else 0
