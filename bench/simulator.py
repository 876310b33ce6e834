"""Simulator benchmark.

1. Real-time factor (simulated seconds per wall second) of the default
   full-face scenario on CPython, one core: the pure modules and the
   compiled hot path (sim/accel.py; built first if Cython is there) side
   by side in one run, each in a fresh process, alternating --repeat times;
   target >= 200 (the summary's trace and faults must be the same).
2. Stroke-rate error under skin-load steps (the load_steps scenario), closed
   loop (the firmware's PI) next to the open-loop baseline (fixed duty per
   level); target: closed loop within +-2 % in steady state under load.

    python bench/simulator.py [--skip-default] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pen  # noqa: F401
from sim import runner, scenario, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-default", action="store_true", help="skip the 40-minute default scenario")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (pure, compiled), alternating")
    args = ap.parse_args()
    print(f"CPython {platform.python_version()} on {platform.machine()}, load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    if not args.skip_default:
        real_time_factors(args.repeat)

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


def _default_run(compiled: bool) -> dict:
    """The default scenario in a fresh process: its real-time factor and a
    fingerprint of what it computed."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, NEEDLEPEN_ACCEL="auto" if compiled else "0")
    code = ("import hashlib, json, sys; sys.path[:0] = ['firmware', '.']\n"
            "import sim\nfrom sim import accel, runner, scenario\n"
            "r = runner.run(scenario.load('default'))\n"
            "h = hashlib.sha256(json.dumps([r.trace, r.fault_log, r.notes]).encode()).hexdigest()[:16]\n"
            "print(json.dumps({'rtf': r.rtf, 'wall_s': r.wall_s, 'sim_s': r.sim_s, 'hash': h,"
            " 'compiled': len(accel.active()) == len(accel.MODULES)}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def real_time_factors(repeat: int) -> None:
    from sim import accel
    if accel.find() is None:
        try:
            accel.build(log=lambda s: print(f"  accel: {s}"))
        except RuntimeError as e:
            print(f"  (no compiled hot path: {e})")
    runs: dict[str, list[dict]] = {"pure": [], "compiled": []}
    for _ in range(repeat):
        for mode in runs:
            r = _default_run(mode == "compiled")
            if mode == "compiled" and not r["compiled"]:
                continue
            runs[mode].append(r)
            print(f"  default scenario, {mode:8}: {r['sim_s'] / 60:.1f} min simulated in {r['wall_s']:5.1f} s: "
                  f"real-time factor {r['rtf']:5.1f}  ({r['sim_s'] * 1000 / r['wall_s'] / 1000:.0f}k ticks/s; "
                  f"result {r['hash']})", flush=True)
    best = {m: max((r["rtf"] for r in rs), default=0.0) for m, rs in runs.items()}
    same = len({r["hash"] for rs in runs.values() for r in rs}) == 1
    verdict = "meets" if best["compiled"] >= 200 else "MISSES"
    print(f"real-time factor, best of {repeat}: pure {best['pure']:.0f}, compiled {best['compiled']:.0f} "
          f"({best['compiled'] / best['pure']:.2f}x; {verdict} the >= 200 target); "
          f"results {'identical' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
