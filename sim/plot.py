"""PNG plot of a run: stroke rate vs target with the skin contact shaded,
PWM duty, depth vs limit, motor current, temperature and battery with the
interlock's trip levels (from the board), injections and faults as vertical
lines labelled in a strip above the plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.runner import RunResult  # noqa: E402

DPI = 110
WIDTH_IN = 13


def _minutes(ts: list[float]) -> tuple[list[float], str]:
    if ts and ts[-1] > 180:
        return [t / 60 for t in ts], "time (min)"
    return ts, "time (s)"


def contact_spans(t: list[float], tissue: list[float]) -> list[tuple[float, float]]:
    """(start, end) of each stretch with the needles in skin, in the units of `t`."""
    spans: list[tuple[float, float]] = []
    start = None
    for i, x in enumerate(tissue):
        if x > 0 and start is None:
            start = t[i]
        elif x <= 0 and start is not None:
            spans.append((start, t[i]))
            start = None
    if start is not None and t:
        spans.append((start, t[-1]))
    return spans


def thresholds(board: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """The interlock's trip levels the plot draws, from the board definition
    (the values the firmware's interlock is parameterised with)."""
    oc = board["motor"]["overcurrent_ma"]
    temp = board["temperature"]["limit_c"]
    crit = board["battery"]["critical_mv"] / 1000
    return {
        "current_ma": (oc, f"overcurrent trip {oc:g} mA"),
        "temp_c": (temp, f"overtemp trip {temp:g} °C"),
        "battery_v": (crit, f"battery critical {crit:g} V"),
    }


def _threshold(a: Any, y: float, text: str, color: str) -> None:
    a.axhline(y, color=color, lw=1.0, ls="--")
    a.text(0.995, y, text, transform=a.get_yaxis_transform(), ha="right", va="bottom", fontsize=8, color=color,
           bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})


