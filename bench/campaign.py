"""Fault-injection campaign (sim/campaign.py): thousands of runs, every fault
of the interlock at random times, speed levels, depths and load states.

Prints, per fault type: runs, detected, worst detection time against the
documented bound, worst reaction (ticks from detection to duty 0), and
violations (must be 0); --markdown prints the table for docs/safety.md.

    python bench/campaign.py [--runs 3400] [--seed 1] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time

import pen  # noqa: F401
from sim import campaign


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() and (done % 20 == 0 or done == total):
            sys.stderr.write(f"\r  {done}/{total} runs, {time.perf_counter() - t0:.0f} s")
            sys.stderr.flush()

    results = campaign.campaign(args.runs, args.seed, progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    rows = campaign.table(results)
    violations = [r for r in results if r.violations]
    if args.markdown:
        print("| fault injected | caught by | runs | detected | worst detection | bound | reaction |")
        print("|---|---|---|---|---|---|---|")
        for row in rows:
            worst = "n/a" if row["worst_detect_ms"] is None else f"{row['worst_detect_ms']:.0f} ms"
            print(f"| {row['fault']} | {', '.join(row['caught_by'])} | {row['runs']} | "
                  f"{row['detected']} (+{row['not_provoked']} not provoked) | {worst} | "
                  f"{row['bound_ms']:.0f} ms | {row['worst_reaction_ticks']} ticks |")
    else:
        print(f"{'fault injected':22} {'caught by':28} {'runs':>5} {'det.':>5} {'n/p':>4} {'worst ms':>9} "
              f"{'bound':>7} {'react':>6} {'viol':>5}")
        for row in rows:
            worst = "n/a" if row["worst_detect_ms"] is None else f"{row['worst_detect_ms']:.1f}"
            react = "n/a" if row["worst_reaction_ticks"] is None else str(row["worst_reaction_ticks"])
            print(f"{row['fault']:22} {','.join(row['caught_by']):28} {row['runs']:5d} {row['detected']:5d} "
                  f"{row['not_provoked']:4d} {worst:>9} {row['bound_ms']:7.0f} "
                  f"{react:>6} {row['violations']:5d}")
    print(f"{len(results)} runs, {sum(r['detected'] for r in rows)} faults detected, "
          f"{sum(len(r.violations) for r in results)} violations, {time.perf_counter() - t0:.0f} s")
    for r in violations[:20]:
        print("VIOLATION", r.kind, f"level {r.level}, {r.depth_um} um, {r.tissue}:", "; ".join(r.violations))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
