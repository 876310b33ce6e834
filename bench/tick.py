"""Benchmark of the control tick on MicroPython (unix port) and CPython.

Prints per-tick median and worst time, the scheduler's bookkeeping on top,
and allocations per tick, on the host.  The pen's own figures come from the
emulated RP2040: bench/chip.py (no factor converts unix-port figures to the
chip: the measured ratios run from 75x to 190x depending on the code).

    python bench/tick.py [--batches N] [--no-viper]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(interp: list[str], batches: int, firmware: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT / "bench"), str(ROOT / "tests" / "core"), str(firmware), str(ROOT)]
    env["MICROPYPATH"] = os.pathsep.join([".frozen", *paths])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    r = subprocess.run([*interp, str(ROOT / "bench" / "tick_workload.py"), str(batches)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"workload failed on {interp[0]}:\n{r.stdout}\n{r.stderr}")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def without_viper(dst: Path) -> Path:
    """A copy of firmware/ with the viper decorators removed (plain bytecode)."""
    import shutil
    shutil.copytree(ROOT / "firmware", dst / "firmware")
    for f in (dst / "firmware").rglob("*.py"):
        f.write_text(re.sub(r"^@micropython\.viper\n", "", f.read_text(), flags=re.M))
    return dst / "firmware"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=300, help="batches of 100 ticks to time (default 300)")
    ap.add_argument("--no-viper", action="store_true", help="also time the tick as plain bytecode, for comparison")
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    mpy = [str(bindir / "micropython")] if (bindir / "micropython").exists() else ["micropython"]
    rows = [("MicroPython unix (viper)", run(mpy, args.batches, ROOT / "firmware")),
            ("CPython " + sys.version.split()[0], run([sys.executable], args.batches, ROOT / "firmware"))]
    if args.no_viper:
        with tempfile.TemporaryDirectory() as tmp:
            rows.insert(1, ("MicroPython unix (bytecode)", run(mpy, args.batches, without_viper(Path(tmp)))))
    print(f"{'interpreter':30} {'median':>9} {'worst':>9} {'+sched':>9} {'faulted':>9} {'alloc/tick':>10}")
    for name, r in rows:
        alloc = r["alloc_bytes_per_tick"]
        alloc = "n/a" if alloc.startswith("-") else f"{float(alloc):.0f} B"
        print(f"{name:30} {float(r['median_us']):8.3f}us {float(r['worst_us']):8.3f}us "
              f"{float(r['sched_median_us']):8.3f}us {float(r['fault_median_us']):8.3f}us {alloc:>10}")
    print("pen figures (the emulated RP2040): python bench/chip.py")


if __name__ == "__main__":
    main()
