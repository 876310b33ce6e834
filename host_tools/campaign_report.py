"""`needlepen campaign report`: what a campaign's results file says, per
fault kind (detection time median, p99 and worst against the bound,
reaction, counts), its violations with the command that replays each, and
two campaigns side by side (--compare)."""

from __future__ import annotations

import math
import shlex
import statistics
from typing import Any

from host_tools.campaign_store import Results
from sim import campaign


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list: a value
    that occurred, never an interpolation between two runs."""
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def per_fault(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per fault kind present in the rows, in name order."""
    out = []
    for kind in sorted({r["kind"] for r in rows}):
        rs = [r for r in rows if r["kind"] == kind]
        det = [r["detect_ms"] for r in rs if r["detect_ms"] is not None]
        react = [r["reaction_ticks"] for r in rs if r["first"] is not None]
        caught: dict[str, int] = {}
        for r in rs:
            if r["first"]:
                caught[r["first"]] = caught.get(r["first"], 0) + 1
        spec = campaign.SPECS.get(kind)
        out.append({
            "fault": kind,
            "hazard": spec.hazard if spec else "",
            "caught_by": dict(sorted(caught.items(), key=lambda kv: -kv[1])),
            "runs": len(rs),
            "detected": len(det),
            "not_provoked": sum(r["not_provoked"] for r in rs),
            "violations": sum(1 for r in rs if r["violations"]),
            "median_ms": statistics.median(det) if det else None,
            "p99_ms": percentile(det, 99) if det else None,
            "worst_ms": max(det) if det else None,
            "bound_ms": max(r["bound_ms"] for r in rs),
            # ticks from the latch to duty 0; None (the duty was not 0) counts as the worst
            "worst_reaction_ticks": (None if None in react else max(react)) if react else None,
        })
    return out


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {"runs": len(rows), "detected": sum(r["detect_ms"] is not None for r in rows),
            "not_provoked": sum(r["not_provoked"] for r in rows),
            "violations": sum(1 for r in rows if r["violations"])}


def replay_commands(res: Results, idx: int) -> tuple[str, str]:
    """The two ways to replay run `idx`: from the results file, and from the
    campaign's parameters alone."""
    plan = res.plan()
    with_file = f"needlepen campaign replay {shlex.quote(str(res.path))} --run {idx}"
    alone = f"needlepen campaign replay --seed {plan.seed} --index {idx} --population {plan.population}"
    if sorted(plan.faults) != sorted(campaign.SPECS):
        alone += f" --faults {','.join(sorted(plan.faults))}"
    return with_file, alone


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def _ticks(entry: dict[str, Any]) -> str:
    if entry["detected"] == 0:
        return "n/a"
    return "DUTY ON" if entry["worst_reaction_ticks"] is None else str(entry["worst_reaction_ticks"])


def _caught(entry: dict[str, Any]) -> str:
    return ", ".join(entry["caught_by"]) or "-"


def header(res: Results, rows: list[dict[str, Any]]) -> list[str]:
    m = res.meta
    faults = "all" if sorted(m["faults"]) == sorted(campaign.SPECS) else ",".join(m["faults"])
    done = len(rows)
    lines = [f"{res.path}: seed {m['seed']}, population {m['population']}, faults {faults}, "
             f"{done} of {m['runs']} runs done"]
    sess = res.sessions()
    if sess:
        wall = sum(s["wall_s"] for s in sess)
        runs = sum(s["runs"] for s in sess)
        lines.append(f"  {len(sess)} session(s), {runs} runs in {wall:.0f} s"
                     + (f" ({runs / wall:.1f} runs/s)" if wall > 0 else ""))
    if done < int(m["runs"]):
        lines.append(f"  incomplete: {int(m['runs']) - done} runs to go (run the same `needlepen campaign run` "
                     f"with --out {shlex.quote(str(res.path))} to resume)")
    return lines


def text(res: Results, rows: list[dict[str, Any]], limit: int = 20) -> str:
    entries = per_fault(rows)
    out = header(res, rows)
    out.append("")
    out.append(f"{'fault injected':22} {'caught by':28} {'runs':>6} {'det.':>6} {'n/p':>5} {'median':>7} "
               f"{'p99':>6} {'worst':>6} {'bound':>6} {'react':>6} {'viol':>5}")
    for e in entries:
        out.append(f"{e['fault']:22} {_caught(e)[:28]:28} {e['runs']:6d} {e['detected']:6d} {e['not_provoked']:5d} "
                   f"{_ms(e['median_ms']):>7} {_ms(e['p99_ms']):>6} {_ms(e['worst_ms']):>6} "
                   f"{_ms(e['bound_ms']):>6} {_ticks(e):>6} {e['violations']:5d}")
    t = totals(rows)
    out.append(f"{t['runs']} runs: {t['detected']} faults detected, {t['not_provoked']} not provoked, "
               f"{t['violations']} runs with violations (times in ms, onset to latch; reaction in ticks, "
               f"latch to duty 0)")
    out += violations(res, rows, limit)
    return "\n".join(out)


