"""End to end, no mocks: a virtual pen (the real firmware in the MicroPython
unix port on a pseudo-terminal), deployed to with `needlepen deploy`
(mpremote underneath), driven with `needlepen console`, read with
`needlepen status` and `needlepen log`."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from vpen import needlepen, status_when_up

from host_tools.deploy import DeployError, deploy, stage
from host_tools.link import PenLink

from tools import bin_path

# The end-to-end suite runs with the host loaded (issue 12): a busy process
# per core all through it.
pytestmark = pytest.mark.usefixtures("busy_host")


def test_1_deploy_with_mpremote(vpen: tuple[str, Path]) -> None:
    port, flash = vpen
    r = needlepen("deploy", "--port", port, "--board", "virtual", "--mpy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verified" in r.stdout and "pen reset" in r.stdout
    manifest = json.loads((flash / "manifest.json").read_text())
    assert manifest["board"] == "virtual" and manifest["mpy"] is True
    assert set(manifest["files"]) == set(stage("virtual", mpy=True))
    assert not (flash / "pen" / "tick.py").exists() and (flash / "pen" / "tick.mpy").exists()
    time.sleep(1.0)
    r = needlepen("status", "--port", port, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["state"] == "idle" and s["faults"] == []


def test_2_console_changes_speed_and_depth(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    script = "zone cheeks professional\nspeed 3\ndepth 0.75\nstart\nwait 2.5\nspeed 5\nwait 2.5\nstatus\n"
    r = needlepen("console", "--port", port, "--json", stdin=script)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    answers = {x["command"]: x for x in rows if "command" in x}
    assert answers["speed 3"]["answer"] == "speed 3 (120 strokes/s)"
    assert answers["depth 0.75"]["answer"] == "depth 750 um"
    tele = [x["telemetry"] for x in rows if "telemetry" in x]
    at3 = [t for t in tele if t["lv"] == 3 and t["st"] == "running"]
    at5 = [t for t in tele if t["lv"] == 5 and t["st"] == "running"]
    assert at3 and at5
    assert abs(at3[-1]["rate"] - 12000) < 240          # the stroke rate follows level 3 ...
    assert abs(at5[-1]["rate"] - 17000) < 340          # ... and then level 5
    assert abs(at5[-1]["d"] - 750) < 30 and at5[-1]["dt"] == 750
    status = answers["status"]["answer"]
    assert status["state"] == "running" and status["level"] == 5


def test_3_refusals_come_from_the_firmware(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    r = needlepen("console", "--port", port, "--json", stdin="depth 2.4\nspeed 12\nfrobnicate\n")
    rows = [json.loads(x) for x in r.stdout.splitlines() if '"command"' in x]
    assert [x["code"] for x in rows] == ["out_of_range", "out_of_range", "unknown_command"]
    assert "outside the active limit 200..1500 um" in rows[0]["answer"]


def test_4_fault_stops_the_motor_and_reaches_the_log(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    # (the motor runs: a script's end stops it, so this one starts it itself)
    r = needlepen("console", "--port", port, "--json", stdin="start\nsim fault jam\nwait 1.5\nstart\n")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    tele = [x["telemetry"] for x in rows if "telemetry" in x]
    assert tele[-1]["st"] == "fault" and tele[-1]["duty"] == 0
    start = [x for x in rows if x.get("command") == "start"][-1]
    assert not start["ok"] and start["code"] == "refused" and "fault is latched" in start["answer"]
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert s["state"] == "fault" and s["duty"] == 0 and set(s["faults"]) & {"stall", "overcurrent"}
    r = needlepen("log", "--port", port, "--json")
    events = [json.loads(x) for x in r.stdout.splitlines()]
    faults = [e for e in events if e["kind"] == "fault"]
    assert faults and set(faults[-1]["detail"].split(",")) & {"stall", "overcurrent"}
    assert any(e["kind"] == "boot" for e in events)
    # heal the jam, clear deliberately
    r = needlepen("console", "--port", port, "--json", stdin="sim heal jam\nclear\nstatus\n")
    rows = {x["command"]: x for x in map(json.loads, r.stdout.splitlines()) if "command" in x}
    assert rows["clear"]["answer"] == "clear"
    assert rows["status"]["answer"]["state"] == "idle"


def test_5_plain_mpremote_and_back(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    # A running pen's console is locked (issue 13): mpremote's Ctrl-C and
    # raw-REPL bytes reach no REPL, and the pen runs on.
    try:          # mpremote waits for a raw REPL that never comes (it has no timeout of its own)
        r = subprocess.run([bin_path("mpremote"), "connect", port, "resume", "exec", "print(6 * 7)"],
                           capture_output=True, text=True, timeout=8)
        assert r.returncode != 0 and "42" not in r.stdout, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""                # bytes or str, depending on when it was cut
        assert "42" not in (out.decode(errors="replace") if isinstance(out, bytes) else out)
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert s["state"] == "idle" and s["duty"] == 0 and s["t_ms"] > 0
    # the maintenance boot (with this workstation's key) opens it
    r = needlepen("maintenance", "--port", port)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([bin_path("mpremote"), "connect", port, "resume", "exec", "print(6 * 7)"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "42", r.stdout + r.stderr
    # the host tools restart the firmware from the REPL
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert s["state"] == "idle" and s["duty"] == 0


def test_6_an_interrupted_deploy_boots_with_the_motor_disabled(vpen: tuple[str, Path]) -> None:
    port, flash = vpen
    seen = []

    def cut_off(text: str) -> None:
        seen.append(text)
        if text.strip().startswith("[ 6/"):
            raise KeyboardInterrupt          # the host dies mid-copy

    with pytest.raises(KeyboardInterrupt):
        deploy(port, "virtual", out=cut_off)
    assert (flash / "deploy.lock").exists() and not (flash / "manifest.json").exists()
    with PenLink(port) as link:              # the pen sits at the REPL: restarted
        s = link.must("status").json()
        assert "integrity" in s["faults"] and s["state"] == "fault"
        a = link.command("start")
        assert not a.ok and a.code == "refused"
    # a complete deploy repairs it; the fault stays latched until cleared
    try:
        deploy(port, "virtual", out=None)
    except DeployError as e:
        pytest.fail(str(e))
    time.sleep(1.0)
    with PenLink(port) as link:
        assert link.must("clear").text == "clear"
        time.sleep(0.1)
        s = link.must("status").json()
        assert s["faults"] == [] and s["state"] == "idle"


def _restart(port: str) -> None:
    """A reset of the pen (its boot checks run again)."""
    assert needlepen("reset", "--port", port).returncode == 0
    status_when_up(port)


def test_7_editing_the_board_file_is_detected(vpen: tuple[str, Path]) -> None:
    port, flash = vpen
    board = flash / "board.py"
    original = board.read_text()
    board.write_text(original.replace("'hard_max_um': 2500", "'hard_max_um': 4000"))
    _restart(port)
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert "integrity" in s["faults"] and s["limit_um"][1] <= 2500
    # re-hashing the manifest without the key does not help
    import hashlib
    man = json.loads((flash / "manifest.json").read_text())
    man["files"]["board.py"] = hashlib.sha256(board.read_bytes()).hexdigest()
    (flash / "manifest.json").write_text(json.dumps(man))
    _restart(port)
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert "integrity" in s["faults"]
    r = needlepen("log", "--port", port)
    assert "not signed by this pen's key" in r.stdout
    board.write_text(original)
    assert needlepen("deploy", "--port", port, "--board", "virtual").returncode == 0
    time.sleep(1.0)
    r = needlepen("console", "--port", port, "--json", stdin="clear\nstatus\n")
    rows = {x["command"]: x for x in map(json.loads, r.stdout.splitlines()) if "command" in x}
    assert rows["status"]["answer"]["faults"] == []


def test_8_service_functions_need_the_key(vpen: tuple[str, Path]) -> None:
    port, flash = vpen
    r = needlepen("console", "--port", port, "--json",
                  stdin="service limits 200 3000\nset cal_depth_a 40\nservice challenge\nservice unlock 00ff\n")
    rows = [json.loads(x) for x in r.stdout.splitlines() if '"command"' in x]
    assert [x["code"] for x in rows[:2]] == ["refused", "refused"]
    assert rows[2]["ok"] and rows[2]["answer"].startswith("challenge ")
    assert not rows[3]["ok"] and rows[3]["code"] == "refused"
    # the workstation with the key can
    r = needlepen("service", "--port", port, "limits", "200", "2200")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hard limits 200..2200 um from the next boot" in r.stdout
    r = needlepen("service", "--port", port, "cal", "cal_depth_a", "40")
    assert r.returncode == 0 and "cal_depth_a 40" in r.stdout
    _restart(port)
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert s["faults"] == []
    r = needlepen("log", "--port", port, "-n", "200")
    assert "unlock refused" in r.stdout and "unlocked" in r.stdout
    assert "hard limits 200..2500 -> 200..2200" in r.stdout and "service override 200..2200" in r.stdout
    # a hand-edited override is refused
    rec = json.loads((flash / "limits.rec").read_text())
    rec["limits"]["hard_max_um"] = 4000
    (flash / "limits.rec").write_text(json.dumps(rec))
    _restart(port)
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert "integrity" in s["faults"] and s["limit_um"][1] <= 2500
    (flash / "limits.rec").unlink()
