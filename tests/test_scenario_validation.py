"""Scenario files are checked completely before anything runs: every bad value
is an error naming the file, the line, the key and what is valid (exit 2, one
line, no traceback), never clamped, never a hang.  Issue 12, items 9 and 13.

The table runs `needlepen sim` in-process with the simulator's run replaced by
a failure: a scenario that is wrongly accepted fails at once instead of
running (or hanging, as `at = 1e300` did)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import cli
from sim import runner, scenario

START = '[[event]]\nat = 1\ndo = "start"\n'

# (case, file text, line, text the error must contain: key, value and what is valid)
BAD: list[tuple[str, str, int, list[str]]] = [
    # [pen]
    ("level 9", "[pen]\nlevel = 9\n", 2, ["[pen] level = 9", "1..6"]),
    ("level 0", "[pen]\nlevel = 0\n", 2, ["[pen] level = 0", "1..6"]),
    ("level float", "[pen]\nlevel = 2.5\n", 2, ["level = 2.5", "whole number", "1..6"]),
    ("depth 5.0", '[pen]\nzone = "cheeks"\ndepth_mm = 5.0\n', 3, ["[pen] depth_mm = 5.0", "0.2 to 1.5 mm"]),
    ("depth -1", "[pen]\ndepth_mm = -1\n", 2, ["[pen] depth_mm = -1", "0.2 to 0.5 mm"]),
    ("depth over the zone cap", "[pen]\ndepth_mm = 1.0\n", 2, ["depth_mm = 1.0", "zone forehead"]),
    ("depth abc", '[pen]\ndepth_mm = "abc"\n', 2, ['[pen] depth_mm = "abc"', "not a number", "mm"]),
    ("depth inf", "[pen]\ndepth_mm = inf\n", 2, ["depth_mm = inf", "0.2 to 0.5 mm"]),
    ("depth nan", "[pen]\ndepth_mm = nan\n", 2, ["depth_mm = nan", "0.2 to 0.5 mm"]),
    ("depth off step", "[pen]\ndepth_mm = 0.33\n", 2, ["depth_mm = 0.33", "0.05 mm"]),
    ("profile", '[pen]\nprofile = "expert"\n', 2, ['[pen] profile = "expert"', "home, professional"]),
    ("zone list", '[pen]\nzone = ["cheeks"]\n', 2, ['zone = ["cheeks"]', "not a zone name", "cheeks"]),
    ("cartridge", '[pen]\ncartridge = "99-pin"\n', 2, ['cartridge = "99-pin"', "none, nano, 12-pin"]),
    ("battery", "[pen]\nbattery = 1.5\n", 2, ["battery = 1.5", "0 to 1"]),
    ("battery text", '[pen]\nbattery = "full"\n', 2, ['battery = "full"', "0 to 1"]),
    ("ambient", "[pen]\nambient_c = 500\n", 2, ["ambient_c = 500", "-20 to 60"]),
    ("awake", '[pen]\nawake = "yes"\n', 2, ['awake = "yes"', "true or false"]),
    ("pen unknown key", "[pen]\nspeed = 3\n", 2, ["[pen] unknown key 'speed'", "level"]),
    # [scenario]
    ("seed 1.5", "[scenario]\nseed = 1.5\n", 2, ["[scenario] seed = 1.5", "whole number", "0..4294967295"]),
    ("seed abc", '[scenario]\nseed = "abc"\n', 2, ['[scenario] seed = "abc"', "whole number"]),
    ("seed negative", "[scenario]\nseed = -1\n", 2, ["seed = -1", "0..4294967295"]),
    ("board parts", '[scenario]\nboard = "parts"\n', 2, ['[scenario] board = "parts"', "pen_rp2040", "virtual"]),
    ("board list", '[scenario]\nboard = ["virtual"]\n', 2, ['board = ["virtual"]', "not a board name"]),
    ("name list", '[scenario]\nname = ["a"]\n', 2, ['name = ["a"]', "not text"]),
    ("scenario unknown key", '[scenario]\nnmae = "x"\n', 2, ["[scenario] unknown key 'nmae'", "name"]),
    # times
    ("at 1:75", '[[event]]\nat = "1:75"\ndo = "start"\n', 2, ['at = "1:75"', "0..59"]),
    ("at -0:01", '[[event]]\nat = "-0:01"\ndo = "start"\n', 2, ['at = "-0:01"', "bad time", "m:ss"]),
    ("at 1:-30", '[[event]]\nat = "1:-30"\ndo = "start"\n', 2, ['at = "1:-30"', "bad time"]),
    ("at -5", '[[event]]\nat = -5\ndo = "start"\n', 2, ["at = -5", "not negative"]),
    ("at inf", '[[event]]\nat = inf\ndo = "start"\n', 2, ["at = inf", "finite"]),
    ("at nan", '[[event]]\nat = nan\ndo = "start"\n', 2, ["at = nan", "finite"]),
    ("at 1e300", '[[event]]\nat = 1e300\ndo = "start"\n', 2, ["at = 1e+300", "7200 s (2:00:00)"]),
    ("at exponent text", '[[event]]\nat = "1e3"\ndo = "start"\n', 2, ['at = "1e3"', "bad time"]),
    ("at TOML time", '[[event]]\nat = 00:01:30\ndo = "start"\n', 2, ["at = 00:01:30", "quote it"]),
    ("after too late", '[[event]]\nat = "1:59:00"\ndo = "start"\n[[event]]\nafter = "0:05:00"\ndo = "stop"\n', 5,
     ['after = "0:05:00"', "7200 s"]),
    ("duration 99999:00:00", '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = "99999:00:00"\n', 5,
     ['duration = "99999:00:00"', "7200 s (2:00:00)"]),
    ("duration inf", '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = inf\n', 5,
     ["duration = inf", "finite"]),
    ("duration 0", '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = 0\n', 5,
     ["duration = 0", "longer than 0 s"]),
    ("contact too short", '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = 9\ncontact = "0-1"\n', 6,
     ['contact = "0-1"', "at least 0.05 s"]),
    ("lift backwards", '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = 9\nlift = "2-1"\n', 6,
     ['lift = "2-1"', "backwards"]),
    ("end at 0", '[[event]]\nat = 0\ndo = "end"\n', 1, ["ends at 0 s"]),
    # events
    ("times 2.5", '[[event]]\nat = 1\ndo = "press"\nbutton = "power"\ntimes = 2.5\n', 5,
     ["event 1 (press) times = 2.5", "whole number", "1..1000"]),
    ("times 0", '[[event]]\nat = 1\ndo = "press"\nbutton = "power"\ntimes = 0\n', 5, ["times = 0", "1..1000"]),
    ("hold 0", '[[event]]\nat = 1\ndo = "press"\nbutton = "power"\nhold = 0\n', 5, ["hold = 0", "longer than 0 s"]),
    ("with itself", '[[event]]\nat = 1\ndo = "press"\nbutton = "power"\nwith = "power"\n', 5,
     ['with = "power"', "speed_up"]),
    ("button list", '[[event]]\nat = 1\ndo = "press"\nbutton = ["power"]\n', 4, ['button = ["power"]', "power"]),
    ("do list", '[[event]]\nat = 1\ndo = ["start"]\n', 3, ["'do' must be one of", "press"]),
    ("do missing", "[[event]]\nat = 1\n", 1, ["event 1: 'do' is missing", "press"]),
    ("tissue list", '[[event]]\nat = 1\ndo = "skin"\ntissue = ["cheek"]\n', 4, ['tissue = ["cheek"]', "cheek"]),
    ("set level 9", '[[event]]\nat = 1\ndo = "set"\nlevel = 9\n', 4, ["event 1 (set) level = 9", "1..6"]),
    ("set depth 5.0", '[[event]]\nat = 1\ndo = "set"\ndepth_mm = 5.0\n', 4, ["depth_mm = 5.0", "0.2 to 2.5 mm"]),
    ("set depth -1", '[[event]]\nat = 1\ndo = "set"\ndepth_mm = -1\n', 4, ["depth_mm = -1", "0.2 to 2.5 mm"]),
    ("set depth abc", '[[event]]\nat = 1\ndo = "set"\ndepth_mm = "abc"\n', 4, ['depth_mm = "abc"', "not a number"]),
    ("set depth inf", '[[event]]\nat = 1\ndo = "set"\ndepth_mm = inf\n', 4, ["depth_mm = inf", "0.2 to 2.5 mm"]),
    ("set zone", '[[event]]\nat = 1\ndo = "set"\nzone = "elbow"\n', 4, ['zone = "elbow"', "cheeks"]),
    ("set profile", '[[event]]\nat = 1\ndo = "set"\nprofile = 3\n', 4, ["profile = 3", "home, professional"]),
    ("fault value nan", '[[event]]\nat = 1\ndo = "fault"\nkind = "overheat"\nvalue = nan\n', 5,
     ["value = nan", "0 to 100 W"]),
    ("fault value range", '[[event]]\nat = 1\ndo = "fault"\nkind = "loop_overrun"\nvalue = 1e9\n', 5,
     ["value = 1000000000.0", "0 to 100000 us"]),
    ("fault value text", '[[event]]\nat = 1\ndo = "fault"\nkind = "jam"\nvalue = "lots"\n', 5,
     ['value = "lots"', "not a number", "0 to 0.5 N m"]),
    ("fault value not taken", '[[event]]\nat = 1\ndo = "fault"\nkind = "hang"\nvalue = 1\n', 5,
     ["value = 1", "takes no value"]),
    ("fault kind list", '[[event]]\nat = 1\ndo = "fault"\nkind = ["jam"]\n', 4, ['kind = ["jam"]', "jam"]),
    ("heal unknown", '[[event]]\nat = 1\ndo = "heal"\nkind = "gremlin"\n', 4, ['kind = "gremlin"', "jam"]),
    ("cartridge type", '[[event]]\nat = 1\ndo = "cartridge"\ntype = "99-pin"\n', 4, ['type = "99-pin"', "nano"]),
    ("cartridge used", '[[event]]\nat = 1\ndo = "cartridge"\ntype = "nano"\nused = 99999\n', 5,
     ["used = 99999", "3600 s"]),
    ("event key", '[[event]]\nat = 1\ndo = "start"\nlevel = 3\n', 4, ["'start' does not take 'level'"]),
    ("event table", '[event]\nat = 1\ndo = "start"\n', 1, ["[[event]]"]),
    # [expect]
    ("expect unknown fault", '[expect]\nfaults = ["gremlin"]\n', 2, ['faults = ["gremlin"]', "stall"]),
    ("expect faults text", '[expect]\nfaults = "stall"\n', 2, ['faults = "stall"', "a list of fault names"]),
    ("expect empty", "[expect]\nfaults = []\n", 2, ["faults = []", "a list of fault names"]),
    ("expect detect alone", "[expect]\ndetect_within_ms = 50\n", 2, ["detect_within_ms needs faults"]),
    ("expect detect nan", '[expect]\nfaults = ["stall"]\ndetect_within_ms = nan\n', 3,
     ["detect_within_ms = nan", "ms"]),
    ("expect contradiction", '[expect]\nfaults = ["stall"]\nno_faults = true\n', 3, ["contradicts faults"]),
    ("expect no_faults text", '[expect]\nno_faults = "yes"\n', 2, ['no_faults = "yes"', "true or false"]),
    ("expect rate", "[expect]\nmax_rate_error_pct = -1\n", 2, ["max_rate_error_pct = -1", "0 to 1000 %"]),
    ("expect unknown key", "[expect]\nfault = 1\n", 2, ["[expect] unknown key 'fault'", "faults"]),
    # sections
    ("unknown section", "[plant]\nx = 1\n", 1, ["unknown section [plant]"]),
    ("key outside a section", "seed = 3\n", 1, ["seed = 3 outside any section", "[scenario]"]),
    ("section not a table", "pen = 3\n", 1, ["[pen] must be a table"]),
    ("not TOML", "[[event]\nat = 1\n", 1, ["not valid TOML"]),
]


def _must_not_run(*a: object, **k: object) -> None:
    raise AssertionError("the scenario was accepted and would have run")


def sim_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["sim", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,line,parts", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_scenario_is_one_line_with_file_line_key_and_valid_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        text: str, line: int, parts: list[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    monkeypatch.setattr(runner, "run", _must_not_run)
    code, out, err = sim_in_process(capsys, str(f), "--no-plot", "--quiet")
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"needlepen sim: {f}:{line}: "), err
    for p in parts:
        assert p in lines[0], (p, err)
    assert "Traceback" not in err


def test_the_table_covers_a_hundred_cases_with_the_other_files() -> None:
    assert len(BAD) >= 70


@pytest.mark.parametrize("name,content,parts", [
    ("nonutf8.toml", b'[pen]\nzone = "\xff"\n', [":2: not UTF-8 text (byte 0xff)"]),
    ("binary.toml", b"\x89PNG\r\n\x1a\n\x00\x00", ["binary file"]),
    ("latin1.toml", b'[scenario]\nname = "caf\xe9"\n', [":2: not UTF-8"]),
])
def test_files_that_are_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch, name: str, content: bytes,
                                 parts: list[str]) -> None:
    f = tmp_path / name
    f.write_bytes(content)
    monkeypatch.setattr(runner, "run", _must_not_run)
    code, _, err = sim_in_process(capsys, str(f), "--no-plot")
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"needlepen sim: {f}"), err
    for p in parts:
        assert p in err


def test_a_directory_a_device_and_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "run", _must_not_run)
    for arg, text in ((str(tmp_path), "is a directory"), ("/dev/zero", "not a regular file"),
                      ("", "no scenario given"), ("no_such_scenario", "no such scenario")):
        code, _, err = sim_in_process(capsys, arg, "--no-plot")
        assert code == 2 and len(err.splitlines()) == 1 and text in err, (arg, err)


def test_a_bom_is_fine_and_every_key_accepted(tmp_path: Path) -> None:
    """Valid values of every key load (the checks are not stricter than the format)."""
    f = tmp_path / "all.toml"
    f.write_text("\ufeff" + """
