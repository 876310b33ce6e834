"""Simulator benchmark.

1. Real-time factor (simulated seconds per wall second) of the default
   full-face scenario on CPython; target >= 100.
2. Stroke-rate error under skin-load steps (the load_steps scenario), closed
   loop (the firmware's PI) next to the open-loop baseline (fixed duty per
   level); target: closed loop within +-2 % in steady state under load.

    python bench/simulator.py [--skip-default]
"""

from __future__ import annotations

import argparse
import platform
import sys

import pen  # noqa: F401
from sim import runner, scenario, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-default", action="store_true", help="skip the 40-minute default scenario")
    args = ap.parse_args()
    print(f"CPython {platform.python_version()} on {platform.machine()}")
    if not args.skip_default:
        r = runner.run(scenario.load("default"), progress=sys.stderr.isatty())
        s = summary.summarize(r)
        verdict = "meets" if r.rtf >= 100 else "MISSES"
        print(f"default scenario: {r.sim_s / 60:.1f} min simulated in {r.wall_s:.1f} s: "
              f"real-time factor {r.rtf:.0f} ({verdict} the >= 100 target); "
              f"{r.sim_s * 1e6 / s['scheduler']['period_us'] / r.wall_s / 1000:.0f}k ticks/s")

    rows = {}
    for ctl in runner.CONTROLLERS:
        rows[ctl] = summary.summarize(runner.run(scenario.load("load_steps"), controller=ctl))
    print("\nstroke-rate error under skin-load steps (load_steps: cheek 1.0 mm, forehead 0.5 mm, scar 1.2 mm)")
    print(f"{'level':>5} {'target':>7} | {'closed: mean':>12} {'p95|e|':>7} {'max|e|':>7} | "
          f"{'open: mean':>10} {'p95|e|':>7} {'max|e|':>7}")
    levels = rows["closed-loop"]["stroke_rate"]
    from boards.virtual import BOARD
    worst = 0.0
    for lv in levels:
        c = rows["closed-loop"]["stroke_rate"][lv].get("skin")
        o = rows["open-loop"]["stroke_rate"].get(lv, {}).get("skin")
        if not c:
            continue
        worst = max(worst, c["p95_abs_pct"])
        target = BOARD["motor"]["speed_levels_sps"][int(lv) - 1]
        ot = (f"{o['mean_pct']:9.2f}% {o['p95_abs_pct']:6.2f}% {o['max_abs_pct']:6.2f}%" if o
              else "   (stopped)")
        print(f"{lv:>5} {target:>5}/s | {c['mean_pct']:11.2f}% {c['p95_abs_pct']:6.2f}% "
              f"{c['max_abs_pct']:6.2f}% | {ot}")
    for ctl, s in rows.items():
        ls = s["load_steps"]
        print(f"{ctl:12} contact steps {ls['steps']}: sag mean {ls['mean_sag_pct']:.1f}% "
              f"worst {ls['worst_sag_pct']:.1f}%,"
              f" error 0.4-0.6 s after contact {ls['mean_error_after_500ms_pct']:+.2f}%;"
              f" faults: {[f['fault'] for f in s['faults']] or 'none'}")
    verdict = "meets" if worst <= 2.0 else "MISSES"
    print(f"closed loop, worst p95 steady-state error in skin: {worst:.2f}% ({verdict} the +-2 % target)")


if __name__ == "__main__":
    main()
