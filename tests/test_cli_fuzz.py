"""Bad input to every `needlepen` subcommand: bad flags and values, paths that
are missing, files, directories or unwritable, ports that are missing, busy,
silent, answer garbage or go away mid-session, console scripts that are not
UTF-8 or wait forever.  For each: the documented exit code (2: usage, or a
pen that cannot be reached; 1: the pen refused), stderr ending in one line
`needlepen ...: ...` without a traceback, and an answer within a bounded time.

The cases run in this process through host_tools.cli.main, with the waits
for a silent pen shortened (ANSWER_S, QUIET_S, PROBE_S, RAW_S); a few run as
a user runs them, in a subprocess with the real waits.  The pen is a fake
one on a pty (tests/fakepen.py), never the slow real virtual pen.
Scenario files' own errors are tested with sim/scenario.py (tests/test_sim.py);
here only a few, for the command's path through them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fakepen import FakePen, run_cli

from host_tools import deploy as deploy_mod
from host_tools import link as link_mod
from host_tools import ports
from host_tools.link import PenLink

BOUND_S = 25.0           # in-process, shortened waits: each case answers well within this

# (args, stdin, exit code).  Placeholders in args:
#   {pen} a fake pen that answers   {silent} says nothing   {garbage} answers noise
#   {busy} a pen another needlepen holds   {dies:CMD} goes away on CMD, before answering
#   {missing} no such port   {file} a regular file   {dir} a directory   {tmp} a new path
#   {ro} a path nobody can write (under /proc)   {sc:NAME} a scenario file (SCENARIOS)
CASES: list[tuple[list[str], bytes, int]] = [
    # ---- the command line itself
    (["--bogus"], b"", 2),
    (["nosuchcommand"], b"", 2),
    (["--version=1"], b"", 2),
    (["-x"], b"", 2),
    # ---- sim (flags; the scenario format's own cases are in test_sim.py)
    (["sim", "--controller", "nope"], b"", 2),
    (["sim", "--trace-ms", "0"], b"", 2),
    (["sim", "--trace-ms", "abc"], b"", 2),
    (["sim", "--trace-ms", "-5"], b"", 2),
    (["sim", "--seed", "1.5"], b"", 2),
    (["sim", "--seed", "abc"], b"", 2),
    (["sim", "no_such_scenario"], b"", 2),
    (["sim", "a", "b"], b"", 2),
    (["sim", "--list", "--bogus"], b"", 2),
    (["sim", "stall_jam", "--json", "{ro}/x.json"], b"", 2),
    (["sim", "stall_jam", "--json", "{dir}"], b"", 2),
    (["sim", "stall_jam", "--plot", "{file}/x.png"], b"", 2),
    (["sim", "stall_jam", "--trace", "{ro}/x.csv", "--no-plot"], b"", 2),
    (["sim", "{dir}"], b"", 2),
    (["sim", "{sc:level}"], b"", 2),
    (["sim", "{sc:binary}"], b"", 2),
    (["sim", "{sc:latin1}"], b"", 2),
    (["sim", "{sc:syntax}"], b"", 2),
    (["sim", "{sc:outside}"], b"", 2),
    # ---- deploy
    (["deploy"], b"", 2),
    (["deploy", "--board"], b"", 2),
    (["deploy", "--board", "nonesuch", "--stage", "{tmp}"], b"", 2),
    (["deploy", "--board", "parts", "--stage", "{tmp}"], b"", 2),
    (["deploy", "--board", "../boards/virtual", "--stage", "{tmp}"], b"", 2),
    (["deploy", "--board", "", "--stage", "{tmp}"], b"", 2),
    (["deploy", "--stage", "{file}"], b"", 2),
    (["deploy", "--stage", "{file}/sub"], b"", 2),
    (["deploy", "--stage", "{ro}"], b"", 2),
    (["deploy", "--stage", ""], b"", 2),
    (["deploy", "--mpy", "--stage", "{file}", "--board", "pen_rp2040"], b"", 2),
    (["deploy", "--pen-id", "abc", "--port", "{pen}"], b"", 2),
    (["deploy", "--port", "{missing}"], b"", 2),
    (["deploy", "--port", "{missing}", "--board", "virtual"], b"", 2),
    (["deploy", "--port", "{file}"], b"", 2),
    (["deploy", "--port", "{dir}", "--board", "virtual"], b"", 2),
    (["deploy", "--port", "/dev/null", "--board", "virtual"], b"", 2),
    (["deploy", "--port", "{silent}"], b"", 2),
    (["deploy", "--port", "{garbage}"], b"", 2),
    (["deploy", "--port", "{silent}", "--board", "pen_rp2040"], b"", 2),
    (["deploy", "--port", "{garbage}", "--board", "pen_esp32", "--mpy"], b"", 2),
    (["deploy", "--port", "{busy}"], b"", 2),
    (["deploy", "--port", "{busy}", "--board", "virtual"], b"", 2),
    (["deploy", "--port", "{dies:info}"], b"", 2),
    (["deploy", "--port", "auto"], b"", 2),
    # ---- status
    (["status"], b"", 2),
    (["status", "--port"], b"", 2),
    (["status", "--port", ""], b"", 2),
    (["status", "--port", "{missing}"], b"", 2),
    (["status", "--port", "{file}"], b"", 2),
    (["status", "--port", "{dir}"], b"", 2),
    (["status", "--port", "/dev/null"], b"", 2),
    (["status", "--port", "{silent}"], b"", 2),
    (["status", "--port", "{garbage}"], b"", 2),
    (["status", "--port", "{busy}"], b"", 2),
    (["status", "--port", "{dies:status}"], b"", 2),
    (["status", "--port", "auto"], b"", 2),
    (["status", "--port", "{pen}", "--json", "extra"], b"", 2),
    (["status", "--port", "{pen}", "--bogus"], b"", 2),
    # ---- log
    (["log"], b"", 2),
    (["log", "--port", "{pen}", "-n", "abc"], b"", 2),
    (["log", "--port", "{pen}", "-n", "-1"], b"", 2),
    (["log", "--port", "{pen}", "-n", "0"], b"", 2),
    (["log", "--port", "{pen}", "-n", "100000"], b"", 2),
    (["log", "--port", "{pen}", "-n", "1e3"], b"", 2),
    (["log", "--port", "{missing}"], b"", 2),
    (["log", "--port", "{silent}"], b"", 2),
    (["log", "--port", "{garbage}"], b"", 2),
    (["log", "--port", "{busy}"], b"", 2),
    (["log", "--port", "{dies:log}"], b"", 2),
    (["log", "--port", "{file}"], b"", 2),
    # ---- reset
    (["reset"], b"", 2),
    (["reset", "--port", "{missing}"], b"", 2),
    (["reset", "--port", "{silent}"], b"", 2),
    (["reset", "--port", "{garbage}"], b"", 2),
    (["reset", "--port", "{busy}"], b"", 2),
    (["reset", "--port", "{dies:reset}"], b"", 2),
    (["reset", "--port", "{pen}", "now"], b"", 2),
    # ---- maintenance
    (["maintenance"], b"", 2),
    (["maintenance", "--port", "{missing}"], b"", 2),
    (["maintenance", "--port", "{silent}"], b"", 2),
    (["maintenance", "--port", "{garbage}"], b"", 2),
    (["maintenance", "--port", "{busy}"], b"", 2),
    (["maintenance", "--port", "{dies:maintenance}"], b"", 2),
    (["maintenance", "--port", "{pen}"], b"", 1),                 # the pen refuses (motor)
    (["maintenance", "--port", "{pen}", "please"], b"", 2),
    # ---- service
    (["service"], b"", 2),
    (["service", "--port", "{pen}"], b"", 2),
    (["service", "--port", "{pen}", "frobnicate"], b"", 2),
    (["service", "--port", "{pen}", "cal"], b"", 2),
    (["service", "--port", "{pen}", "cal", "cal_depth_a"], b"", 2),
    (["service", "--port", "{pen}", "limits", "200"], b"", 2),
    (["service", "--port", "{pen}", "unlock", "extra"], b"", 2),
    (["service", "--port", "{pen}", "cal", "cal_depth_a", "40"], b"", 1),   # no key for this pen
    (["service", "--port", "{missing}", "lock"], b"", 2),
    (["service", "--port", "{silent}", "lock"], b"", 2),
    (["service", "--port", "{garbage}", "unlock"], b"", 2),
    (["service", "--port", "{busy}", "lock"], b"", 2),
    (["service", "--port", "{dies:info}", "unlock"], b"", 2),
    # ---- console
    (["console"], b"status\n", 2),
    (["console", "--port", "{missing}"], b"status\n", 2),
    (["console", "--port", "{silent}"], b"status\n", 2),
    (["console", "--port", "{garbage}"], b"status\n", 2),
    (["console", "--port", "{busy}"], b"status\n", 2),
    (["console", "--port", "{pen}", "--rate", "0"], b"status\n", 2),
    (["console", "--port", "{pen}", "--rate", "1000"], b"status\n", 2),
    (["console", "--port", "{pen}", "--rate", "abc"], b"status\n", 2),
    (["console", "--port", "{pen}"], b"status\n\xff\xfe\xfd\n", 2),
    (["console", "--port", "{pen}", "--json"], b"\xc3\x28 start\n", 2),
    (["console", "--port", "{pen}"], b"wait 1e309\n", 2),
    (["console", "--port", "{pen}"], b"wait nan\n", 2),
    (["console", "--port", "{pen}"], b"wait -1\n", 2),
    (["console", "--port", "{pen}"], b"wait abc\n", 2),
    (["console", "--port", "{pen}"], b"wait inf\n", 2),
    (["console", "--port", "{pen}", "--json"], b"wait 99999999\n", 2),
    (["console", "--port", "{pen}"], b"wait\n", 2),
    (["console", "--port", "{pen}"], b"\x00\x01\x02\n", 1),          # the pen answers ERR
    (["console", "--port", "{pen}"], b"x" * 5000 + b"\n", 1),
    (["console", "--port", "{pen}"], b"speed 99\n", 1),
    (["console", "--port", "{dies:speed}"], b"status\nspeed 3\nstatus\n", 2),
    (["console", "--port", "{dies:tele}"], b"status\n", 2),
    # ---- virtual-pen (checked before a pen starts)
    (["virtual-pen", "--dir", "{file}"], b"", 2),
    (["virtual-pen", "--dir", "{file}/sub"], b"", 2),
    (["virtual-pen", "--dir", ""], b"", 2),
    (["virtual-pen", "--dir", "{ro}"], b"", 2),
    (["virtual-pen", "--dir", "{tmp}", "--link", "{file}"], b"", 2),
    (["virtual-pen", "--dir", "{tmp}", "--link", "{dir}"], b"", 2),
    (["virtual-pen", "--dir", "{tmp}", "--link", "{tmp}/no/such/port"], b"", 2),
    (["virtual-pen", "--dir", "{tmp}", "--link", ""], b"", 2),
    (["virtual-pen", "--dir", "{tmp}", "--link", "{ro}/pen"], b"", 2),
    (["virtual-pen", "--bogus"], b"", 2),
    (["virtual-pen", "--dir"], b"", 2),
    # ---- boards
    (["boards", "nope"], b"", 2),
    (["boards", "parts"], b"", 2),
    (["boards", "../boards/virtual"], b"", 2),
    (["boards", ""], b"", 2),
    (["boards", "--file"], b"", 2),
    (["boards", "--markdown", "virtual"], b"", 2),
    (["boards", "a", "b"], b"", 2),
    (["boards", "--bogus"], b"", 2),
    # ---- ports
    (["ports", "extra"], b"", 2),
    (["ports", "--bogus"], b"", 2),
]

SCENARIOS = {
    "level": b"[pen]\nlevel = 9\n",
    "binary": b"\x00\x01\x02\xff binary",
    "latin1": b"[scenario]\ndescription = \"caf\xe9\"\n",
    "syntax": b"this is = = not toml\n",
    "outside": b"seed = \"abc\"\n",
}


def _case_id(case: tuple[list[str], bytes, int]) -> str:
    args, stdin, _ = case
    text = " ".join(args) + (f" <{stdin[:12]!r}" if stdin else "")
    return text[:60] or "nothing"


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link_mod, "ANSWER_S", 0.4)
    monkeypatch.setattr(link_mod, "QUIET_S", 0.3)
    monkeypatch.setattr(deploy_mod, "PROBE_S", 0.3)
    monkeypatch.setattr(deploy_mod, "RAW_S", 0.8)
    monkeypatch.delenv(ports.ENV, raising=False)
    monkeypatch.setattr(ports, "comports", lambda: [])        # no USB pens here, whatever the host has


@pytest.fixture
def places(tmp_path: Path) -> Iterator[dict[str, str]]:
    f = tmp_path / "a-file.txt"
    f.write_text("not a port, not a directory\n")
    d = tmp_path / "a-dir"
    d.mkdir()
    sc = tmp_path / "scenarios"
    sc.mkdir()
    for name, data in SCENARIOS.items():
        (sc / f"{name}.toml").write_bytes(data)
    yield {"file": str(f), "dir": str(d), "tmp": str(tmp_path / "new" / "place"),
           "missing": "/dev/no-such-pen", "ro": "/proc/needlepen-test", "sc": str(sc)}
    assert f.read_text() == "not a port, not a directory\n"          # nothing wrote over it


def _fill(args: list[str], places: dict[str, str], stack: ExitStack) -> list[str]:
    out = []
    for a in args:
        if a.startswith("{") and a.endswith("}") or "{" in a:
            key, _, rest = a.partition("}")
            key = key.lstrip("{")
            name, _, arg = key.partition(":")
            if name in ("pen", "silent", "garbage"):
                value = stack.enter_context(FakePen("pen" if name == "pen" else name)).port
            elif name == "busy":
                pen = stack.enter_context(FakePen())
                stack.enter_context(PenLink(pen.port))                # another needlepen has it
                value = pen.port
            elif name == "dies":
                value = stack.enter_context(FakePen(die_on=arg)).port
            elif name == "sc":
                value = os.path.join(places["sc"], f"{arg}.toml")
            else:
                value = places[name]
            a = value + rest
        out.append(a)
    return out


def check_error(code: int, err: str, want: int) -> None:
    assert code == want, (code, err)
    assert "Traceback" not in err, err
    last = err.rstrip("\n").splitlines()[-1] if err.strip() else ""
    assert last.startswith("needlepen"), err
    assert ": " in last and len(last) < 600, last


def test_the_table_is_large_and_covers_every_subcommand() -> None:
    assert len(CASES) >= 100
    commands = {args[0] for args, _, _ in CASES}
    assert {"sim", "deploy", "console", "status", "log", "reset", "maintenance", "service", "virtual-pen",
            "boards", "ports"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input(case: tuple[list[str], bytes, int], quick: None, places: dict[str, str]) -> None:
    args, stdin, want = case
    with ExitStack() as stack:
        argv = _fill(args, places, stack)
        t0 = time.monotonic()
        code, _, err = run_cli(*argv, stdin=stdin, timeout=BOUND_S)
        took = time.monotonic() - t0
    check_error(code, err, want)
    assert took < BOUND_S, took


# ---- as a user runs them: a subprocess, the real waits, real pipes ---------------------------

def _run(args: list[str], stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ports.ENV}
    return subprocess.run([sys.executable, "-m", "host_tools.cli", *args], input=stdin, capture_output=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("mode,args", [("silent", ["status"]), ("garbage", ["console"]), ("silent", ["reset"])])
def test_bad_ports_with_the_real_waits(mode: str, args: list[str]) -> None:
    with FakePen(mode) as pen:
        t0 = time.monotonic()
        r = _run([*args, "--port", pen.port], b"status\n")
        took = time.monotonic() - t0
    check_error(r.returncode, r.stderr.decode(), 2)
    assert took < 20, took


def test_a_console_script_through_a_pipe_that_is_not_utf8() -> None:
    with FakePen() as pen:
        r = _run(["console", "--port", pen.port, "--json"], b"speed 2\nstart\n\xff\xfeoops\nspeed 3\n")
        commands = list(pen.commands)
    check_error(r.returncode, r.stderr.decode(), 2)
    assert "line 3 is not UTF-8" in r.stderr.decode()
    assert "speed 3" not in commands and commands[-2:] == ["stop", "tele off"]    # it stopped the motor


def test_a_console_script_that_waits_forever_does_not() -> None:
    with FakePen() as pen:
        r = _run(["console", "--port", pen.port], b"start\nwait 1e309\n", timeout=30)
        commands = list(pen.commands)
    check_error(r.returncode, r.stderr.decode(), 2)
    assert "seconds from 0 to 600" in r.stderr.decode() and commands[-2:] == ["stop", "tele off"]
