"""The needlepen command: complete help for every subcommand, clear errors."""

import subprocess
import sys

import pytest

from host_tools.cli import COMMANDS, build_parser

SUBCOMMANDS = ["sim", "deploy", "status", "log", "reset", "maintenance", "console", "virtual-pen", "boards"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host_tools.cli", *args], capture_output=True, text=True,
                          timeout=60)


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
    assert r.returncode == 2 and "--port is required" in r.stderr
    r = run("deploy", "--stage", str(tmp_path / "s"), "--board", "pen_esp32")
    assert r.returncode == 0 and "mpremote connect PORT fs cp -r hal pen" in r.stdout
    assert (tmp_path / "s" / "hal" / "esp32.py").exists()
    assert not (tmp_path / "s" / "hal" / "rp2.py").exists()
    r = run("deploy", "--stage", str(tmp_path / "t"), "--board", "nonesuch")
    assert r.returncode == 1 and "no board 'nonesuch'" in r.stderr


def test_boards_command() -> None:
    r = run("boards")
    assert r.returncode == 0 and "pen_rp2040" in r.stdout and "pen_esp32" in r.stdout
    r = run("boards", "pen_rp2040")
    assert "| tach | 5 |" in r.stdout
    r = run("boards", "nope")
    assert r.returncode == 2 and "no board 'nope'" in r.stderr
