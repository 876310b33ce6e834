"""The stroke rate across a population of pens: the firmware's closed loop
next to the open-loop baseline (fixed duty per level), each pen through the
load_steps scenario (skin-load steps at every speed level).

Pen n is the campaign's pen n of the same seed (sim.campaign.Plan.pen_kw)
with the skin at its nominal: a population of pens, not of patients — the
skin steps are the scenario's.  What is compared per speed level, in skin
and in steady state (sim.summary.rate_stats): each pen's p95 |error| and
mean error, then across the pens their median and worst.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from boards.virtual import BOARD as VIRTUAL
from sim import population, runner, scenario, summary

SCENARIO = "load_steps"
TARGET_PCT = 2.0             # the closed loop's steady-state target, p95 |error| in skin


def pen_kw(seed: int, pen: int) -> dict[str, float]:
    """Pen `pen` of the campaign population of `seed` (the same draws), the
    skin put back to its nominal."""
    kw = population.sample(VIRTUAL, random.Random(f"needlepen pen {seed} {pen}"))
    nominal = population.nominal(VIRTUAL)
    for (part, _), name in population.PLANT_KW.items():
        if part == "skin":
            kw[name] = nominal[name]
    return kw


def run_pen(seed: int, pen: int, duration_s: float | None = None) -> dict[str, Any]:
    """One pen through the scenario with each controller: per controller,
    per level, its p95 |error| and mean error in skin (%), and the faults."""
    sc = scenario.load(SCENARIO)
    if duration_s is not None:
        sc.duration_us = min(sc.duration_us, int(duration_s * 1e6))
    kw = pen_kw(seed, pen)
    out: dict[str, Any] = {"pen": pen}
    for ctl in runner.CONTROLLERS:
        s = summary.summarize(runner.run(sc, controller=ctl, plant_kw=kw))
        levels = {lv: {"p95_abs_pct": row["skin"]["p95_abs_pct"], "mean_pct": row["skin"]["mean_pct"]}
                  for lv, row in s["stroke_rate"].items() if "skin" in row}
        out[ctl] = {"levels": levels, "faults": sorted({f["fault"] for f in s["faults"]})}
    return out


def sweep(pens: int, seed: int = 1, duration_s: float | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    rows = []
    for n in range(pens):
        rows.append(run_pen(seed, n, duration_s))
        if progress:
            progress(n + 1, pens)
    return rows


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Across the pens, per controller and level: median and worst p95
    |error|, median and worst |mean error|; pens that faulted; pens whose
    closed loop held the target at every level."""
    out: dict[str, Any] = {"pens": len(rows), "target_pct": TARGET_PCT, "controllers": {}}
    for ctl in runner.CONTROLLERS:
        per: dict[str, dict[str, list[float]]] = {}
        for r in rows:
            for lv, e in r[ctl]["levels"].items():
                d = per.setdefault(lv, {"p95": [], "mean": []})
                d["p95"].append(e["p95_abs_pct"])
                d["mean"].append(e["mean_pct"])
        levels = {lv: {"pens": len(d["p95"]), "p95_median_pct": _median(d["p95"]), "p95_worst_pct": max(d["p95"]),
                       "mean_median_pct": _median(d["mean"]), "mean_worst_abs_pct": max(abs(x) for x in d["mean"])}
                  for lv, d in sorted(per.items(), key=lambda kv: int(kv[0]))}
        within = sum(1 for r in rows if r[ctl]["levels"]
                     and all(e["p95_abs_pct"] <= TARGET_PCT for e in r[ctl]["levels"].values()))
        out["controllers"][ctl] = {
            "levels": levels,
            "pens_within_target": within,
            "pens_faulted": [{"pen": r["pen"], "faults": r[ctl]["faults"]} for r in rows if r[ctl]["faults"]],
        }
    return out


METRICS = (("p95_median_pct", "p95 median"), ("p95_worst_pct", "p95 worst"),
           ("mean_median_pct", "mean median"), ("mean_worst_abs_pct", "worst abs mean"))


def format_table(t: dict[str, Any], markdown: bool = False) -> str:
    closed, open_ = (t["controllers"][c] for c in runner.CONTROLLERS)
    cols = ["level"] + [f"{label} {ctl}" for _, label in METRICS for ctl in ("closed", "open")]
    rows = []
    for lv, c in closed["levels"].items():
        o = open_["levels"].get(lv)
        cells = [lv]
        for key, _ in METRICS:
            cells += [f"{c[key]:.2f} %", f"{o[key]:.2f} %" if o else "stopped"]
        rows.append(cells)
    if markdown:
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    else:
        lines = [f"stroke-rate error in skin across {t['pens']} pens (load_steps, steady state): the firmware's "
                 "closed loop and the open loop (fixed duty per level)"]
        widths = [5] + [max(len(c), 8) for c in cols[1:]]
        lines.append("  ".join(f"{c:>{w}}" for c, w in zip(cols, widths)))
        lines += ["  ".join(f"{x:>{w}}" for x, w in zip(r, widths)) for r in rows]
    for name, ctl in zip(("closed loop", "open loop"), (closed, open_)):
        faulted = ", ".join(f"pen {f['pen']}: {'/'.join(f['faults'])}" for f in ctl["pens_faulted"]) or "none"
        lines.append(f"{'- ' if markdown else ''}{name}: {ctl['pens_within_target']} of {t['pens']} pens within "
                     f"±{t['target_pct']:g} % (p95, every level); faults: {faulted}")
    return "\n".join(lines)
