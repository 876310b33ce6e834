"""Pens across the declared tolerances (issue 13): the big sweep.

1. Sweep: corner pens and pens drawn at random from the board's tolerances
   (sim/population.py), each through stretches of treatment (a start, skin
   passes, a level change up or down, a stop and an immediate restart) at
   random levels, face tissues and depths inside the design load, battery
   20-95 %.  Every fault is a false fault.
2. The issue's held-out cases on the load_steps session: faults, level 6
   stroke-rate error in skin, the first shortfall warning.
3. Real faults injected into the corner pens (sim/campaign.py's checks:
   detection within the bound, duty 0 in the latching tick, latching,
   clearing): worst detection per fault.
4. Shortfall: a drag at level 6 the motor cannot carry: when the warning
   and the fault come.

    python bench/tolerance.py [--pens 48] [--runs 2] [--seed 1] [--markdown]
    python bench/tolerance.py --firmware /tmp/old/firmware   # another tick (before/after figures)
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from typing import Any


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pens", type=int, default=48, help="pens in the sweep (8 corners, the rest random)")
    ap.add_argument("--runs", type=int, default=2, help="stretches of treatment per pen")
    ap.add_argument("--fault-pens", type=int, default=8, help="corner pens for the injected faults")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--board", default="virtual")
    ap.add_argument("--firmware", help="run another firmware/ directory's tick (before/after figures)")
    ap.add_argument("--skip", default="", help="sections to skip: sweep,held,faults,shortfall")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if args.firmware:
        sys.path.insert(0, args.firmware)
    import pen  # noqa: F401  (the firmware on the path first)
    from sim.runner import load_board

    board = load_board(args.board)
    skip = set(args.skip.split(","))
    t0 = time.perf_counter()
    bad = 0
    if "sweep" not in skip:
        bad += sweep(board, args)
    if "held" not in skip:
        held_out(args)
    if "faults" not in skip:
        bad += real_faults(board, args)
    if "shortfall" not in skip:
        shortfall(board, args)
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 1 if bad else 0


def _say(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + text[:100].ljust(100))
        sys.stderr.flush()


def _done() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 100 + "\r")


def sweep(board: dict[str, Any], args: argparse.Namespace) -> int:
    from sim import population as P

    rng = random.Random(args.seed)
    pens = P.corners(board, rng, min(8, args.pens))
    pens += [P.sample(board, rng) for _ in range(args.pens - len(pens))]
    plans = ((1, 6), (6, 3), (3, 1), (5, 2), (2, 5), (4, 6))
    rows = []
    for i, kw in enumerate(pens):
        for j in range(args.runs):
            level, to = plans[(i * args.runs + j) % len(plans)]
            tissue = rng.choice(P.FACE)
            depth = P.depth_within_design(tissue, kw["skin_k"], rng.choice(range(300, 1550, 50)))
            soc = rng.uniform(0.2, 0.95)
            _say(f"sweep: pen {i + 1}/{len(pens)} run {j + 1}")
            r = P.exercise(board, kw, seed=i * 31 + j + 1, level=level, to_level=to, tissue=tissue,
                           depth_um=depth, soc=soc)
            rows.append({"pen": i, "corner": i < 8, "kw": kw, "level": level, "to": to, "tissue": tissue,
                         "depth": depth, "soc": soc, **r})
    _done()
    false = [r for r in rows if P.false_faults(r)]
    real = [r for r in rows if r["faults"] and not P.false_faults(r)]
    warned = [r for r in rows if r["shortfall_s"] > 0]
    learned = [r for r in rows if r["learned"] is not None]
    ke_err = [abs(r["learned"] / (r["kw"]["Ke"] / 0.004) - 1) * 100 for r in learned]
    print(f"\n## Sweep: {len(pens)} pens ({min(8, len(pens))} corners), {len(rows)} stretches of treatment "
          f"({sum(1 for r in rows if r['corner'])} on corners)")
    if args.markdown:
        print("\n| | runs | false faults | shortfall fault (true rate > 15 % short for 3 s) | shortfall warning "
              "| back-EMF constant learned | its error (max) |")
        print("|---|---|---|---|---|---|---|")
        for name, sel in (("corner pens", [r for r in rows if r["corner"]]),
                          ("random pens", [r for r in rows if not r["corner"]]), ("all", rows)):
            errs = [abs(r["learned"] / (r["kw"]["Ke"] / 0.004) - 1) * 100 for r in sel if r["learned"] is not None]
            print(f"| {name} | {len(sel)} | {sum(1 for r in sel if P.false_faults(r))} | "
                  f"{sum(1 for r in sel if r['faults'] and not P.false_faults(r))} | "
                  f"{sum(1 for r in sel if r['shortfall_s'] > 0)} | {len(errs)} | "
                  f"{max(errs) if errs else 0:.1f} % |")
    else:
        print(f"false faults: {len(false)}   real shortfall faults: {len(real)}   "
              f"runs with a shortfall warning: {len(warned)}   "
              f"constant learned: {len(learned)}/{len(rows)}, error max {max(ke_err) if ke_err else 0:.1f} %")
    for r in false[:20]:
        print("FALSE FAULT", r["faults"], P.describe(r["kw"], board), f"L{r['level']}->{r['to']}", r["tissue"],
              r["depth"], f"soc {r['soc']:.2f}")
    for r in real:
        print(f"  shortfall fault (true rate short for {r['short_ms'][0] / 1000:.1f} s): {P.describe(r['kw'], board)}, "
              f"L{r['level']}->{r['to']} {r['tissue']} {r['depth']} um, battery {100 * r['soc']:.0f} %")
    for r in warned[:12]:
        print(f"  shortfall warned {r['shortfall_s']:.1f} s: {P.describe(r['kw'], board)}, L{r['level']}->{r['to']} "
              f"{r['tissue']} {r['depth']} um, battery {100 * r['soc']:.0f} %")
    return len(false)


HELD_OUT: tuple[tuple[str, dict[str, float]], ...] = (
    ("nominal", {}), ("Ke -20 %", {"Ke": 0.0032}),
    ("Ke -20 %, friction +50 %", {"Ke": 0.0032, "tau_c": 6e-4, "b": 3e-7}),
    ("Ke -15 %", {"Ke": 0.0034}), ("inertia x3", {"J": 3e-6}), ("skin x2", {"skin_k": 2.0}),
    ("battery 7 %", {"soc": 0.07}), ("battery 10 %", {"soc": 0.10}), ("battery 15 %", {"soc": 0.15}),
)


def held_out(args: argparse.Namespace) -> None:
    from pen import tick as T
    from sim import runner, scenario, summary

    print("\n## Held-out cases (load_steps, closed loop)")
    if args.markdown:
        print("\n| pen | faults | level 6 in skin: mean, p95 | first shortfall warning |")
        print("|---|---|---|---|")
    for name, plant in HELD_OUT:
        _say("held-out: " + name)
        s = runner.Session(scenario.load("load_steps"))
        for k, v in plant.items():
            setattr(s.pen.plant, k, v)
        s.pen.plant._disc.clear()
        pen, m = s.pen, s.pen.m
        warned: list[float] = []
        bit = getattr(T, "W_SHORTFALL", 0)
        step = pen.app.sched.step
        was = [0]

        def watched(step: Any = step, was: list[int] = was, warned: list[float] = warned, pen: Any = pen,
                    m: Any = m, bit: int = bit) -> None:
            step()
            w = m[T.S_WARN] & bit
            if w and not was[0]:
                warned.append(pen.clock.now_us / 1e6)
            was[0] = w

        pen.app.sched.step = watched
        sm = summary.summarize(s.run())
        l6 = sm["stroke_rate"].get("6", {}).get("skin", {})
        faults = ", ".join(f"{f['fault']} at {f['t_s']:.1f} s" for f in sm["faults"]) or "none"
        first = f"{warned[0]:.1f} s" if warned else "none"
        if args.markdown:
            print(f"| {name} | {faults} | {l6.get('mean_pct', 0):.1f} %, {l6.get('p95_abs_pct', 0):.1f} % | {first} |")
        else:
            print(f"{name:26} faults: {faults:32} L6 skin mean {l6.get('mean_pct', 0):5.1f} % "
                  f"p95 {l6.get('p95_abs_pct', 0):5.1f} %   shortfall warning: {first} ({len(warned)}x)")
    _done()


def real_faults(board: dict[str, Any], args: argparse.Namespace) -> int:
    from sim import campaign
    from sim import population as P

    pens = P.corners(board, random.Random(args.seed + 1), args.fault_pens)
    print(f"\n## Real faults injected into {len(pens)} corner pens (3 runs each)")
    if args.markdown:
        print("\n| fault injected | caught by | runs | detected | worst detection | nominal bound | violations |")
        print("|---|---|---|---|---|---|---|")
    bad = 0
    for kind in sorted(campaign.SPECS):
        rs = []
        for i, kw in enumerate(pens):
            for j in range(3):
                _say(f"faults: {kind} pen {i + 1}")
                r = campaign.run_one(kind, args.seed * 100003 + i * 10 + j, kw)
                rs.append((kw, r))
        det = [r.detect_ms for _, r in rs if r.detect_ms is not None]
        viol = [(kw, r) for kw, r in rs if r.violations]
        bad += sum(1 for _, r in viol if not all(v.startswith("detected after") for v in r.violations))
        caught = sorted({r.first for _, r in rs if r.first})
        worst = max(det) if det else float("nan")
        bound = max(r.bound_ms for _, r in rs)
        if args.markdown:
            print(f"| {kind} | {', '.join(caught)} | {len(rs)} | {len(det)} | {worst:.0f} ms | {bound:.0f} ms | "
                  f"{len(viol)} |")
        else:
            print(f"{kind:22} caught by {','.join(caught):28} runs {len(rs):3d} detected {len(det):3d} "
                  f"worst {worst:7.1f} ms (nominal bound {bound:5.0f})  violations {len(viol)}")
        for kw, r in viol[:4]:
            print(f"    {P.describe(kw, board)}, level {r.level}, {r.tissue}: {'; '.join(r.violations)}")
    _done()
    return bad


def shortfall(board: dict[str, Any], args: argparse.Namespace) -> None:
    from pen import faults
    from pen import tick as T
    from sim import population as P
    from sim.rig import SimPen

    pens = [P.nominal(board)] + P.corners(board, random.Random(args.seed + 2), 6)
    print("\n## Shortfall: a drag at level 6 (time from the drag)")
    if args.markdown:
        print("\n| pen | drag | short by (steady) | warning | fault |")
        print("|---|---|---|---|---|")
    for kw in pens:
        for drag in (0.0025, 0.0045):
            _say(f"shortfall: {P.describe(kw, board)}")
            pen = SimPen(board, seed=4, level=6, depth_um=800, zone="cheeks", profile="professional",
                         plant_kw=dict(kw, soc=0.6))
            pen.settle()
            pen.core.start()
            pen.run_ms(2000)
            pen.plant.jam_torque = drag
            warned = fault = None
            shorts = []
            t = 0
            while t < 6000 and fault is None:
                th = pen.plant.theta
                pen.run_ms(50)
                t += 50
                shorts.append(1 - (pen.plant.theta - th) / (2 * math.pi) / 0.05 / 200)
                if warned is None and pen.m[T.S_WARN] & getattr(T, "W_SHORTFALL", 0):
                    warned = t
                if pen.m[T.S_FAULTS]:
                    fault = (t, ",".join(faults.names(pen.m[T.S_FAULTS])))
            steady = sum(shorts[-20:]) / len(shorts[-20:]) * 100
            w = f"{warned / 1000:.2f} s" if warned else "none"
            f = f"{fault[1]} {fault[0] / 1000:.2f} s" if fault else "none"
            if args.markdown:
                print(f"| {P.describe(kw, board)} | {drag * 1000:.1f} mN m | {steady:.0f} % | {w} | {f} |")
            else:
                print(f"{P.describe(kw, board)[:60]:60} drag {drag * 1000:.1f} mN m: short {steady:4.0f} %  "
                      f"warning {w:8} fault {f}")
    _done()


if __name__ == "__main__":
    sys.exit(main())