def _event_labels(a: Any, marks: list[tuple[float, str, str]], x0: float, x1: float, width_px: float,
                  rows: int) -> int:
    """Labels for injections and faults in the strip above the plots, each in
    the first row where it overlaps no other label (text width estimated
    from the font size); faults first, then injections, then heals.
    Returns how many did not fit."""
    span = (x1 - x0) or 1.0
    per_char = 8 * 0.62 * DPI / 72 / width_px * span            # 8 pt text, in data units
    pad = per_char
    taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    left_out = 0
    order = {"tab:red": 0, "tab:orange": 1}
    for x, text, color in sorted(marks, key=lambda m: (order.get(m[2], 2), m[0])):
        w = len(text) * per_char
        lo, hi, ha = (x + pad / 2, x + pad / 2 + w, "left") if x + pad + w <= x1 else (x - pad / 2 - w, x - pad / 2,
                                                                                       "right")
        for row in range(rows):
            if all(hi + pad < a0 or lo > a1 + pad for a0, a1 in taken[row]):
                taken[row].append((lo, hi))
                a.text(x + (pad / 2 if ha == "left" else -pad / 2), rows - 1 - row, text, ha=ha, va="center",
                       fontsize=8, color=color, weight="bold" if color == "tab:red" else "normal", zorder=5,
                       bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"})
                break
        else:
            left_out += 1
    return left_out


def plot(r: RunResult, path: str | Path, title: str | None = None) -> Path:
    fig = figure(r, title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def figure(r: RunResult, title: str | None = None) -> Figure:
    """The plot as a matplotlib Figure: axes[0] the event strip, then stroke
    rate, duty, depth, current, temperature, battery."""
    from pen import faults

    tr = r.trace
    t, xlabel = _minutes(tr["t_s"])
    scale = 60.0 if xlabel.endswith("(min)") else 1.0
    limits = thresholds(r.pen.board)
    rows = 4
    fig, ax = plt.subplots(7, 1, figsize=(WIDTH_IN, 13), sharex=True, layout="constrained",
                           gridspec_kw={"height_ratios": [0.7, 3, 1.3, 2, 1.5, 1.3, 1.3]})
    fig.suptitle(title or f"needlepen simulation: {r.scenario.name} ({r.controller})", fontsize=13)
    strip, data = ax[0], ax[1:]

    skin = contact_spans(t, tr["tissue"])
    for a in (data[0], data[2]):
        for x0, x1 in skin:
            a.axvspan(x0, x1, color="tab:red", alpha=0.10, lw=0)

    a = data[0]
    a.plot(t, tr["target_sps"], color="0.35", lw=1.2, label="target", drawstyle="steps-post")
    a.plot(t, tr["stroke_sps"], color="tab:blue", lw=0.6, label="stroke rate (plant)")
    a.plot(t, tr["rate_sps"], color="tab:orange", lw=0.5, alpha=0.7, label="measured (tach)")
    top = max([*tr["target_sps"], *tr["stroke_sps"], 50.0]) * 1.15
    a.set_ylim(0, top)
    a.set_ylabel("stroke rate\n(strokes/s)")
    handles, labels = a.get_legend_handles_labels()
    handles.append(Patch(color="tab:red", alpha=0.18, lw=0))
    labels.append("needles in skin")
    a.legend(handles, labels, loc="upper left", ncol=4, fontsize=8, framealpha=0.9)

    a = data[1]
    a.plot(t, [d / 655.35 for d in tr["duty"]], color="tab:purple", lw=0.6)
    a.set_ylim(-2, 102)
    a.set_ylabel("PWM duty\n(%)")

    a = data[2]
    a.plot(t, tr["limit_um"], color="tab:red", lw=1.0, label="active limit", drawstyle="steps-post")
    a.plot(t, tr["depth_target_um"], color="0.35", lw=1.0, ls="--", label="target", drawstyle="steps-post")
    a.plot(t, tr["depth_um"], color="tab:green", lw=0.8, label="measured")
    a.set_ylabel("needle depth\n(µm)")
    a.set_ylim(0, max([*tr["limit_um"], *tr["depth_um"], 500]) * 1.25)
    a.legend(loc="upper left", ncol=3, fontsize=8, framealpha=0.9)

    a = data[3]
    a.plot(t, tr["current_ma"], color="tab:brown", lw=0.5)
    y, text = limits["current_ma"]
    _threshold(a, y, text, "tab:red")
    a.set_ylim(min([*tr["current_ma"], 0]) - 50, max([*tr["current_ma"], y]) * 1.2)
    a.set_ylabel("motor current\n(mA)")

    a = data[4]
    a.plot(t, tr["temp_c"], color="tab:olive", lw=0.8)
    y, text = limits["temp_c"]
    _threshold(a, y, text, "tab:red")
    a.set_ylim(min([*tr["temp_c"], y]) - 5, max([*tr["temp_c"], y]) + 8)
    a.set_ylabel("motor temp.\n(°C)")

    a = data[5]
    volts = [v / 1000 for v in tr["battery_mv"]]
    a.plot(t, volts, color="tab:blue", lw=0.8)
    y, text = limits["battery_v"]
    _threshold(a, y, text, "tab:red")
    a.set_ylim(min([*volts, y]) - 0.3, max([*volts, y]) + 0.3)
    a.set_ylabel("battery\n(V)")
    a.set_xlabel(xlabel)

    marks: list[tuple[float, str, str]] = []
    for inj in r.injections:
        x = inj.t_us / 1e6 / scale
        marks.append((x, f"inject {inj.kind}", "tab:orange"))
        for a in ax:
            a.axvline(x, color="tab:orange", lw=1.0, ls="--")
        if inj.healed_us is not None:
            xh = inj.healed_us / 1e6 / scale
            marks.append((xh, f"heal {inj.kind}", "tab:green"))
            for a in ax:
                a.axvline(xh, color="tab:green", lw=1.0, ls=":")
    for t_us, bits, _duty, _tick in r.fault_log:
        x = t_us / 1e6 / scale
        marks.append((x, "FAULT " + ", ".join(faults.names(bits)), "tab:red"))
        for a in ax:
            a.axvline(x, color="tab:red", lw=1.2)

    x0, x1 = (t[0], t[-1]) if t else (0.0, 1.0)
    for a in ax:
        a.set_xlim(x0, x1)
        a.grid(alpha=0.25)
    strip.set_ylim(-0.6, rows - 0.4)
    strip.set_yticks([])
    strip.tick_params(axis="x", length=0)
    left_out = _event_labels(strip, marks, x0, x1, WIDTH_IN * DPI * 0.85, rows)
    strip.set_ylabel("events" + (f"\n+{left_out} not\nlabelled" if left_out else ""), rotation=0, ha="right",
                     va="center", fontsize=9 if left_out else None)
    if not marks:
        strip.text(0.5, 0.5, "no injections, no faults", transform=strip.transAxes, ha="center", va="center",
                   fontsize=8, color="0.4")
    fig.align_ylabels(ax)
    return fig


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
