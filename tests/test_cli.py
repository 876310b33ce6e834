"""The needlepen command: complete help for every subcommand, clear errors."""

import io
import json
import os
import select
import subprocess
import sys
import time

import pytest
from fakepen import FakePen, run_cli

from host_tools import deploy as deploy_mod
from host_tools import link as link_mod
from host_tools.cli import COMMANDS, build_parser
from host_tools.link import PenLink

SUBCOMMANDS = ["sim", "deploy", "status", "log", "reset", "maintenance", "console", "virtual-pen", "boards",
               "ports"]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "NEEDLEPEN_PORT"}
    return subprocess.run([sys.executable, "-m", "host_tools.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**environ, **(env or {})})


def test_every_subcommand_is_listed_and_helped() -> None:
    assert COMMANDS
    top = run("--help")
    assert top.returncode == 0
    for name in SUBCOMMANDS:
        assert name in top.stdout
        r = run(name, "--help")
        assert r.returncode == 0, (name, r.stderr)
        assert len(r.stdout) > 300 and "usage: needlepen " + name in r.stdout, name
    assert build_parser().prog == "needlepen"


def test_no_command_prints_help() -> None:
    r = run()
    assert r.returncode == 2 and "COMMAND" in r.stdout


@pytest.mark.parametrize("cmd", ["status", "log", "reset", "maintenance", "console"])
def test_a_missing_port_says_what_to_do(cmd: str) -> None:
    r = run(cmd, "--port", "/dev/no-such-pen")
    assert r.returncode == 2
    assert "cannot open /dev/no-such-pen" in r.stderr and "list ports" in r.stderr


def test_reset_and_maintenance_help_says_what_they_do() -> None:
    r = run("reset", "--help")
    assert "reset=planned" in r.stdout and "stop it first" in r.stdout
    r = run("maintenance", "--help")
    assert "motor disabled" in r.stdout and "watchdog" in r.stdout and "needlepen reset" in r.stdout
    r = run("reset")
    assert r.returncode == 2 and "--port" in r.stderr


def test_deploy_needs_a_port_or_a_stage_dir(tmp_path) -> None:
    r = run("deploy")
    assert r.returncode == 2 and "no port: give --port P" in r.stderr and "--stage DIR" in r.stderr
    r = run("deploy", "--stage", str(tmp_path / "s"), "--board", "pen_esp32")
    assert r.returncode == 0 and "mpremote connect PORT fs cp -r hal pen" in r.stdout
    assert (tmp_path / "s" / "hal" / "esp32.py").exists()
    assert not (tmp_path / "s" / "hal" / "rp2.py").exists()
    r = run("deploy", "--stage", str(tmp_path / "t"), "--board", "nonesuch")
    assert r.returncode == 2 and "no board 'nonesuch'" in r.stderr          # a usage error


def test_boards_command() -> None:
    r = run("boards")
    assert r.returncode == 0 and "pen_rp2040" in r.stdout and "pen_esp32" in r.stdout
    r = run("boards", "pen_rp2040")
    assert "| tach | 5 |" in r.stdout
    r = run("boards", "nope")
    assert r.returncode == 2 and "no board 'nope'" in r.stderr


# ---- issue 12: the host tools against a pen that is busy, silent, garbage or gone ----------
# (a fake pen on a pty: tests/fakepen.py; the real virtual pen is in test_virtual_pen.py)

@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs: the waits for a silent pen shortened (the subprocess
    tests below keep the real ones)."""
    monkeypatch.setattr(link_mod, "ANSWER_S", 0.6)
    monkeypatch.setattr(link_mod, "QUIET_S", 0.4)
    monkeypatch.setattr(deploy_mod, "PROBE_S", 0.4)
    monkeypatch.setattr(deploy_mod, "RAW_S", 1.0)
    monkeypatch.delenv("NEEDLEPEN_PORT", raising=False)


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "no error message"
    return lines[-1]


def test_4_a_port_held_by_another_needlepen_is_busy(quick: None) -> None:
    with FakePen() as pen, PenLink(pen.port):            # a console holds it
        code, _, err = run_cli("status", "--port", pen.port)
    assert code == 2
    assert "is busy: another program has it open" in one_line_error(err)


def test_4_the_pen_going_away_mid_session(quick: None) -> None:
    with FakePen(die_on="status") as pen:
        code, _, err = run_cli("status", "--port", pen.port)
    assert code == 2 and "the pen went away" in one_line_error(err)
    with FakePen(die_on="speed") as pen:
        code, out, err = run_cli("console", "--port", pen.port, "--json", stdin=b"status\nspeed 3\nstatus\n")
    assert code == 2 and "the pen went away" in one_line_error(err)
    assert json.loads(out.splitlines()[0])["command"] == "status"


@pytest.mark.parametrize("args", [["boards"], ["boards", "--markdown"], ["sim", "--list"], ["--help"],
                                  ["status", "--port", "FAKE"], ["ports"]])
def test_4_stdout_closed_early_is_no_traceback(args: list[str]) -> None:
    """`needlepen boards | head -1`: the reader is gone before the output."""
    with FakePen() as pen:
        r, w = os.pipe()
        os.close(r)                                       # head -1 has read its line and left
        env = {k: v for k, v in os.environ.items() if k != "NEEDLEPEN_PORT"}
        p = subprocess.run([sys.executable, "-m", "host_tools.cli", *[pen.port if a == "FAKE" else a for a in args]],
                           stdout=w, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        os.close(w)
    assert p.stderr == "", p.stderr
    assert p.returncode in (0, 141)


def test_4_status_piped_into_head_in_a_shell() -> None:
    with FakePen() as pen:
        r = subprocess.run(["bash", "-c", f"{sys.executable} -m host_tools.cli status --port {pen.port} | head -2; "
                                          f"{sys.executable} -m host_tools.cli boards --markdown | head -1"],
                           capture_output=True, text=True, timeout=60)
    assert r.stderr == "" and r.stdout.startswith("state     idle")


def test_5_status_on_a_silent_port_answers_within_seconds() -> None:
    with FakePen("silent") as pen:
        t0 = time.monotonic()
        r = run("status", "--port", pen.port, timeout=40)
        took = time.monotonic() - t0
    assert r.returncode == 2
    assert f"no answer from the pen on {pen.port} after" in one_line_error(r.stderr)
    assert "needlepen running its firmware" in r.stderr
    assert took < 15, took                                # 19 s before; about 6 s now


def test_5_a_port_that_answers_garbage_is_told_apart() -> None:
    with FakePen("garbage") as pen:
        t0 = time.monotonic()
        r = run("log", "--port", pen.port, timeout=40)
        took = time.monotonic() - t0
    assert r.returncode == 2
    assert "answers, but not like a pen or a MicroPython board" in one_line_error(r.stderr)
    assert took < 15, took


@pytest.mark.parametrize("mode", ["silent", "garbage"])
def test_5_deploy_to_a_port_without_micropython_ends(mode: str) -> None:
    with FakePen(mode) as pen:
        t0 = time.monotonic()
        r = run("deploy", "--port", pen.port, "--board", "pen_rp2040", timeout=60)    # hung for minutes before
        took = time.monotonic() - t0
    assert r.returncode == 2
    assert f"no MicroPython REPL answered on {pen.port}" in one_line_error(r.stderr)
    assert took < 30, took


def test_6_deploy_without_board_refuses_to_guess(quick: None) -> None:
    with FakePen("silent") as pen:
        code, out, err = run_cli("deploy", "--port", pen.port)
    assert code == 2 and "board: virtual" not in out
    assert f"no pen answered on {pen.port}: give --board NAME (needlepen boards lists them)" in one_line_error(err)
    # a pen that answers says which board it has
    with FakePen(info={"board_file": "pen_esp32"}) as pen:
        assert pen_cmds_board(pen.port) == ("pen_esp32", "")


def pen_cmds_board(port: str) -> tuple[str | None, str]:
    from host_tools.pen_cmds import _board_on_pen
    return _board_on_pen(port)


def test_10_version() -> None:
    from host_tools.cli import version
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"needlepen {version()}" and version()[0].isdigit()


def test_10_status_json_is_the_pens_object(quick: None) -> None:
    with FakePen() as pen:
        code, out, _ = run_cli("status", "--port", pen.port, "--json")
        assert code == 0 and json.loads(out) == pen.status
        code, out, _ = run_cli("console", "--port", pen.port, "--json", stdin=b"status\nspeed 3\n")
    rows = [json.loads(x) for x in out.splitlines()]
    status = next(x for x in rows if x.get("command") == "status")
    assert status["answer"] == pen.status                 # an object, not JSON in a string
    assert next(x for x in rows if x.get("command") == "speed 3")["answer"] == "speed 3"


def test_10_a_script_that_ends_stops_the_motor(quick: None) -> None:
    with FakePen() as pen:
        code, out, _ = run_cli("console", "--port", pen.port, "--json", stdin=b"start\n")
        assert code == 0
        assert pen.commands[-2:] == ["stop", "tele off"], pen.commands
        assert json.loads(out.splitlines()[-1]) == {"end_of_input": "stop", "ok": True, "code": "", "answer": "stop"}
        # also when the script is cut short by a bad line
        code, _, err = run_cli("console", "--port", pen.port, stdin=b"start\nwait soon\nspeed 2\n")
        assert code == 2 and "line 2: wait 'soon': not a number of seconds" in one_line_error(err)
        assert "speed 2" not in pen.commands and pen.commands[-2:] == ["stop", "tele off"]


def test_10_arrow_keys_are_keys_not_characters() -> None:
    from host_tools.console import command_for, keys
    assert keys("\x1b[A") == ["up"] and keys("\x1bOB") == ["down"]
    assert keys("\x1b[C\x1b[D+") == ["right", "left", "+"]
    assert keys("\x1b[1;5A\x1b[15~\x1b") == []           # ctrl-arrow, F5, a lone Esc: nothing
    t = {"st": "idle", "lv": 3, "dt": 500}
    assert command_for("up", t) == "speed 4" and command_for("left", t) == "depth 450um"
    assert [command_for(k, t) for k in keys("\x1b[A")] == ["speed 4"]     # was: "[" -> depth down


def test_10_faults_in_red_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from fakepen import STATUS

    from host_tools.console import _view, colour
    from host_tools.pen_cmds import format_status

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert colour(Tty()) and not colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour(Tty())
    t = {"st": "fault", "lv": 3, "tgt": 12000, "rate": 0, "duty": 0, "d": 500, "dt": 500, "lim": 1500,
         "mv": 7400, "dc": 300, "ma": 0, "f": ["stall"]}
    assert "\x1b[1;31mstall\x1b[0m" in _view(t, "", red=True) and "\x1b[" not in _view(t, "", red=False)
    s = dict(STATUS, state="fault", faults=["overheat"])
    assert "\x1b[1;31m  FAULTS: overheat" in format_status(s, red=True)
    assert "\x1b[" not in format_status(s)


def test_10_typed_lines_have_editing_and_history(tmp_path) -> None:
    """console --lines on a terminal: readline, so an arrow recalls the last
    command instead of sending "^[[A" to the pen."""
    import pty
    with FakePen() as pen:
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "NEEDLEPEN_PORT"}
        env.update(TERM="xterm", HOME=str(tmp_path), INPUTRC="/dev/null")
        p = subprocess.Popen([sys.executable, "-m", "host_tools.cli", "console", "--port", pen.port, "--lines"],
                             stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        seen = b""

        def prompt() -> None:                                 # type only at the prompt, as a person does
            nonlocal seen
            end = time.monotonic() + 20
            while not seen.endswith(b"> ") and time.monotonic() < end:
                if select.select([master], [], [], 0.1)[0]:
                    seen += os.read(master, 4096)
            assert seen.endswith(b"> "), seen
            seen = b""

        try:
            prompt()
            os.write(master, b"speed 2\r")
            prompt()
            os.write(master, b"\x1b[A\r")                    # up arrow: the last line again
            prompt()
            os.write(master, b"\x04")                        # Ctrl-D: the end
            p.wait(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
            os.close(master)
    assert pen.commands.count("speed 2") == 2, pen.commands
    assert not any("\x1b" in c or "[A" in c for c in pen.commands), pen.commands


@pytest.mark.parametrize("script", [b"wait 1e309\n", b"wait nan\n", b"wait -1\n", b"wait abc\n", b"wait\n",
                                    b"wait inf\n", b"wait 601\n", b"wait 1 2\n"])
def test_13_console_wait_is_bounded(quick: None, script: bytes) -> None:
    with FakePen() as pen:
        t0 = time.monotonic()
        code, _, err = run_cli("console", "--port", pen.port, stdin=script, timeout=15)
        assert time.monotonic() - t0 < 10                 # 1e309 and nan hung before
    assert code == 2
    line = one_line_error(err)
    assert "line 1: " in line and ("seconds from 0 to 600" in line or "not a number" in line or "usage" in line)


def test_13_console_stdin_that_is_not_utf8(quick: None) -> None:
    with FakePen() as pen:
        code, out, err = run_cli("console", "--port", pen.port, stdin=b"status\n\xff\xfe start\nstart\n")
    assert code == 2 and "line 2 is not UTF-8" in one_line_error(err)
    assert "start" not in pen.commands and pen.commands[-2:] == ["stop", "tele off"]


def test_13_deploy_stage_into_a_file(tmp_path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = run_cli("deploy", "--stage", str(f), "--board", "virtual")
    assert code == 2 and "is a file, not a directory" in one_line_error(err)
    code, _, err = run_cli("deploy", "--stage", str(f / "sub"), "--board", "virtual")
    assert code == 2 and "not a directory" in one_line_error(err).lower()
    assert f.read_text() == "x"


def test_13_virtual_pen_dir_and_link_are_checked_first(tmp_path) -> None:
    f = tmp_path / "precious.txt"
    f.write_text("keep me")
    for args, says in [(["--dir", str(f)], "is a file, not a directory"),
                       (["--dir", str(f / "x")], "not a directory"),
                       (["--dir", str(tmp_path / "flash"), "--link", str(f)], "is a file, not a symlink"),
                       (["--dir", str(tmp_path / "flash"), "--link", str(tmp_path)], "is a directory, not a symlink"),
                       (["--dir", str(tmp_path / "flash"), "--link", str(tmp_path / "no" / "pen")], "does not exist")]:
        code, out, err = run_cli("virtual-pen", *args)
        assert code == 2 and says in one_line_error(err).lower(), (args, err)
        assert "virtual pen on" not in out
    assert f.read_text() == "keep me"                    # --link used to unlink whatever was there


def test_13_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from host_tools import boards_cmd

    def boom(args: object) -> int:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(boards_cmd, "describe", boom)
    code, _, err = run_cli("boards", "virtual")
    assert code == 1
    assert one_line_error(err) == ("needlepen boards: unexpected RuntimeError: something broke (a bug: please "
                                   "report it; run with NEEDLEPEN_DEBUG=1 for the traceback)")
    monkeypatch.setenv("NEEDLEPEN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run_cli("boards", "virtual")


def test_a_script_wait_follows_the_pens_own_clock() -> None:
    # A virtual pen on a busy host runs slower than the wall clock: `wait 0.4`
    # in a console script means 0.4 s of the pen's time (its telemetry clock).
    import time as _time
    from types import SimpleNamespace

    from host_tools.pen_cmds import wait_pen_time

    class HalfSpeedPen:
        def __init__(self) -> None:
            self.start = _time.monotonic()
            self.telemetry: list[dict] = []

        def _t(self) -> int:
            return int((_time.monotonic() - self.start) * 500)      # pen ms: half the wall's

        def command(self, line: str) -> SimpleNamespace:
            assert line == "status"
            return SimpleNamespace(json=lambda: {"t_ms": self._t()})

        def pump(self, seconds: float) -> None:
            _time.sleep(seconds)
            self.telemetry.append({"t": self._t()})

    pen = HalfSpeedPen()
    t0 = _time.monotonic()
    wait_pen_time(pen, 0.4)  # type: ignore[arg-type]
    assert _time.monotonic() - t0 >= 0.75                  # 0.4 s of pen time took twice as long
    assert pen.telemetry[-1]["t"] >= 400
