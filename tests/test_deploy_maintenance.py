"""`needlepen deploy` goes in through the pen's maintenance boot (protocol
`maintenance`: motor disabled, no watchdog, REPL free) and leaves with a
planned reset; `needlepen reset` and `needlepen maintenance`.

First the host side against a scripted port (a REPL, old firmware, a running
motor, a USB device that vanishes and comes back), then end to end against
a virtual pen."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import serial
from vpen import needlepen

from host_tools.deploy import IO_S, _maintenance_boot, await_repl
from host_tools.link import LinkError, PenLink

BANNER = b"needlepen: maintenance mode (asked for over the serial link): motor disabled, no watchdog\r\n"
REPL = b"MicroPython v1.24 on 2025-01-01; Raspberry Pi Pico with RP2040\r\nType \"help()\" for more.\r\n>>> "


class FakePort:
    """A serial port that answers each written line from `answers` (line ->
    replies, used in turn); `chunks` arrive unasked, a function among them
    is called by read() (it raises for a vanished USB device)."""

    def __init__(self, answers: dict[bytes, list[bytes]] | None = None, chunks: list[Any] | None = None) -> None:
        self.answers = answers or {}
        self.chunks = chunks or []
        self.pending = bytearray()
        self.written: list[bytes] = []
        self.timeout: float | None = None
        self.closed = False

    def write(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            key = line.strip()
            if line and key not in self.answers:
                continue
            self.written.append(key)
            if self.answers.get(key):
                self.pending += self.answers[key].pop(0)

    def read(self, n: int) -> bytes:
        if not self.pending and self.chunks:
            c = self.chunks.pop(0)
            self.pending += c() if callable(c) else c
        got = bytes(self.pending[:n])
        del self.pending[:n]
        if not got:
            time.sleep(0.01)
        return got

    def reset_input_buffer(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        self.closed = True


class FakeTransport:
    def __init__(self, port: FakePort) -> None:
        self.serial = port


def _boot(port: FakePort) -> tuple[Any, list[str]]:
    said: list[str] = []
    t = FakeTransport(port)
    return _maintenance_boot(t, "COM9", said.append), said


def test_a_pen_at_the_repl_is_not_taken_for_the_firmware() -> None:
    # the REPL echoes "status" and fails on it: no "OK {" line
    port = FakePort({b"status": [b"status\r\nTraceback (most recent call last):\r\nNameError: status\r\n>>> "]})
    t, said = _boot(port)
    assert t.serial is port and port.timeout == IO_S          # mpremote reads again, bounded
    assert b"maintenance" not in port.written
    assert any("does not answer the protocol" in s and "Ctrl-C" in s for s in said)


def test_old_firmware_without_maintenance_falls_back_to_ctrl_c() -> None:
    port = FakePort({b"status": [b'T {"st": "idle"}\r\nOK {"state": "idle"}\r\n'],
                     b"maintenance": [b"ERR unknown_command maintenance\r\n"]})
    t, said = _boot(port)
    assert t.serial is port
    assert any("no maintenance boot (ERR unknown_command" in s for s in said)


def test_a_running_motor_is_stopped_then_maintenance_asked_again() -> None:
    port = FakePort({b"status": [b'OK {"state": "running"}\r\n'],
                     b"maintenance": [b"ERR refused stop the motor first\r\n",
                                      b"OK maintenance: resetting into maintenance mode\r\n" + BANNER + REPL],
                     b"stop": [b"OK stop\r\n"]})
    t, said = _boot(port)
    assert t.serial is port and port.timeout == IO_S
    assert [w for w in port.written if w] == [b"status", b"maintenance", b"stop", b"maintenance"]
    assert any("stopping it" in s for s in said)
    assert said[-1].strip() == BANNER.decode().strip()


def test_a_usb_pen_that_re_enumerates_is_reopened(tmp_path: Path) -> None:
    dev = tmp_path / "ttyACM0"
    dev.touch()

    def vanish() -> None:
        dev.unlink()                                          # the device node goes ...
        threading.Timer(0.5, dev.touch).start()               # ... and comes back
        raise serial.SerialException("device reports readiness to read but returned no data")

    old = FakePort(chunks=[b"", vanish])
    new = FakePort({b"": [b"\r\n>>> "]})                      # its banner went out while it was gone
    tries: list[int] = []

    def reopen() -> Any:
        tries.append(1)
        if len(tries) == 1:
            raise serial.SerialException("[Errno 13] Permission denied")   # udev not done yet
        return new

    said: list[str] = []
    ser, back, line = await_repl(old, str(dev), reopen, said.append, timeout=5)
    assert ser is new and back and line is None and len(tries) == 2
    assert old.closed and new.timeout == 0.05
    assert any("went away" in s for s in said) and any("is back" in s for s in said)


def test_a_pen_that_never_comes_back_is_reported(tmp_path: Path) -> None:
    port = FakePort()
    ser, back, line = await_repl(port, "COM9", lambda: port, None, timeout=1.5)
    assert ser is port and not back and line is None
    assert b"" in port.written                                # it asked for a prompt meanwhile


# ---- end to end: a virtual pen ---------------------------------------------------------



def _events(port: str) -> list[dict[str, Any]]:
    r = needlepen("log", "--port", port, "--json", "-n", "200")
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines()]


def _events_until(port: str, done: Any, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The pen's log once `done(events)` holds: the pen writes it in its own
    time after a reset (no fixed wait: a busy host only makes it later)."""
    deadline = time.monotonic() + timeout_s
    while True:
        events = _events(port)
        if done(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _boots(port: str) -> int:
    return sum(1 for e in _events(port) if e["kind"] == "boot")


def _booted_again(before: int) -> Any:
    """More boots logged than `before`, the last a planned reset's after a
    maintenance reset."""
    def done(events: list[dict[str, Any]]) -> bool:
        boots = [i for i, e in enumerate(events) if e["kind"] == "boot"]
        return (len(boots) > before and events[boots[-1]]["detail"].startswith("reset=planned")
                and any(e["kind"] == "reset" and e["detail"] == "maintenance" for e in events[:boots[-1]]))
    return done


def test_maintenance_command_then_reset(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    before = _boots(port)
    r = needlepen("maintenance", "--port", port)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resetting into maintenance mode" in r.stdout
    assert "needlepen: maintenance mode" in r.stdout, r.stdout     # the maintenance boot's banner
    with pytest.raises(LinkError, match="not running the firmware"):
        PenLink(port, restart=False).close()                        # the protocol is gone: the REPL is free
    r = needlepen("reset", "--port", port)                         # restarts the firmware, then `reset`
    assert r.returncode == 0 and r.stdout.strip() == "reset", r.stdout + r.stderr
    events = _events_until(port, _booted_again(before))
    assert any(e["kind"] == "reset" and e["detail"] == "maintenance" for e in events)
    boots = [e for e in events if e["kind"] == "boot"]
    assert boots[-1]["detail"].startswith("reset=planned"), boots


def test_deploy_onto_a_running_pen_goes_through_the_maintenance_boot(vpen: tuple[str, Path]) -> None:
    port, flash = vpen
    with PenLink(port) as link:         # (a console script would stop the motor at its end)
        link.must("clear")
        link.must("start")
    time.sleep(0.5)
    assert json.loads(needlepen("status", "--port", port, "--json").stdout)["state"] == "running"
    before = _boots(port)
    r = needlepen("deploy", "--port", port, "--board", "virtual")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "the motor runs (ERR refused stop the motor first): stopping it" in out
    assert "Ctrl-C" not in out
    assert "needlepen: maintenance mode" in out, out
    assert "verified" in out and "pen reset (planned)" in out
    assert (flash / "manifest.json").exists() and not (flash / "deploy.lock").exists()
    events = _events_until(port, _booted_again(before))
    s = json.loads(needlepen("status", "--port", port, "--json").stdout)
    assert s["state"] == "idle" and s["faults"] == []              # runs again, motor off
    last_stop = max(i for i, e in enumerate(events) if e["kind"] == "stop")
    after = [e for e in events[last_stop:] if e["kind"] in ("reset", "boot")]
    assert after[0] == {**after[0], "kind": "reset", "detail": "maintenance"}, after   # the motor stopped first
    boots = [e for e in events if e["kind"] == "boot"]
    assert boots[-1]["detail"].startswith("reset=planned"), boots