[scenario]
name = "everything"
description = "every key"
seed = 4294967295
board = "pen_rp2040"
[pen]
cartridge = "36-pin"
zone = "scars"
profile = "professional"
level = 6
depth_mm = 1.5
battery = 0
ambient_c = -20
awake = false
[expect]
faults = ["stall", "overcurrent"]
detect_within_ms = 100
max_rate_error_pct = 5
[[event]]
at = "0:00.5"
do = "press"
button = "power"
with = "depth_down"
hold = 2
gap = 0
times = 1000
[[event]]
after = "1:00:00"
do = "pass"
tissue = "scar"
duration = "0:30"
contact = "0.05-2"
lift = 0
[[event]]
at = "1:59:59.5"
do = "set"
level = 1
depth_mm = 2.5
zone = "body"
profile = "home"
[[event]]
at = 10
do = "fault"
kind = "loop_overrun"
value = 100000
for = 2.5
[[event]]
at = 12
do = "heal"
kind = "jam"
[[event]]
at = 13
do = "cartridge"
type = "nano"
used = "1:00:00"
[[event]]
at = "2:00:00"
do = "end"
""", encoding="utf-8")
    sc = scenario.load(str(f))
    assert sc.board == "pen_rp2040" and sc.seed == 2**32 - 1
    assert sc.duration_us == 7200 * 10**6
    assert sc.events[0].args["times"] == 1000 and sc.events[0].args["gap"] == 0
    fault = next(e for e in sc.events if e.kind == "fault")
    assert fault.args["value"] == 100000 and fault.args["for"] == 2.5


@pytest.mark.parametrize("text,seconds", [
    ("7", 7), (90, 90), (1.5, 1.5), ("1.0", 1), ("0:00.5", 0.5), ("1:30", 90), ("0:59.9", 59.9),
    ("1:00:00", 3600), ("90:00", 5400), (" 0:03 ", 3), (".5", 0.5),
])
def test_times_that_are_valid(text: object, seconds: float) -> None:
    assert scenario.parse_time(text) == pytest.approx(seconds)


def test_every_shipped_scenario_still_loads() -> None:
    for p in scenario.shipped():
        sc = scenario.load(str(p))
        assert 0 < sc.duration_us <= scenario.MAX_DURATION_S * 10**6, p


@pytest.mark.parametrize("text", ['[[event]]\nat = 1e300\ndo = "start"\n',
                                  '[[event]]\nat = 1\ndo = "pass"\ntissue = "cheek"\nduration = "99999:00:00"\n'])
def test_what_hung_is_refused_at_once(tmp_path: Path, text: str) -> None:
    """As a user runs it: a process, bounded in time (these hung before)."""
    f = tmp_path / "long.toml"
    f.write_text(text)
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "sim", str(f), "--no-plot"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "2:00:00" in r.stderr and r.stdout == ""
