"""The virtual pen's filesystem (issue 12, cases 2 and 3): `--fresh` is
factory fresh, one virtual pen per filesystem, and a service change is on
the pen's filesystem before the pen answers OK (a reset right after it
loses nothing)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from vpen import CLI, needlepen, status_when_up

from host_tools.link import PenLink
from host_tools.virtualpen import FlashInUse, prepare_flash


def _old_pen(flash: Path) -> str:
    prepare_flash(str(flash))
    old_id = (flash / "pen.id").read_text()
    for name, text in (("device.key", "00" * 32), ("events.log", "junk\n"), ("limits.rec", "{}"),
                       ("settings.rec", "NP1 2 0 {\"latched\": 2048}"), ("boot.mark", "watchdog"),
                       ("deploy.lock", "x")):
        (flash / name).write_text(text)
    return old_id


def test_fresh_is_factory_fresh(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    old_id = _old_pen(flash)
    assert prepare_flash(str(flash), fresh=True)
    names = {p.name for p in flash.iterdir()}
    assert not names & {"device.key", "events.log", "limits.rec", "settings.rec", "boot.mark", "deploy.lock"}
    assert {"main.py", "board.py", "manifest.json", "pen.id"} <= names
    assert (flash / "pen.id").read_text() != old_id          # a new pen: the workstation's old key is not its


def test_fresh_refuses_a_directory_that_is_not_a_pen(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(FlashInUse, match="not a virtual pen's filesystem"):
        prepare_flash(str(tmp_path), fresh=True)
    assert (tmp_path / "thesis.tex").exists()
    r = needlepen("virtual-pen", "--dir", str(tmp_path), "--fresh", timeout=30)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not a virtual pen" in r.stderr


def _start(flash: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*CLI, "virtual-pen", "--dir", str(flash), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("virtual pen on "), first + (proc.stderr.read() if proc.stderr else "")
    return proc, first.split()[3]


def test_fresh_pen_starts_clean_and_a_second_pen_is_refused(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    _old_pen(flash)
    proc, port = _start(flash, "--fresh")
    try:
        with PenLink(port, timeout=10) as link:
            s = link.must("status").json()
            assert s["faults"] == [] and s["state"] == "idle"
            link.command("log 50")
            time.sleep(0.3)
        r = needlepen("virtual-pen", "--dir", str(flash), timeout=30)
        assert r.returncode == 2 and "another virtual pen runs on" in r.stderr and "Traceback" not in r.stderr
        r = needlepen("log", "--port", port, "--json", timeout=60)
        events = [json.loads(x) for x in r.stdout.splitlines()]
        assert [e["kind"] for e in events][:1] == ["boot"] and not any(e["kind"] == "restored" for e in events)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_service_change_survives_a_reset_right_after_its_ok(tmp_path: Path) -> None:
    flash = tmp_path / "flash"
    proc, port = _start(flash, "--fresh")
    try:
        r = needlepen("deploy", "--port", port, "--board", "virtual", timeout=120)   # provisions the key
        assert r.returncode == 0, r.stdout + r.stderr
        r = needlepen("service", "--port", port, "cal", "cal_depth_a", "41", timeout=60)
        assert r.returncode == 0 and "cal_depth_a 41" in r.stdout, r.stdout + r.stderr
        r = needlepen("reset", "--port", port, timeout=60)           # at once: no time for a lazy write
        assert r.returncode == 0, r.stderr
        rec = (flash / "settings.rec").read_text()
        assert json.loads(rec.split(" ", 3)[3])["cal_depth_a"] == 41
        assert status_when_up(port)["faults"] == []          # signed at provisioning: genuine
        r = needlepen("log", "--port", port, "-n", "30", timeout=60)
        assert "cal_depth_a 0 -> 41" in r.stdout, r.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _micropython_child(supervisor: subprocess.Popen) -> int:
    out = subprocess.run(["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True).stdout.split()
    assert out, "no micropython process under the virtual pen"
    return int(out[0])


def test_edited_safety_state_is_caught_and_a_power_cut_loses_no_use(tmp_path: Path) -> None:
    # issue 13, e2e: settings.rec edited with the pen off (checksum recomputed
    # with pen.store.encode) is detected at boot; a power cut while the motor
    # runs loses no cartridge use.
    import os
    import signal

    from pen import store
    flash = tmp_path / "flash"
    proc, port = _start(flash, "--fresh")
    try:
        assert needlepen("deploy", "--port", port, "--board", "virtual", timeout=120).returncode == 0
        s = status_when_up(port)
        assert s["faults"] == []
        with PenLink(port, timeout=10) as link:
            assert link.must("start").ok
            time.sleep(2.0)
            assert link.must("status").json()["state"] == "running"
        os.kill(_micropython_child(proc), signal.SIGKILL)      # the battery falls out
        s = status_when_up(port)
        assert s["cartridge_use_s"] >= 300 and s["duty"] == 0, s   # the reservation, counted in full
        r = needlepen("log", "--port", port, "-n", "20", timeout=60)
        assert "power lost while running" in r.stdout, r.stdout
        # the pen off, the file edited: use back to 0, a latched fault gone
        proc.terminate()
        proc.wait(timeout=10)
        line = (flash / "settings.rec").read_text()
        seq, values = store.decode(line.encode())
        values.update(cart_use_s=0, cart_reserved_s=0, latched=0)
        (flash / "settings.rec").write_bytes(store.encode(seq + 1, values))
        proc, port = _start(flash)
        s = status_when_up(port)
        assert "settings" in s["faults"] and s["cartridge_use_s"] >= 3600, s
        with PenLink(port, timeout=10) as link:
            assert link.must("clear").ok
            a = link.command("start")
            assert not a.ok and "cartridge" in a.text, a.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