def violations(res: Results, rows: list[dict[str, Any]], limit: int = 20) -> list[str]:
    bad = [r for r in rows if r["violations"]]
    if not bad:
        return []
    out = ["", f"violations ({len(bad)} runs" + (f", the first {limit}" if len(bad) > limit else "") + "):"]
    for r in bad[:limit]:
        with_file, alone = replay_commands(res, r["idx"])
        out.append(f"  run {r['idx']}: {r['kind']}, pen {r['pen']}, level {r['level']}, {r['depth_um']} µm, "
                   f"{r['tissue']}, injected at {r['inject_s']:.3f} s: {r['violations']}")
        out.append(f"    {with_file}")
        out.append(f"    {alone}")
    return out


def markdown(res: Results, rows: list[dict[str, Any]]) -> str:
    """The table docs/safety.md shows, from this campaign."""
    t = totals(rows)
    m = res.meta
    out = [f"Campaign: {t['runs']} runs, population {m['population']}, seed {m['seed']}, "
           f"{t['violations']} violations (`needlepen campaign report {res.path} --markdown`).", "",
           "| fault injected | caught by | runs | detected | median | p99 | worst detection | bound | reaction |",
           "|---|---|---|---|---|---|---|---|---|"]
    for e in per_fault(rows):
        np = f" (+{e['not_provoked']} not provoked)" if e["not_provoked"] else ""
        react = _ticks(e)
        out.append(f"| {e['fault']} | {_caught(e)} | {e['runs']} | {e['detected']}{np} | {_ms(e['median_ms'])} ms | "
                   f"{_ms(e['p99_ms'])} ms | {_ms(e['worst_ms'])} ms | {_ms(e['bound_ms'])} ms | "
                   f"{react}{' ticks' if react.isdigit() else ''} |")
    return "\n".join(out)


def compare(a: Results, rows_a: list[dict[str, Any]], b: Results, rows_b: list[dict[str, Any]]) -> str:
    """Two campaigns side by side, per fault kind: A | B."""
    ea = {e["fault"]: e for e in per_fault(rows_a)}
    eb = {e["fault"]: e for e in per_fault(rows_b)}
    out = ["A: " + header(a, rows_a)[0], "B: " + header(b, rows_b)[0], ""]
    out.append(f"{'fault injected':22} {'runs A|B':>13} {'det. A|B':>13} {'median A|B':>11} {'p99 A|B':>11} "
               f"{'worst A|B':>11} {'react A|B':>11} {'viol A|B':>9}")
    empty: dict[str, Any] = {"runs": 0, "detected": 0, "median_ms": None, "p99_ms": None, "worst_ms": None,
                             "worst_reaction_ticks": None, "violations": 0}
    for kind in sorted(set(ea) | set(eb)):
        x, y = ea.get(kind, empty), eb.get(kind, empty)

        def pair(key: str, fmt: Any = str, w: int = 11, x: dict[str, Any] = x, y: dict[str, Any] = y) -> str:
            return f"{fmt(x[key]) + '|' + fmt(y[key]):>{w}}"

        out.append(f"{kind:22} {pair('runs', w=13)} {pair('detected', w=13)} {pair('median_ms', _ms)} "
                   f"{pair('p99_ms', _ms)} {pair('worst_ms', _ms)} "
                   f"{_ticks(x) + '|' + _ticks(y):>11} {pair('violations', w=9)}")
    ta, tb = totals(rows_a), totals(rows_b)
    out.append(f"A: {ta['runs']} runs, {ta['violations']} with violations; B: {tb['runs']} runs, "
               f"{tb['violations']} with violations")
    return "\n".join(out)


def as_json(res: Results, rows: list[dict[str, Any]]) -> dict[str, Any]:
    bad = [r for r in rows if r["violations"]]
    return {
        "results": str(res.path),
        "campaign": {k: res.meta[k] for k in ("seed", "faults", "population", "board", "runs", "code")},
        "totals": totals(rows),
        "per_fault": per_fault(rows),
        "violations": [dict(r, replay=replay_commands(res, r["idx"])[1]) for r in bad],
        "sessions": res.sessions(),
    }
