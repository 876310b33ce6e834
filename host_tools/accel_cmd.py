"""`needlepen accel`: build the simulator's compiled hot path (sim/accel.py)."""

from __future__ import annotations

import argparse
import sys

from sim import accel

HELP = """Compile the modules that run every simulated tick (the firmware's
pen/tick.py, scheduler, tach, app and the simulator's plant, HAL and clock)
with Cython, from their unchanged sources, for about 1.7x the simulator's
speed: the same runs bit for bit.  `needlepen sim`, `campaign` and `web`
use a build when it matches the sources (NEEDLEPEN_ACCEL=0: never).
Needs Cython (pip install cython) and a C compiler with Python's headers."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("accel", help="compile the simulator's hot path (about 1.7x faster)", description=HELP)
    p.add_argument("action", nargs="?", choices=("status", "build", "clean"), default="status",
                   help="status (default): is a build there, and used; build: compile it; clean: remove builds")
    p.set_defaults(run=run)


def status_line() -> str:
    """One line for run summaries: whether the simulator runs compiled."""
    used = accel.active()
    if len(used) == len(accel.MODULES):
        return "compiled hot path (needlepen accel)"
    if not accel.enabled():
        return "pure Python (NEEDLEPEN_ACCEL=0)"
    if used:
        return f"partly compiled ({len(used)} of {len(accel.MODULES)} modules)"
    return "pure Python (`needlepen accel build` makes it about 1.7x faster)"


def run(args: argparse.Namespace) -> int:
    if args.action == "clean":
        print(f"removed {accel.clean()} build(s) from {accel.cache_dir()}")
        return 0
    if args.action == "build":
        try:
            accel.build(log=lambda s: print(s, file=sys.stderr))
        except RuntimeError as e:
            print(f"needlepen accel: {e}", file=sys.stderr)
            return 1
        return 0
    found = accel.find()
    print(f"builds in: {accel.cache_dir()}")
    print(f"for these sources: {found if found else 'none (needlepen accel build)'}")
    print(f"in this process: {status_line()}")
    return 0
