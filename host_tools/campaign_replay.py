"""`needlepen campaign replay`: one run of a campaign again, bit for bit,
with its trace (CSV, the simulator's columns) and plot (sim/plot.py)."""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import campaign
from sim.plant import TISSUES
from sim.rig import SimPen
from sim.runner import TRACE_COLUMNS, Injection, RunResult, append_sample
from sim.scenario import Scenario


@dataclass
class Replay:
    spec: campaign.RunSpec
    result: campaign.RunResult
    row: dict[str, Any]
    trace: RunResult | None          # the run as the simulator's plot and CSV take it
    t0_us: int = 0                   # the virtual time of the trace's first sample


class Recorder:
    """The trace of a run, one sample every `every_ms` control ticks (the
    columns of sim.runner.TRACE_COLUMNS)."""

    def __init__(self, every_ms: int = 1) -> None:
        self.every = every_ms
        self.n = 0
        self.pen: SimPen | None = None
        self.theta = 0.0
        self.trace: dict[str, list[Any]] = {c: [] for c in TRACE_COLUMNS}

    def __call__(self, pen: SimPen) -> None:
        if self.pen is None:
            self.pen = pen
            self.theta = pen.plant.theta
        self.n += 1
        if self.n % self.every:
            return
        period_s = self.every * pen.board["control_period_us"] / 1e6
        strokes = (pen.plant.theta - self.theta) / (2 * math.pi) / period_s
        self.theta = pen.plant.theta
        append_sample(self.trace, pen, strokes)


def replay(spec: campaign.RunSpec, trace_ms: int | None = 1) -> Replay:
    """Run `spec` again; with trace_ms, record its trace (the same ticks,
    one by one: the outcome is the same)."""
    rec = Recorder(trace_ms) if trace_ms else None
    wall0 = time.perf_counter()
    result = campaign.run(spec, rec)
    wall = time.perf_counter() - wall0
    trace, t0_us = None, 0
    if rec is not None and rec.pen is not None and rec.trace["t_s"]:
        t0_us = int(round(rec.trace["t_s"][0] * 1e6))
        trace = _as_runner_result(spec, result, rec, wall, t0_us)
    return Replay(spec, result, campaign.row(spec, result), trace, t0_us)


def _as_runner_result(spec: campaign.RunSpec, r: campaign.RunResult, rec: Recorder, wall: float,
                      t0_us: int) -> RunResult:
    pen = rec.pen
    assert pen is not None
    tr = rec.trace
    t0 = t0_us / 1e6
    tr["t_s"] = [t - t0 for t in tr["t_s"]]
    injections: list[Injection] = []
    for t_us, label in r.events:
        if label.startswith("inject "):
            injections.append(Injection(t_us - t0_us, spec.kind, campaign.SPECS[spec.kind].expect))
        elif label.startswith("heal ") and injections:
            injections[-1].healed_us = t_us - t0_us
    log = [(t - t0_us, bits, duty, tk) for t, bits, duty, tk in pen.hal.fault_log]
    sc = Scenario(name=f"campaign run {spec.index}", description="", seed=spec.seed, board=pen.board["name"],
                  pen={}, events=[], expect={}, path="", duration_us=int(tr["t_s"][-1] * 1e6) if tr["t_s"] else 0)
    return RunResult(sc, "closed-loop", tr, injections, log, pen.hal.violations, [], pen, wall,
                     tr["t_s"][-1] if tr["t_s"] else 0.0)


def describe(spec: campaign.RunSpec, plan: campaign.Plan | None = None) -> str:
    """The run's conditions in a line."""
    from boards.virtual import BOARD
    from sim import population
    pen = "the nominal pen" if spec.plant_kw is None else \
        f"pen {spec.pen} ({population.describe(dict(spec.plant_kw), BOARD)})"
    where = "in the air" if TISSUES.get(spec.tissue, 0.0) == 0.0 else f"in {spec.tissue}"
    return (f"run {spec.index}: {spec.kind} on {pen}, level {spec.level}, {spec.depth_um} µm {where}, "
            f"fault injected {0.4 + spec.inject_s:.3f} s after the start, seed {spec.seed}")


def outcome(row: dict[str, Any]) -> str:
    if row["first"] is None:
        what = "not provoked (the condition never held)" if row["not_provoked"] else "not detected"
    else:
        react = "duty on in the latching tick" if row["reaction_ticks"] is None else \
            f"reaction {row['reaction_ticks']} ticks"
        what = (f"{row['first']} latched {row['detect_ms']:.1f} ms after the onset (bound {row['bound_ms']:.0f} ms), "
                f"{react}")
    return what + ("; VIOLATIONS: " + row["violations"] if row["violations"] else "; no violations")


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} then, {b.get(k)!r} now" for k in campaign.ROW_COLUMNS if a.get(k) != b.get(k)]


def plot(rep: Replay, path: Path) -> Path:
    """The run's plot: sim/plot.py's figure, titled with the run, the onset
    of the detectable condition marked."""
    import matplotlib.pyplot as plt

    from sim import plot as simplot
    assert rep.trace is not None
    title = textwrap.fill(describe(rep.spec), 120) + "\n" + textwrap.fill(outcome(rep.row), 120)
    fig = simplot.figure(rep.trace, title=title)
    for t_us, label in rep.result.events:
        if label == "onset":
            x = (t_us - rep.t0_us) / 1e6
            for a in fig.axes:
                a.axvline(x, color="tab:purple", lw=1.0, ls="-.")
            fig.axes[0].text(x, 0, " onset", color="tab:purple", fontsize=8, va="bottom")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=simplot.DPI)
    plt.close(fig)
    return out
