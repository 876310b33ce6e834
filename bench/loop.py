"""Loop timing of the scheduler on the MicroPython unix port: a tight loop
that busy-waits for each deadline (what the pens run) against one that
sleeps (what the virtual pen runs), with the garbage collector left to run
when the heap fills or called once a second.

    python bench/loop.py [--seconds 10]

The unix port has no machine.Timer, so timer-driven variants cannot be
measured here; docs/control.md explains the choice for the boards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    mpy = str(Path(sys.executable).parent / "micropython")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([".frozen", str(ROOT / "bench"), str(ROOT / "tests" / "core"),
                                          str(ROOT / "firmware"), str(ROOT)])
    print(f"{'wait':6} {'gc':8} {'ticks':>7} {'period min..max us':>19} {'late p99':>9} {'late max':>9} "
          f"{'exec max':>9} {'overruns':>9} {'missed':>7}")
    for mode in ("busy", "sleep"):
        for gcmode in ("auto", "gc"):
            r = subprocess.run([mpy, "-X", "heapsize=160K", str(ROOT / "bench" / "loop_workload.py"), mode,
                                str(args.seconds), gcmode], capture_output=True, text=True, env=env,
                               timeout=args.seconds * 3 + 60)
            line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT")), None)
            if line is None:
                raise SystemExit(r.stdout + r.stderr)
            d = dict(kv.split("=") for kv in line.split()[1:])
            gc_text = "1/s" if gcmode == "gc" else "when full"
            print(f"{mode:6} {gc_text:8} {d['ticks']:>7} {d['period_min'] + '..' + d['period_max']:>19} "
                  f"{d['late_p99']:>9} {d['late_max']:>9} {d['exec_max']:>9} {d['overruns']:>9} {d['missed']:>7}")


if __name__ == "__main__":
    main()
