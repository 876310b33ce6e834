# The background around the tick (issue: the pen runs on its chip): storage
# failures are a fault, never an exception; flash is written only with the
# motor stopped and the actuator at rest; planned resets; long answers
# streamed; the MicroPython version floor.
import json

from pen import tick as T
from pen.startup import version_problem
from sim import faults

from rigs import FakeFS, ask, linked_pen


class BrokenFS(FakeFS):
    """A flash that refuses every write (full, damaged or read-only)."""

    def __init__(self):
        FakeFS.__init__(self)
        self.broken = False

    def write(self, path, data):
        if self.broken:
            raise OSError(28)
        FakeFS.write(self, path, data)

    def append(self, path, data):
        if self.broken:
            raise OSError(28)
        FakeFS.append(self, path, data)


class WatchedFS(FakeFS):
    """Records the pen's state at every flash write."""

    def __init__(self):
        FakeFS.__init__(self)
        self.pen = None
        self.at_write = []

    def _note(self):
        if self.pen is not None:
            m = self.pen.m
            self.at_write.append((m[T.S_STATE], m[T.O_DUTY], m[T.O_ACT_DUTY], m[T.C_RUN]))

    def write(self, path, data):
        self._note()
        FakeFS.write(self, path, data)

    def append(self, path, data):
        self._note()
        FakeFS.append(self, path, data)


def test_a_failing_flash_is_the_storage_fault_and_the_loop_goes_on():
    fs = BrokenFS()
    p = linked_pen(fs=fs)
    fs.broken = True
    assert ask(p, "speed 2") == ["OK speed 2 (100 strokes/s)"]
    p.run_ms(1200)                                   # the next store: it fails
    assert p.m[T.S_FAULTS] & T.F_STORAGE
    (ans,) = ask(p, "status")
    s = json.loads(ans[3:])
    assert "storage" in s["faults"] and s["storage"].startswith("OSError")
    assert ask(p, "start")[0].startswith("ERR refused")
    assert ask(p, "clear") == ["OK clear; still present: storage"]
    fs.broken = False                                # flash works again
    p.run_ms(1200)
    assert ask(p, "clear") == ["OK clear"]
    p.run_ms(20)
    assert p.m[T.S_FAULTS] == 0
    assert any(e[1] == "storage" and "again" in e[2] for e in p.app.events)


def test_flash_is_written_only_with_the_motor_stopped_and_the_actuator_at_rest():
    fs = WatchedFS()
    p = linked_pen(fs=fs)
    fs.pen = p
    assert ask(p, "speed 3") == ["OK speed 3 (120 strokes/s)"]
    assert ask(p, "start") == ["OK start"]
    p.run_ms(3000)
    assert ask(p, "depth 1.2") == ["OK depth 1200 um"]
    p.run_ms(500)
    short = faults.KINDS["current_short"]           # over-current latches while running
    short.inject(p, short.default)
    p.run_ms(100)
    assert p.m[T.S_FAULTS] & T.F_OVERCURRENT
    short.heal(p)
    p.run_ms(3000)
    assert fs.at_write, "the latched fault was never stored"
    for state, duty, act, run in fs.at_write:
        assert state != T.ST_RUNNING and duty == 0 and run == 0
    # the retract after the fault finished before the fault was stored (the
    # write before the start, the cartridge's reservation, is made with the
    # motor stopped: the needles do not stroke while the actuator moves)
    assert fs.at_write[-1][2] == 0


def test_reset_and_maintenance_are_planned_and_refused_while_running():
    p = linked_pen()
    assert ask(p, "start") == ["OK start"]
    (ans,) = ask(p, "reset")
    assert ans == "ERR refused stop the motor first"
    assert ask(p, "stop") == ["OK stop"]
    assert ask(p, "reset") == ["OK reset"]
    p.run_ms(50)
    assert p.hal.resets == ["planned"]
    assert p.hal.reset_cause() == "planned"          # what the next boot reads
    assert ask(p, "maintenance")[0].startswith("OK maintenance")
    p.run_ms(50)
    assert p.hal.resets == ["planned", "maintenance"]


def test_a_planned_reset_is_not_a_watchdog_reset():
    p = linked_pen()
    assert ask(p, "reset") == ["OK reset"]
    p.run_ms(50)
    p.reboot("watchdog")                             # an rp2 reset reads as the watchdog's...
    p.run_ms(20)
    assert not p.m[T.S_FAULTS] & T.F_WATCHDOG        # ...but the mark says planned
    p.reboot("watchdog")                             # a real timeout, unmarked
    p.run_ms(20)
    assert p.m[T.S_FAULTS] & T.F_WATCHDOG


def test_log_is_streamed_in_order_and_bounded():
    p = linked_pen()
    for _ in range(30):
        ask(p, "clear", ms=10)                       # one log event each
    (ans,) = ask(p, "log 500")
    assert ans.startswith("ERR out_of_range")
    n = len(p.link.lines)
    p.link.inbox += b"log 25\nstatus\n"
    p.run_ms(200)
    out = p.link.lines[n:]
    assert [x[:2] for x in out[:25]] == ["L "] * 25
    assert out[25] == "OK log 25" and out[26].startswith("OK {")


def test_version_floor():
    assert version_problem("rp2", (1, 25, 0)).startswith("MicroPython 1.25 is too old for the rp2 pen")
    assert version_problem("rp2", (1, 26, 0)) is None
    assert version_problem("esp32", (1, 24, 1)) is not None
    assert version_problem("sim", (1, 20, 0)) is None
