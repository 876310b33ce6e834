"""bench/chip.py, short: the firmware's real-time budget on the emulated
RP2040 (../shared/rp2040-emulator) with few repetitions and one simulated
second of the loop (tick in a hard timer interrupt, background as
App._serve).  Checks that the report parses and that the loop held its
period: every tick ran, no overrun, no missed period, jitter under 100 us,
no fault, no watchdog trigger.  About 10-15 s wall."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tools import ROOT

BENCH = ROOT / "bench" / "chip.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_chip", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


chip = _load()
_MISSING = chip.missing_requirements()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"bench/chip.py cannot run here: {_MISSING}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("chip") / "report.json"
    r = subprocess.run([sys.executable, str(BENCH), "--seconds", "1", "--plain-seconds", "1", "--host-seconds", "0",
                        "--running-seconds", "0", "--reps", "10", "--markdown", "--json", str(out)],
                       capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return json.loads(Path(out).read_text()), r.stdout


def test_report_has_every_part(run: tuple[dict[str, Any], str]) -> None:
    report, _ = run
    assert report["setup"]["board"] == "pen-rp2040-irqtach"
    assert report["setup"]["port"] == "rp2" and report["setup"]["period_us"] == 1000
    names = {c["name"] for c in report["costs"]}
    for want in ("control step, motor idle", "Scheduler.tick(), motor idle", "viper tick (pen.tick.tick)",
                 "App._ui_task", "App._link_task, nothing to do", "App._fault_task, typical beat",
                 "protocol `status`", "App._memory_task (gc.collect)", "App.save(), settings changed"):
        assert want in names, f"{want} not measured; got {sorted(names)}"
    assert report["problems"] == [], report["problems"]
    step = next(c for c in report["costs"] if c["name"] == "control step, motor idle")
    assert 0 < step["median"] <= step["max"] < 1000, step
    assert report["irq"]["per_tick_us"] > 0
    assert any(r["context"] == "tick" for r in report["budget"])
    assert any(r["context"] == "background" for r in report["budget"])


def test_loop_holds_its_period(run: tuple[dict[str, Any], str]) -> None:
    report, _ = run
    (loop,) = [lp for lp in report["loops"] if lp["label"] == "idle"]
    for phase in (loop, loop["plain"]):                        # instrumented, then as App.run runs it
        s = phase["sched"]
        assert s["irq"] is True
        assert s["ticks"] >= 0.99 * phase["sim_us"] / 1000, s   # the timer never stopped
        assert s["overruns"] == 0 and s["missed"] == 0 and s["clock_jumps"] == 0, s
        assert s["jitter_us"] is not None and s["jitter_us"] < 100, s
        assert not s["overrun_fault"], s
        assert 0 <= phase["idle_share"] < 1
    assert loop["probe"]["ticks"] == loop["sched"]["ticks"]     # the probe saw every tick
    assert loop["probe"]["period_dev"]["max"] < 100
    assert loop["faults"] == 0 and loop["state"] == 0, loop
    assert loop["tasks"]["_ui_task"]["n"] > 0
    assert report["kit"]["watchdog_triggers"] == 0


def test_markdown_tables(run: tuple[dict[str, Any], str]) -> None:
    _, stdout = run
    assert ("| task | runs every | isolated median | isolated max | in the loop median | in the loop max | "
            "median of slot | max of slot | CPU share |") in stdout
    assert "| run | ticks | period min..max | jitter |" in stdout
