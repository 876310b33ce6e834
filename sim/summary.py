"""Numbers from a run: stroke-rate error by speed level, load-step sag, depth
against limits, faults with detection and motor-off latency, energy."""

from __future__ import annotations

import math
from typing import Any

from pen import faults as fault_names
from pen import tick as T
from sim import accel
from sim.runner import RunResult

SETTLE_AFTER_CHANGE_S = 1.0     # after a start or a level change
SETTLE_AFTER_CONTACT_S = 0.4    # after the needles meet or leave the skin
SMOOTH = 5                      # samples in the moving average (50 ms at 10 ms)


def _moving_average(xs: list[float], n: int) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= n:
            acc -= xs[i - n]
        out.append(acc / min(i + 1, n))
    return out


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def rate_stats(r: RunResult) -> dict[str, Any]:
    """Steady-state stroke-rate error per level, in the air and in skin."""
    tr = r.trace
    t, state, target, level, tissue = tr["t_s"], tr["state"], tr["target_sps"], tr["level"], tr["tissue"]
    rate = _moving_average(tr["stroke_sps"], SMOOTH)
    since_change = since_contact = 0.0
    prev_target = prev_tissue = None
    dt = t[1] - t[0] if len(t) > 1 else 0.01
    per: dict[int, dict[str, list[float]]] = {}
    for i in range(len(t)):
        if state[i] != T.ST_RUNNING or target[i] != prev_target:
            since_change = 0.0
        if tissue[i] != prev_tissue:
            since_contact = 0.0
        prev_target, prev_tissue = target[i], tissue[i]
        since_change += dt
        since_contact += dt
        if state[i] != T.ST_RUNNING or target[i] <= 0:
            continue
        if since_change < SETTLE_AFTER_CHANGE_S or since_contact < SETTLE_AFTER_CONTACT_S:
            continue
        err = 100.0 * (rate[i] / target[i] - 1.0)
        bucket = per.setdefault(level[i], {"air": [], "skin": []})
        bucket["skin" if tissue[i] > 0 else "air"].append(err)
    out: dict[str, Any] = {}
    for lv in sorted(per):
        row: dict[str, Any] = {}
        for where in ("air", "skin"):
            e = per[lv][where]
            if not e:
                continue
            row[where] = {
                "samples": len(e),
                "mean_pct": sum(e) / len(e),
                "rms_pct": math.sqrt(sum(x * x for x in e) / len(e)),
                "p95_abs_pct": _pct([abs(x) for x in e], 0.95),
                "max_abs_pct": max(abs(x) for x in e),
            }
        out[str(lv)] = row
    return out


def load_steps(r: RunResult) -> dict[str, Any]:
    """Sag of the stroke rate in the 300 ms after the needles meet skin."""
    tr = r.trace
    t, state, target, tissue = tr["t_s"], tr["state"], tr["target_sps"], tr["tissue"]
    rate = _moving_average(tr["stroke_sps"], 3)
    sags, steady = [], []
    run_since = -1.0
    for i in range(1, len(t)):
        if state[i] != T.ST_RUNNING:
            run_since = -1.0
            continue
        if run_since < 0:
            run_since = t[i]
        if tissue[i] > 0 and tissue[i - 1] == 0 and t[i] - run_since > SETTLE_AFTER_CHANGE_S and target[i] > 0:
            window = [rate[j] for j in range(i, min(len(t), i + 30)) if tissue[j] > 0 and target[j] == target[i]]
            if window:
                sags.append(100.0 * (1 - min(window) / target[i]))
            end = [rate[j] for j in range(i + 40, min(len(t), i + 60)) if tissue[j] > 0 and target[j] == target[i]]
            if end:
                steady.append(100.0 * (sum(end) / len(end) / target[i] - 1))
    return {
        "steps": len(sags),
        "mean_sag_pct": sum(sags) / len(sags) if sags else float("nan"),
        "worst_sag_pct": max(sags) if sags else float("nan"),
        "mean_error_after_500ms_pct": sum(steady) / len(steady) if steady else float("nan"),
    }


def depth_stats(r: RunResult) -> dict[str, Any]:
    tr = r.trace
    depth, lim, target, state = tr["depth_um"], tr["limit_um"], tr["depth_target_um"], tr["state"]
    running = [i for i in range(len(depth)) if state[i] == T.ST_RUNNING]
    margins = [lim[i] - depth[i] for i in running]
    return {
        "min_um": min(depth) if depth else 0,
        "max_um": max(depth) if depth else 0,
        "max_target_um": max(target) if target else 0,
        "target_beyond_limit_samples": sum(1 for i in range(len(depth)) if target[i] > lim[i]),
        "smallest_margin_running_um": min(margins) if margins else None,
        "running_beyond_limit_samples": sum(1 for i in running if depth[i] > lim[i] + r.pen.m[T.P_DEPTH_TOL_UM]),
    }


