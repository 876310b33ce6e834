"""Which port a command talks to: --port P, --port auto (the one USB serial
device that looks like a pen, as mpremote's `connect auto`), $NEEDLEPEN_PORT;
`needlepen ports` lists them (as `mpremote devs`).  The USB devices are
pyserial's ListPortInfo records, made up here; the pen is a fake one on a pty."""

from __future__ import annotations

import json

import pytest
from fakepen import FakePen, run_cli
from serial.tools.list_ports_common import ListPortInfo

from host_tools import link as link_mod
from host_tools import ports

PEN_COMMANDS = [["status"], ["log"], ["reset"], ["maintenance"], ["console"], ["service", "lock"], ["deploy"]]


def usb(device: str, vid: int | None = None, pid: int | None = None, serial: str | None = None,
        description: str = "n/a") -> ListPortInfo:
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.serial_number, p.description = vid, pid, serial, description
    return p


RP2040 = usb("/dev/ttyACM0", 0x2E8A, 0x0005, "e66038b7132f4b2c", "Board in FS mode")
ESP32 = usb("/dev/ttyUSB0", 0x10C4, 0xEA60, "0001", "CP2102 USB to UART Bridge Controller")
MOUSE_SERIAL = usb("/dev/ttyACM1", 0x046D, 0xC52B, None, "Logitech receiver")
BUILTIN = usb("/dev/ttyS0")


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ports.ENV, raising=False)
    monkeypatch.setattr(link_mod, "ANSWER_S", 0.6)
    monkeypatch.setattr(link_mod, "QUIET_S", 0.4)


def found(monkeypatch: pytest.MonkeyPatch, *devices: ListPortInfo) -> None:
    monkeypatch.setattr(ports, "comports", lambda: sorted(devices, key=lambda p: p.device))


def test_ports_lists_every_port_and_marks_the_pens(monkeypatch: pytest.MonkeyPatch) -> None:
    found(monkeypatch, RP2040, ESP32, MOUSE_SERIAL, BUILTIN)
    code, out, err = run_cli("ports")
    assert code == 0
    rows = out.splitlines()
    assert len(rows) == 4
    acm0 = next(r for r in rows if "/dev/ttyACM0" in r)
    assert acm0.startswith("* ") and "2e8a:0005" in acm0 and "e66038b7132f4b2c" in acm0
    assert "Board in FS mode" in acm0 and "Raspberry Pi RP2040" in acm0
    assert next(r for r in rows if "/dev/ttyUSB0" in r).startswith("* ")
    assert next(r for r in rows if "/dev/ttyACM1" in r).startswith("  ")
    assert next(r for r in rows if "/dev/ttyS0" in r).startswith("  ")
    assert "--port auto" in err


def test_ports_with_none_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    found(monkeypatch)
    code, out, err = run_cli("ports")
    assert code == 0 and out == "" and "no serial ports" in err and "virtual pen" in err


def test_auto_takes_the_one_pen(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakePen() as pen:
        found(monkeypatch, usb(pen.port, 0x2E8A, 0x0005, "x", "Board in FS mode"), MOUSE_SERIAL, BUILTIN)
        code, out, err = run_cli("status", "--port", "auto", "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "idle"


def test_auto_with_several_pens_lists_them(monkeypatch: pytest.MonkeyPatch) -> None:
    found(monkeypatch, RP2040, ESP32)
    code, _, err = run_cli("status", "--port", "auto")
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "several serial devices could be a pen" in err
    assert "/dev/ttyACM0" in err and "/dev/ttyUSB0" in err and "choose one with --port" in err


def test_auto_with_no_pen_says_how_to_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    found(monkeypatch, MOUSE_SERIAL, BUILTIN)
    code, _, err = run_cli("log", "--port", "auto")
    assert code == 2
    assert "no serial device looks like a pen (2 other serial port(s): needlepen ports lists them)" in err
    assert "plug the pen in" in err and "--port P" in err
    found(monkeypatch)
    code, _, err = run_cli("reset", "--port", "auto")
    assert code == 2 and "other serial port" not in err and "plug the pen in" in err


def test_the_environment_gives_the_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakePen() as pen, FakePen("silent") as silent:
        monkeypatch.setenv(ports.ENV, pen.port)
        code, out, err = run_cli("status", "--json")
        assert code == 0, err
        assert json.loads(out)["pen_id"] == "fake-0001"
        code, out, _ = run_cli("log", "-n", "2")
        assert code == 0 and len(out.splitlines()) == 2
        # --port wins over the environment
        code, _, err = run_cli("status", "--port", silent.port)
        assert code == 2 and silent.port in err
        # the environment may say auto
        monkeypatch.setenv(ports.ENV, "auto")
        found(monkeypatch, usb(pen.port, 0xF055, 0x9800, "y", "MicroPython board"))
        code, out, _ = run_cli("console", stdin=b"status\n")
        assert code == 0 and out.startswith("OK {")


@pytest.mark.parametrize("args", PEN_COMMANDS)
def test_without_port_nor_environment_every_command_says_what_to_do(args: list[str]) -> None:
    code, _, err = run_cli(*args)
    assert code == 2
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "--port P" in err and "--port auto" in err and ports.ENV in err


def test_resolve() -> None:
    assert ports.resolve("/dev/ttyACM3") == "/dev/ttyACM3"
    with pytest.raises(ports.PortError):
        ports.resolve(None)
    with pytest.raises(ports.PortError):
        ports.resolve("")
    assert ports.looks_like_pen(usb("/dev/x", None, None, None, "MicroPython Board in FS mode"))
    assert not ports.looks_like_pen(BUILTIN) and not ports.looks_like_pen(MOUSE_SERIAL)
