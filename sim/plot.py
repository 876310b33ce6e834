"""PNG plot of a run: stroke rate vs target, PWM duty, depth vs limit,
motor current, temperature and battery, with fault and injection markers."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sim.runner import RunResult  # noqa: E402


def _minutes(ts: list[float]) -> tuple[list[float], str]:
    if ts and ts[-1] > 180:
        return [t / 60 for t in ts], "time (min)"
    return ts, "time (s)"


def plot(r: RunResult, path: str | Path, title: str | None = None) -> Path:
    tr = r.trace
    t, xlabel = _minutes(tr["t_s"])
    scale = 60.0 if xlabel.endswith("(min)") else 1.0
    fig, ax = plt.subplots(5, 1, figsize=(13, 11), sharex=True,
                           gridspec_kw={"height_ratios": [3, 1.4, 2, 1.6, 1.6]})
    fig.suptitle(title or f"needlepen simulation: {r.scenario.name} ({r.controller})", fontsize=13)

    a = ax[0]
    a.plot(t, tr["target_sps"], color="0.35", lw=1.2, label="target", drawstyle="steps-post")
    a.plot(t, tr["stroke_sps"], color="tab:blue", lw=0.6, label="stroke rate (plant)")
    a.plot(t, tr["rate_sps"], color="tab:orange", lw=0.5, alpha=0.7, label="measured (tach)")
    top = max([*tr["target_sps"], 50.0]) * 1.25
    skin = [top * 0.04 if x > 0 else float("nan") for x in tr["tissue"]]
    a.plot(t, skin, color="tab:red", lw=3, solid_capstyle="butt", label="needles in skin")
    a.set_ylim(0, top)
    a.set_ylabel("strokes / s")
    a.legend(loc="upper left", ncol=4, fontsize=8, framealpha=0.9)

    a = ax[1]
    a.plot(t, [d / 655.35 for d in tr["duty"]], color="tab:purple", lw=0.6)
    a.set_ylim(-2, 102)
    a.set_ylabel("PWM duty %")

    a = ax[2]
    a.plot(t, tr["limit_um"], color="tab:red", lw=1.0, label="active limit", drawstyle="steps-post")
    a.plot(t, tr["depth_target_um"], color="0.35", lw=1.0, ls="--", label="target", drawstyle="steps-post")
    a.plot(t, tr["depth_um"], color="tab:green", lw=0.8, label="measured")
    a.set_ylabel("needle depth um")
    a.set_ylim(0, max([*tr["limit_um"], *tr["depth_um"], 500]) * 1.15)
    a.legend(loc="upper left", ncol=3, fontsize=8, framealpha=0.9)

    a = ax[3]
    a.plot(t, tr["current_ma"], color="tab:brown", lw=0.5)
    a.axhline(r.pen.board["motor"]["overcurrent_ma"], color="tab:red", lw=0.8, ls=":")
    a.set_ylabel("motor mA")

    a = ax[4]
    a.plot(t, tr["temp_c"], color="tab:red", lw=0.8, label="motor C")
    a.axhline(r.pen.board["temperature"]["limit_c"], color="tab:red", lw=0.8, ls=":")
    a.set_ylabel("motor C")
    b = a.twinx()
    b.plot(t, [v / 1000 for v in tr["battery_mv"]], color="tab:blue", lw=0.8)
    b.axhline(r.pen.board["battery"]["critical_mv"] / 1000, color="tab:blue", lw=0.8, ls=":")
    b.set_ylabel("battery V", color="tab:blue")
    a.set_xlabel(xlabel)

    for inj in r.injections:
        x = inj.t_us / 1e6 / scale
        for a in ax:
            a.axvline(x, color="tab:orange", lw=1.0, ls="--")
        ax[0].annotate(f"inject {inj.kind}", (x, top * 0.93), fontsize=8, color="tab:orange",
                       rotation=90, va="top", ha="right")
    from pen import faults
    for t_us, bits, _duty, _tick in r.fault_log:
        x = t_us / 1e6 / scale
        for a in ax:
            a.axvline(x, color="tab:red", lw=1.2)
        ax[0].annotate("FAULT " + ", ".join(faults.names(bits)), (x, top * 0.93), fontsize=8, color="tab:red",
                       rotation=90, va="top", ha="left", weight="bold")
    for a in ax:
        a.grid(alpha=0.25)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_csv(r: RunResult, path: str | Path) -> Path:
    from sim.runner import TRACE_COLUMNS
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    cols = [r.trace[c] for c in TRACE_COLUMNS]
    with out.open("w") as f:
        f.write(",".join(TRACE_COLUMNS) + "\n")
        for row in zip(*cols):
            f.write(",".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + "\n")
    return out
