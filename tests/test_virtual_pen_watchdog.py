"""The virtual pen behaves like a pen when its firmware dies (issue 12,
cases 12): a crash or a hung background loop is reset by its watchdog into a
safe boot (motor off, the fault latched), never into a REPL that would run
the host's protocol lines as Python; and no value of any `sim` lever can
crash it."""

from __future__ import annotations

import time
from pathlib import Path

import serial
from vpen import status_when_up

from host_tools.link import PenLink
from sim.faults import KINDS

VALUES = (None, "nan", "inf", "-inf", "-1", "0", "0.5", "1500", "1e300", "abc")


def test_no_lever_value_crashes_the_virtual_pen(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    answers = 0
    with PenLink(port, timeout=5) as link:
        for name in KINDS:
            for v in VALUES:
                if name == "hang" and v is None:
                    continue             # a real hang: the next test
                a = link.command(f"sim fault {name}" + ("" if v is None else f" {v}"))
                assert a.ok or a.code == "bad_argument", (name, v, a.text)
                if not a.ok:
                    assert name in a.text and ("range" in a.text or "number" in a.text or "no value" in a.text)
                assert link.command(f"sim heal {name}").ok
                answers += 1
        for bad in ("sim press power 0", "sim press power 99999999", "sim press power -5", "sim press nope",
                    "sim skin moon", "sim cartridge 99", "sim", "sim frob"):
            a = link.command(bad)
            assert not a.ok and a.code == "bad_argument", (bad, a.text)
        assert link.must("clear").ok
        s = link.must("status").json()
    assert answers >= 170 and s["state"] == "idle" and s["duty"] == 0


def test_a_crash_resets_into_a_safe_boot_not_a_repl(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    with PenLink(port, timeout=5) as link:
        assert link.must("sim crash").text == "crash"
    # What the host sends next must never reach a Python prompt.
    with serial.Serial(port, timeout=0.2) as s:
        s.write(b"print('PY' + 'THON')\r\nimport os\r\n")
        time.sleep(1.5)
        seen = s.read(65536)
    assert b"PYTHON" not in seen and b">>>" not in seen, seen
    st = status_when_up(port)
    assert {"watchdog", "internal"} <= set(st["faults"]) and st["state"] == "fault" and st["duty"] == 0
    with PenLink(port) as link:
        assert not link.command("start").ok          # latched until cleared deliberately
        assert link.must("clear").ok


def test_a_hung_background_is_reset_by_the_watchdog(vpen: tuple[str, Path]) -> None:
    port, _ = vpen
    with PenLink(port, timeout=5) as link:
        assert link.must("sim fault hang").ok
    time.sleep(1.0)
    st = status_when_up(port)
    assert "watchdog" in st["faults"] and st["state"] == "fault" and st["duty"] == 0
    with PenLink(port) as link:
        assert link.must("clear").ok
        assert link.must("status").json()["faults"] == []


def test_ctrl_c_and_raw_repl_bytes_do_nothing_but_what_the_protocol_says(vpen: tuple[str, Path]) -> None:
    # issue 13: a Ctrl-C byte anywhere in a protocol line used to send the
    # rest of the line to the REPL as Python; now it is a byte the protocol drops.
    port, _ = vpen
    with PenLink(port, timeout=5) as link:
        t0 = link.must("status").json()["t_ms"]
        with serial.Serial(port, timeout=0.2) as s:
            s.write(b"sta\x03tus\n")
            s.write(b"\x03\x03\r\x01import os\r\nprint('PY' + 'THON')\r\x04\x02\r\n")
            s.write(b"\x03\r\nrun(BOARD)\r\nspe\x03ed 3\n")
            time.sleep(1.0)
            seen = s.read(65536)
        assert b"PYTHON" not in seen and b">>>" not in seen and b"raw REPL" not in seen, seen
        assert b"OK {" in seen and b"OK speed 3" in seen, seen        # the lines as the protocol reads them
        st = link.must("status").json()
        assert st["t_ms"] > t0 and st["state"] in ("idle", "fault") and st["duty"] == 0
