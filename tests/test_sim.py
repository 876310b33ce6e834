"""The simulator: fault scenarios stop the motor in the tick that detects the
fault, summaries carry the right numbers, runs are reproducible, and bad
scenario files get errors that say where and what."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pen import tick as T
from sim import runner, scenario, summary

FAULT_SCENARIOS = sorted(p.stem for p in (scenario.SCENARIO_DIR / "faults").glob("*.toml"))


def run(name: str, **kw: object) -> tuple[runner.RunResult, dict]:
    r = runner.run(scenario.load(name), **kw)  # type: ignore[arg-type]
    return r, summary.summarize(r)


@pytest.mark.parametrize("name", FAULT_SCENARIOS)
def test_fault_scenario(name: str) -> None:
    r, s = run(name)
    exp = r.scenario.expect
    # never a tick with the motor driven while a fault is latched
    assert s["duty_while_faulted_ticks"] == 0
    if exp.get("no_faults"):
        assert s["faults"] == [], s["faults"]
        worst = max(st["p95_abs_pct"] for row in s["stroke_rate"].values() for st in row.values())
        assert worst <= exp["max_rate_error_pct"], worst
        return
    assert s["faults"], f"{name}: no fault latched"
    first = s["faults"][0]
    assert first["fault"] in exp["faults"], (first, exp)
    assert first["injected"] is not None
    assert 0 <= first["detect_ms"] <= exp["detect_within_ms"], first
    # PWM duty 0 in the tick that latched it
    assert first["motor_off_ticks"] == 0
    # latched to the end: nothing cleared it, the motor stayed off
    assert s["faults_at_end"], "the fault must stay latched until cleared"
    assert r.trace["state"][-1] == T.ST_FAULT
    t_fault = first["t_s"]
    after = [d for t, d in zip(r.trace["t_s"], r.trace["duty"]) if t > t_fault + 0.011]
    assert after and max(after) == 0


def test_every_injectable_fault_has_a_scenario() -> None:
    from sim.faults import KINDS
    used = set()
    for name in FAULT_SCENARIOS:
        for ev in scenario.load(name).events:
            if ev.kind == "fault":
                used.add(ev.args["kind"])
    assert used >= set(KINDS) - {"heal"}, set(KINDS) - used


def test_treatment_summary_numbers() -> None:
    """A short cheek session: stroke rate within 2 % in skin, depth at the
    request and inside the limit, energy and battery consistent."""
    text = """