def fault_table(r: RunResult) -> list[dict[str, Any]]:
    """Each latched fault with the injection it answered, detection time
    (injection -> latch) and motor-off latency (latch -> duty 0)."""
    rows = []
    period = r.pen.board["control_period_us"]
    for t_us, bits, duty, _tick in r.fault_log:
        for name in fault_names.names(bits):
            cause = None
            for inj in reversed(r.injections):
                if inj.t_us <= t_us and (name in inj.caught_by or not inj.caught_by):
                    cause = inj
                    break
            rows.append({
                "t_s": t_us / 1e6,
                "fault": name,
                "injected": cause.kind if cause else None,
                "detect_ms": (t_us - cause.t_us) / 1000 if cause else None,
                "motor_off_ticks": 0 if duty == 0 else None,
                "motor_off_us": 0 if duty == 0 else None,
                "period_us": period,
            })
    return rows


def summarize(r: RunResult) -> dict[str, Any]:
    pen, plant = r.pen, r.pen.plant
    tr = r.trace
    dt = tr["t_s"][1] - tr["t_s"][0] if len(tr["t_s"]) > 1 else 0.01
    run_s = sum(1 for s in tr["state"] if s == T.ST_RUNNING) * dt
    soc0 = float(r.scenario.pen.get("battery", 0.95))
    sched = pen.app.sched.report()
    return {
        "scenario": r.scenario.name,
        "controller": r.controller,
        "simulated_s": r.sim_s,
        "wall_s": r.wall_s,
        "real_time_factor": r.rtf,
        "compiled_hot_path": len(accel.active()) == len(accel.MODULES),
        "pen_time_s": run_s,
        "stroke_rate": rate_stats(r),
        "load_steps": load_steps(r),
        "depth": depth_stats(r),
        "faults": fault_table(r),
        "faults_at_end": fault_names.names(pen.m[T.S_FAULTS]),
        "duty_while_faulted_ticks": r.violations,
        "injections": [{"t_s": i.t_us / 1e6, "kind": i.kind,
                        "healed_s": None if i.healed_us is None else i.healed_us / 1e6} for i in r.injections],
        "refusals": [{"t_s": t / 1e6, "text": x} for t, x in r.refusals],
        "energy_j": plant.energy_j,
        "charge_used_mah": (soc0 - plant.soc) * plant.capacity_as / 3.6,
        "battery_left_pct": 100 * plant.soc,
        "battery_v": plant.v_bat,
        "motor_temp_max_c": max(tr["temp_c"]) if tr["temp_c"] else None,
        "cartridge_use_s": pen.m[T.S_CART_USE_S],
        "scheduler": sched,
    }


def check_expect(expect: dict[str, Any], s: dict[str, Any]) -> list[dict[str, Any]]:
    """A scenario's [expect] against a run's summary: one {key, ok, text}
    per expectation (sim.scenario validated the values).

    faults              the first latched fault is one of these
    detect_within_ms    ... latched at most this long after the injection before it
    no_faults = true    nothing latched
    max_rate_error_pct  the worst steady-state p95 stroke-rate error (every level,
                        air and skin) is at most this
    """
    out: list[dict[str, Any]] = []

    def result(key: str, ok: bool, text: str) -> None:
        out.append({"key": key, "ok": ok, "text": text})

    faults = s["faults"]
    first = faults[0] if faults else None
    if "faults" in expect:
        want = ", ".join(expect["faults"])
        if first is None:
            result("faults", False, f"expected a fault (one of {want}); none latched")
        else:
            ok = first["fault"] in expect["faults"]
            result("faults", ok, f"first fault {first['fault']} at {first['t_s']:.3f} s"
                                 + ("" if ok else f"; expected one of {want}"))
    if "detect_within_ms" in expect:
        limit = expect["detect_within_ms"]
        if first is None:
            result("detect_within_ms", False, f"no fault latched to time (limit {limit:g} ms)")
        elif first["detect_ms"] is None:
            result("detect_within_ms", False, f"{first['fault']} latched with no injection before it "
                                              f"(limit {limit:g} ms from an injection)")
        else:
            ok = 0 <= first["detect_ms"] <= limit
            result("detect_within_ms", ok, f"{first['fault']} {first['detect_ms']:.1f} ms after the "
                                           f"{first['injected']} injection (limit {limit:g} ms)")
    if expect.get("no_faults"):
        if first is None:
            result("no_faults", True, "no fault latched")
        else:
            names = ", ".join(dict.fromkeys(f["fault"] for f in faults))
            result("no_faults", False, f"expected no fault; {names} latched (first at {first['t_s']:.3f} s)")
    if "max_rate_error_pct" in expect:
        limit = expect["max_rate_error_pct"]
        worst = max(((st["p95_abs_pct"], lv, where) for lv, row in s["stroke_rate"].items()
                     for where, st in row.items()), default=None)
        if worst is None:
            result("max_rate_error_pct", False, f"no steady-state stroke-rate samples to check (limit {limit:g} %): "
                                                f"the motor never ran steadily")
        else:
            pct, lv, where = worst
            result("max_rate_error_pct", pct <= limit, f"worst steady-state p95 stroke-rate error {pct:.2f} % "
                                                       f"(level {lv}, {where}; limit {limit:g} %)")
    return out