[scenario]
name = "cheek-pass"
seed = 2
[pen]
cartridge = "12-pin"
zone = "cheeks"
level = 4
depth_mm = 1.0
battery = 0.9
[[event]]
at = "0:01"
do = "press"
button = "power"
[[event]]
after = "0:01"
do = "pass"
tissue = "cheek"
duration = "0:20"
[[event]]
after = "0:01"
do = "press"
button = "power"
"""
    sc = scenario.build(__import__("tomllib").loads(text), text, "cheek-pass.toml")
    r = runner.run(sc)
    s = summary.summarize(r)
    skin = s["stroke_rate"]["4"]["skin"]
    assert skin["samples"] > 500
    assert abs(skin["mean_pct"]) < 0.5 and skin["p95_abs_pct"] < 2.0
    assert 19 < s["pen_time_s"] < 23
    d = s["depth"]
    assert d["max_target_um"] == 1000 and d["target_beyond_limit_samples"] == 0
    assert 950 <= d["max_um"] <= 1100          # the actuator holds 1.0 mm
    assert s["faults"] == [] and s["faults_at_end"] == []
    assert 10 < s["energy_j"] < 200
    assert 89.0 < s["battery_left_pct"] < 90.0
    assert s["cartridge_use_s"] in (20, 21, 22)
    assert s["scheduler"]["overruns"] == 0


def test_closed_loop_beats_open_loop_under_skin_load() -> None:
    sc = scenario.load("load_steps")
    sc.duration_us = 25_000_000                # levels 1 and 2 only: keep it quick
    closed = summary.summarize(runner.run(sc))
    open_ = summary.summarize(runner.run(scenario.load("load_steps"), controller="open-loop"))
    c, o = closed["stroke_rate"]["1"]["skin"], open_["stroke_rate"]["1"]["skin"]
    assert c["p95_abs_pct"] < 2.0
    assert o["p95_abs_pct"] > 5 * c["p95_abs_pct"]
    assert o["mean_pct"] < -5                  # the baseline sags in skin


def test_identical_seed_identical_trace() -> None:
    sc = scenario.load("tach_noise")
    a = runner.run(sc).trace
    b = runner.run(scenario.load("tach_noise")).trace
    assert a == b
    sc2 = scenario.load("tach_noise")
    sc2.seed += 1
    c = runner.run(sc2).trace
    assert c["stroke_sps"] != a["stroke_sps"]


def test_default_scenario_is_a_half_hour_session() -> None:
    sc = scenario.load("default")
    assert 30 * 60e6 < sc.duration_us < 45 * 60e6
    passes = [e for e in sc.events if e.kind == "pass"]
    tissues = {e.args["tissue"] for e in passes}
    assert tissues == {"forehead", "cheek", "nose", "chin"}
    pen_time = sum(e.args["duration"] for e in passes)
    assert 28 * 60 <= pen_time <= 35 * 60


def test_default_scenario_first_minutes() -> None:
    """The first minutes of the default session (the CLI runs all of it)."""
    sc = scenario.load("default")
    sc.duration_us = 150_000_000
    r = runner.run(sc)
    s = summary.summarize(r)
    assert s["faults"] == []
    assert s["stroke_rate"]["3"]["skin"]["p95_abs_pct"] < 2.0
    assert s["depth"]["max_target_um"] == 500     # forehead


# ---- malformed scenarios ---------------------------------------------------------

BAD = [
    ("[[event]]\nat = 1\ndo = \"jump\"\n", ":3: event 1: 'do' must be one of"),
    ("[pen]\nlevel = 2\n\n[[event]]\nat = 1\ndo = \"press\"\n", ":4: event 1 (press): 'press' needs 'button'"),
    ("[[event]]\nat = 1\ndo = \"press\"\nbutton = \"reset\"\n", ':4: event 1 (press) button = "reset": unknown button'),
    ("[[event]]\nat = \"1:x\"\ndo = \"start\"\n", ':2: event 1 (start) at = "1:x": bad time'),
    ("[[event]]\nat = 1\nafter = 2\ndo = \"start\"\n", "exactly one of 'at'"),
    ("[[event]]\nat = 1\ndo = \"skin\"\ntissue = \"wood\"\n", 'tissue = "wood": unknown tissue'),
    ("[[event]]\nat = 1\ndo = \"fault\"\nkind = \"gremlin\"\n", 'kind = "gremlin": unknown fault'),
    ("[[event]]\nat = 1\ndo = \"start\"\nlevel = 3\n", ":4: event 1 (start): 'start' does not take 'level'"),
    ("[pen]\nzone = \"elbow\"\n", ':2: [pen] zone = "elbow": unknown zone'),
    ("[expect]\nfaults = [\"gremlins\"]\n", ':2: [expect] faults = ["gremlins"]: unknown fault "gremlins"'),
    ("[penn]\nlevel = 1\n", ":1: unknown section [penn]"),
    ("[[event]\nat = 1\n", "not valid TOML"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_malformed_scenario_errors_say_where_and_what(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.load(str(f))
    assert str(f) in str(e.value)
    assert message in str(e.value)


def test_missing_scenario_file() -> None:
    with pytest.raises(scenario.ScenarioError, match="no such scenario"):
        scenario.load("no_such_thing")


# ---- command line ----------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host_tools.cli", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_writes_plot_trace_and_json(tmp_path: Path) -> None:
    png, csv, js = tmp_path / "p.png", tmp_path / "t.csv", tmp_path / "s.json"
    r = cli("sim", "tach_lost", "--plot", str(png), "--trace", str(csv), "--json", str(js))
    assert r.returncode == 0, r.stderr
    assert "stall" in r.stdout and "same tick" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("t_s,state,level,target_sps")
    assert 650 < len(lines) < 760                  # 7 s at one row per 10 ms
    import json
    data = json.loads(js.read_text())
    assert data["faults"][0]["fault"] == "stall"


def test_cli_lists_scenarios_and_reports_bad_ones(tmp_path: Path) -> None:
    r = cli("sim", "--list")
    assert r.returncode == 0 and "default" in r.stdout and "stall_jam" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[event]]\nat = 1\ndo = \"jump\"\n")
    r = cli("sim", str(bad))
    assert r.returncode == 2
    assert f"{bad}:3:" in r.stderr and "'do' must be one of" in r.stderr


# ---- [expect], outputs and plots (issue 12: items 9, 10, 11, 13) -------------------

SHORT = """
[scenario]
name = "short"
seed = 2
[pen]
zone = "cheeks"
level = 4
depth_mm = 1.0
{expect}
[[event]]
at = 0.5
do = "start"
[[event]]
at = 1
do = "pass"
tissue = "cheek"
duration = 2.5
contact = "1-1.5"
lift = "0.2-0.4"
{more}
[[event]]
at = 4
do = "end"
"""


def short(tmp_path: Path, expect: str = "", more: str = "", name: str = "short.toml") -> Path:
    f = tmp_path / name
    f.write_text(SHORT.format(expect=expect, more=more))
    return f


def sim_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from host_tools import cli as cli_mod
    code = cli_mod.main(["sim", *args, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def _must_not_run(*a: object, **k: object) -> None:
    raise AssertionError("the run started although an option was bad")


def test_expected_fault_that_never_came_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = short(tmp_path, '[expect]\nfaults = ["stall"]\ndetect_within_ms = 50\n')
    code, out, err = sim_main(capsys, str(f), "--no-plot")
    assert code == 1, err
    assert "scenario short" in out and "faults: none" in out
    assert "expect: FAILED  faults: expected a fault (one of stall); none latched" in err
    assert "expect: FAILED  detect_within_ms: no fault latched" in err
    assert "Traceback" not in err


def test_expectations_that_hold_say_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sim_main(capsys, "tach_lost", "--no-plot")
    assert code == 0, err
    assert "expect: ok      faults: first fault stall at 3.0" in out
    assert "expect: ok      detect_within_ms: stall " in out and "(limit 60 ms)" in out
    assert "FAILED" not in out + err


def test_no_faults_and_rate_error_expectations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = short(tmp_path, "[expect]\nno_faults = true\nmax_rate_error_pct = 50\n")
    code, out, err = sim_main(capsys, str(f), "--no-plot")
    assert code == 0, err
    assert "expect: ok      no_faults: no fault latched" in out
    assert "expect: ok      max_rate_error_pct: worst steady-state p95 stroke-rate error" in out
    f = short(tmp_path, "[expect]\nno_faults = true\nmax_rate_error_pct = 0.0001\n",
              '[[event]]\nat = 2\ndo = "fault"\nkind = "tach_open"\n')
    code, out, err = sim_main(capsys, str(f), "--no-plot")
    assert code == 1
    assert "expect: FAILED  no_faults: expected no fault; stall latched" in err
    assert "expect: FAILED  max_rate_error_pct: worst steady-state p95" in err


def test_a_wrong_first_fault_and_a_slow_detection_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = short(tmp_path, '[expect]\nfaults = ["overtemp"]\ndetect_within_ms = 1\n',
              '[[event]]\nat = 2\ndo = "fault"\nkind = "tach_open"\n')
    code, _, err = sim_main(capsys, str(f), "--no-plot")
    assert code == 1
    assert "expect: FAILED  faults: first fault stall at 2.0" in err and "expected one of overtemp" in err
    assert "expect: FAILED  detect_within_ms: stall " in err and "(limit 1 ms)" in err


def test_json_dash_is_json_on_stdout_and_the_summary_on_stderr(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import json
    monkeypatch.chdir(tmp_path)

    def no_nan(x: str) -> None:
        raise ValueError(f"{x} is not JSON")

    code, out, err = sim_main(capsys, "tach_lost", "--no-plot", "--json", "-")
    assert code == 0, err
    data = json.loads(out, parse_constant=no_nan)          # stdout: exactly one strict JSON document
    assert data["faults"][0]["fault"] == "stall"
    assert [e["ok"] for e in data["expect"]] == [True, True]
    assert "scenario tach_lost" in err and "expect: ok" in err
    assert not (tmp_path / "-").exists() and list(tmp_path.iterdir()) == []


def test_open_loop_and_closed_loop_plots_do_not_collide(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    f = short(tmp_path, name="steps.toml")
    assert sim_main(capsys, str(f))[0] == 0
    code, out, _ = sim_main(capsys, str(f), "--controller", "open-loop")
    assert code == 0 and "plot: out/steps.open-loop.png" in out
    closed, open_ = tmp_path / "out" / "steps.png", tmp_path / "out" / "steps.open-loop.png"
    assert closed.stat().st_size > 20000 and open_.stat().st_size > 20000
    assert closed.read_bytes() != open_.read_bytes()


def test_summary_says_n_a_not_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "idle.toml"
    f.write_text('[[event]]\nat = 1\ndo = "end"\n')        # the motor never runs: no margin while running
    code, out, err = sim_main(capsys, str(f), "--no-plot")
    assert code == 0, err
    assert "None" not in out
    assert "smallest margin to the limit while running: n/a" in out
    assert " um" not in out and "µm" in out and "°C" in out


@pytest.mark.parametrize("args,phrase", [
    (["--json", "{tmp}"], "--json {tmp}: is a folder"),
    (["--trace", "{tmp}"], "--trace {tmp}: is a folder"),
    (["--plot", "{tmp}"], "--plot {tmp}: is a folder"),
    (["--plot", "{tmp}/file/p.png"], "{tmp}/file is a file, not a folder"),
    (["--json", "{tmp}/file/deeper/s.json"], "{tmp}/file is a file, not a folder"),
    (["--trace", "{tmp}/file/t.csv"], "{tmp}/file is a file, not a folder"),
    (["--plot", "-"], "--plot -: --plot writes a file"),
    (["--trace", "-"], "--trace -: --trace writes a file"),
    (["--plot", "{tmp}/p.xyz"], "no plot format '.xyz'; use one of:"),
    (["--trace", "{tmp}/a.csv", "--json", "{tmp}/a.csv"], "--trace and --json both write"),
    (["--plot", "{tmp}/p.png", "--no-plot"], "--plot and --no-plot contradict"),
    (["--trace-ms", "0"], "--trace-ms 0: out of range; give 1..60000"),
    (["--seed", "-1"], "--seed -1: out of range"),
])
def test_bad_outputs_are_refused_before_the_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        args: list[str], phrase: str) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    monkeypatch.setattr(runner, "run", _must_not_run)
    before = sorted(tmp_path.rglob("*"))
    code, out, err = sim_main(capsys, "tach_lost", *(a.format(tmp=tmp_path) for a in args))
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("needlepen sim: "), err
    assert phrase.format(tmp=tmp_path) in err
    assert out == "" and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before                  # nothing left behind


def test_a_closed_stdout_is_left_to_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """BrokenPipeError from `sim --list | head -1` or `--json - | head` reaches
    host_tools.cli.main (which ends quietly), not a 'cannot write' error."""
    from host_tools import cli as cli_mod

    class Closed:
        encoding = "utf-8"

        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    for argv in (["sim", "--list"], ["sim", "tach_lost", "--no-plot", "--quiet", "--json", "-"]):
        args = cli_mod.build_parser().parse_args(argv)
        monkeypatch.setattr(sys, "stdout", Closed())
        with pytest.raises(BrokenPipeError):
            args.run(args)
        monkeypatch.undo()


def test_sim_list_into_head_ends_quietly() -> None:
    r = subprocess.run(f"{sys.executable} -m host_tools.cli sim --list | head -1", shell=True, capture_output=True,
                       text=True, timeout=120)
    assert r.stdout.startswith("default ") and len(r.stdout.splitlines()) == 1
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr


# ---- the plot ---------------------------------------------------------------------------

def _figure(name: str, **board: int) -> tuple[runner.RunResult, object]:
    import copy

    from sim import plot
    r = runner.run(scenario.load(name))
    r.pen.board = copy.deepcopy(r.pen.board)             # never the shared board definition
    for section, key, value in (("motor", "overcurrent_ma", board.get("oc")),
                                ("temperature", "limit_c", board.get("temp")),
                                ("battery", "critical_mv", board.get("crit"))):
        if value is not None:
            r.pen.board[section][key] = value
    return r, plot.figure(r)


def test_plot_shades_skin_contact_and_labels_the_board_thresholds() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon, Rectangle

    from sim import plot
    r, fig = _figure("stall_jam", oc=1777, temp=63, crit=6150)
    axes = fig.axes                                      # type: ignore[attr-defined]
    rate, depth = axes[1], axes[3]
    # skin contact: shaded spans over time, not a line on the stroke-rate axis
    assert not [ln for ln in rate.get_lines() if ln.get_label() == "needles in skin"]
    spans = plot.contact_spans(r.trace["t_s"], r.trace["tissue"])
    assert len(spans) >= 2
    shaded = [p for p in rate.patches if isinstance(p, Polygon | Rectangle)]
    assert len(shaded) == len(spans)
    assert "needles in skin" in [t.get_text() for t in rate.get_legend().get_texts()]
    # thresholds from the board (changed above), labelled, dashed
    texts = [t.get_text() for a in axes for t in a.texts]
    for label in ("overcurrent trip 1777 mA", "overtemp trip 63 °C", "battery critical 6.15 V"):
        assert label in texts, texts
    dashed = [ln for a in axes[4:] for ln in a.get_lines() if ln.get_linestyle() == "--"
              and ln.get_ydata()[0] in (1777, 63, 6.15)]
    assert len(dashed) == 3
    # units
    labels = " ".join(a.get_ylabel() for a in axes)
    assert "(µm)" in labels and "(°C)" in labels and "um)" not in labels and "strokes/s" in labels
    assert depth.get_ylabel() == "needle depth\n(µm)"
    plt.close(fig)                                       # type: ignore[arg-type]


def test_fault_plot_labels_do_not_overlap(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt
    f = tmp_path / "crowded.toml"
    f.write_text(SHORT.format(expect="", more="\n".join(
        f'[[event]]\nat = {2 + i * 0.05:.2f}\ndo = "fault"\nkind = "{k}"\n'
        for i, k in enumerate(["tach_noise", "jitter", "missing_pulses", "current_open", "depth_open"]))))
    from sim import plot
    r = runner.run(scenario.load(str(f)))
    assert r.fault_log and len(r.injections) == 5
    fig = plot.figure(r)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()                # type: ignore[attr-defined]
    strip = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in strip.texts]
    assert len(boxes) >= 3
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    strip_box = strip.get_window_extent(renderer)
    for b in boxes:                                      # inside the strip, over no data axes
        assert strip_box.x0 - 1 <= b.x0 and b.x1 <= strip_box.x1 + 1 and strip_box.y0 - 1 <= b.y0
        assert b.y1 <= strip_box.y1 + 1
    texts = [t.get_text() for t in strip.texts]
    assert any(t.startswith("FAULT ") for t in texts), texts        # the fault is labelled first
    plt.close(fig)