def jsonable(x: Any) -> Any:
    """The summary as strict JSON values: NaN and infinities become null."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if x is None or isinstance(x, bool | int | str):
        return x
    return str(x)


def _num(x: Any, fmt: str, unit: str = "") -> str:
    """A number for people, or n/a when there is none."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:{fmt}}{unit}"


def format_summary(s: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    w(f"scenario {s['scenario']}  ({s['controller']})")
    w(f"  simulated {s['simulated_s'] / 60:.1f} min in {s['wall_s']:.1f} s wall: "
      f"{s['real_time_factor']:.0f}x real time{' (compiled hot path)' if s.get('compiled_hot_path') else ''};"
      f"  pen time {s['pen_time_s'] / 60:.1f} min")
    w("")
    w("stroke rate, steady state, error vs target (50 ms average):")
    w(f"  {'level':>5} {'where':>5} {'samples':>8} {'mean':>8} {'rms':>8} {'p95|e|':>8} {'max|e|':>8}")
    for lv, row in s["stroke_rate"].items():
        for where, st in row.items():
            w(f"  {lv:>5} {where:>5} {st['samples']:8d} {st['mean_pct']:7.2f}% {st['rms_pct']:7.2f}% "
              f"{st['p95_abs_pct']:7.2f}% {st['max_abs_pct']:7.2f}%")
    ls = s["load_steps"]
    if ls["steps"]:
        w(f"  skin contact steps: {ls['steps']}, sag mean {ls['mean_sag_pct']:.1f}% worst {ls['worst_sag_pct']:.1f}%, "
          f"error 0.4-0.6 s after contact {ls['mean_error_after_500ms_pct']:+.2f}%")
    d = s["depth"]
    w("")
    w(f"depth: measured {d['min_um']}..{d['max_um']} µm, deepest target {d['max_target_um']} µm; "
      f"target beyond limit: {d['target_beyond_limit_samples']} samples; "
      f"smallest margin to the limit while running: {_num(d['smallest_margin_running_um'], 'd', ' µm')}")
    w("")
    if s["faults"]:
        w("faults:")
        w(f"  {'time':>9} {'fault':18} {'injected':18} {'detected after':>14} {'motor off':>12}")
        for f in s["faults"]:
            det = f"{f['detect_ms']:.1f} ms" if f["detect_ms"] is not None else "-"
            off = "same tick" if f["motor_off_ticks"] == 0 else "LATE"
            w(f"  {f['t_s']:8.3f}s {f['fault']:18} {f['injected'] or '-':18} {det:>14} {off:>12}")
    else:
        w("faults: none")
    w(f"  ticks with duty > 0 while a fault was latched: {s['duty_while_faulted_ticks']}")
    if s["refusals"]:
        w(f"refused commands: {len(s['refusals'])} (first: {s['refusals'][0]['text']})")
    w("")
    w(f"energy {s['energy_j']:.0f} J, charge {s['charge_used_mah']:.0f} mAh; battery left {s['battery_left_pct']:.0f}% "
      f"({s['battery_v']:.2f} V); motor up to {_num(s['motor_temp_max_c'], '.1f', ' °C')}; "
      f"cartridge used {s['cartridge_use_s']} s")
    sc = s["scheduler"]
    w(f"control loop: {sc['ticks']} ticks, period {_num(sc['period_min_us'], 'd')}.."
      f"{_num(sc['period_max_us'], 'd')} µs, overruns {sc['overruns']}, missed {sc['missed']}")
    return "\n".join(out)
