# The serial protocol: every command answers OK or ERR with a reason; the
# firmware itself refuses what the pen must refuse; junk never moves the motor.
import json

from pen import tick as T
from pen.protocol import ProtocolError, parse_depth

from rigs import ask, linked_pen, raises


def test_status_and_info():
    p = linked_pen()
    (ans,) = ask(p, "status")
    assert ans.startswith("OK {")
    s = json.loads(ans[3:])
    assert s["state"] == "idle" and s["level"] == 4 and s["limit_um"] == [200, 1500]
    (ans,) = ask(p, "info")
    info = json.loads(ans[3:])
    assert info["board"] == "virtual" and info["levels_sps"][0] == 80


def test_speed_depth_start_stop():
    p = linked_pen()
    assert ask(p, "speed 3") == ["OK speed 3 (120 strokes/s)"]
    assert ask(p, "depth 0.75") == ["OK depth 750 um"]
    assert ask(p, "depth 800um") == ["OK depth 800 um"]
    assert ask(p, "start") == ["OK start"]
    p.run_ms(1500)
    assert p.core.running() and abs(p.plant.rate_sps() - 120) < 2
    assert ask(p, "stop") == ["OK stop"]
    assert not p.core.running() and p.m[T.O_DUTY] == 0


def test_out_of_range_is_refused_with_the_allowed_range():
    p = linked_pen(zone="forehead")
    (ans,) = ask(p, "depth 1.2")
    assert ans.startswith("ERR out_of_range depth 1200 um is outside the active limit 200..500 um")
    assert p.m[T.C_DEPTH_UM] == 500
    (ans,) = ask(p, "speed 9")
    assert ans == "ERR out_of_range speed level 9 is outside 1..6"
    (ans,) = ask(p, "depth 0.33")
    assert ans.startswith("ERR bad_argument depth must be a multiple of 50 um")


def test_start_with_a_latched_fault_is_refused_by_the_firmware():
    p = linked_pen()
    p.core.raise_fault(T.F_WATCHDOG)
    p.run_ms(20)
    (ans,) = ask(p, "start")
    assert ans.startswith("ERR refused start refused: a fault is latched") and "watchdog" in ans
    p.run_ms(50)
    assert not p.core.running()
    assert ask(p, "clear") == ["OK clear"]
    assert ask(p, "start") == ["OK start"]


def test_errors_for_malformed_commands():
    p = linked_pen()
    cases = {
        "frobnicate": "ERR unknown_command",
        "speed": "ERR bad_argument usage: speed",
        "speed fast": "ERR bad_argument speed level must be a whole number",
        "speed 1 2": "ERR bad_argument usage",
        "depth": "ERR bad_argument",
        "depth -1": "ERR bad_argument",
        "depth 1e3": "ERR bad_argument",
        "zone elbow": "ERR bad_argument unknown zone 'elbow'",
        "tele on 500": "ERR out_of_range telemetry rate 500 Hz",
        "set level 3": "ERR bad_argument settable",
        "set cal_depth_a 10": "ERR refused calibration is a service function",
        "set auto_off_s 5": "ERR out_of_range auto_off_s = 5 is outside 30..3600",
        "sim press power": "ERR unknown_command 'sim' exists on the virtual pen only",
    }
    for line, want in cases.items():
        (ans,) = ask(p, line)
        assert ans.startswith(want), (line, ans)


def test_long_lines_and_binary_junk():
    p = linked_pen()
    (ans,) = ask(p, b"x" * 500 + b"\n")
    assert ans.startswith("ERR too_long")
    (ans,) = ask(p, b"\xff\xfe\x80 start\n")
    assert ans.startswith("ERR bad_encoding")
    # found by hypothesis: CPython took U+00A0 for a space and started
    for junk in (b"start \xc2\xa0\n", b"speed \xc2\xb2\n"):
        (ans,) = ask(p, junk)
        assert ans.startswith("ERR bad_encoding"), ans
    assert ask(p, b"\r\n\n  \n") == []
    assert ask(p, "status")[0].startswith("OK ")      # still answering
    assert not p.core.running()


def test_telemetry_stream():
    p = linked_pen()
    assert ask(p, "tele on 20") == ["OK tele on 20"]
    ask(p, "start")
    n = len(p.link.lines)
    p.run_ms(1000)
    tele = [json.loads(x[2:]) for x in p.link.lines[n:] if x.startswith("T ")]
    assert 18 <= len(tele) <= 22
    assert tele[-1]["st"] == "running" and tele[-1]["lv"] == 4 and abs(tele[-1]["rate"] - 14000) < 300
    ask(p, "tele off")
    n = len(p.link.lines)
    p.run_ms(300)
    assert not [x for x in p.link.lines[n:] if x.startswith("T ")]


def test_log_over_the_link():
    p = linked_pen()
    ask(p, "start")
    p.run_ms(500)
    p.plant.jam_torque = 0.05
    p.run_ms(200)
    assert p.m[T.S_FAULTS]
    p.run_ms(1100)                        # the motor is off: the log reaches flash
    lines = ask(p, "log 10")
    assert lines[-1].startswith("OK log ")
    events = [json.loads(x[2:]) for x in lines if x.startswith("L ")]
    kinds = [e["kind"] for e in events]
    assert "boot" in kinds and "start" in kinds and "fault" in kinds


def test_settings_over_the_link():
    p = linked_pen()
    assert ask(p, "set auto_off_s 600") == ["OK auto_off_s 600"]
    assert ask(p, "get auto_off_s") == ["OK auto_off_s 600"]
    assert p.app.ui.auto_off_ms == 600000


def test_depth_parser():
    assert parse_depth("0.5") == 500 and parse_depth("1.25") == 1250 and parse_depth("2") == 2000
    assert parse_depth(".75") == 750 and parse_depth("0.55mm") == 550 and parse_depth("550um") == 550
    for bad in ("", ".", "-0.5", "1.2345", "abc", "1,5", "999", "0x10", "5e2", "12345678um"):
        raises(ProtocolError, parse_depth, bad)


def test_random_bytes_never_move_the_motor():
    """A deterministic junk stream (the hypothesis version runs thousands)."""
    p = linked_pen()
    seed = 12345
    junk = bytearray()
    for _ in range(6000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        junk.append((seed >> 16) & 0xFF)
    p.link.inbox = bytes(junk)
    p.run_ms(2000)
    assert not p.core.running() and p.m[T.O_DUTY] == 0
    assert all(x.startswith(("OK", "ERR", "T ", "L ")) for x in p.link.lines)
    # a host resynchronises with a newline (ending whatever junk is pending)
    assert ask(p, "\nstatus")[-1].startswith("OK ")


def test_blank_lines_are_ignored_as_documented():
    # docs/protocol.md: blank lines (empty, or only spaces and tabs) get no
    # answer; every line with a word in it gets exactly one.
    p = linked_pen()
    assert ask(p, b"\n   \n\t \r\n") == []
    assert ask(p, b" \t status \n")[0].startswith("OK {")
    assert ask(p, b"  \nspeed 3\n\t\n") == ["OK speed 3 (120 strokes/s)"]


def test_a_setting_is_on_flash_before_its_ok():
    from rigs import FakeFS
    fs = FakeFS()
    p = linked_pen(fs=fs)
    answers_at_write = []
    write = fs.write

    def noting_write(path, data):
        answers_at_write.append(len(p.link.lines))
        write(path, data)

    fs.write = noting_write
    n = len(p.link.lines)
    assert ask(p, "set auto_off_s 120") == ["OK auto_off_s 120"]
    assert answers_at_write and answers_at_write[0] == n      # written before the OK went out
    assert b'"auto_off_s": 120' in fs.files["settings.rec"]
    assert ask(p, "start") == ["OK start"]
    (ans,) = ask(p, "set auto_off_s 200")
    assert ans.startswith("ERR refused stop the motor first")
    assert b'"auto_off_s": 120' in fs.files["settings.rec"]


def test_a_burst_of_commands_is_answered_in_full_by_a_slow_host():
    # The output queue holds 1 KB and a status answer is ~560 B: commands
    # sent together wait for room instead of losing an answer (the emulated
    # chip lost one at a stop before: info's serial_dropped 1).
    from pen.link import QUEUE_BYTES

    class SlowHost:
        """A 1 KB queue that the host drains a line a beat."""
        def __init__(self):
            self.inbox = b""
            self.lines = []
            self.queued = []
            self.dropped = 0

        def read(self):
            data, self.inbox = self.inbox, b""
            return data

        def write(self, line):
            if sum(len(x) + 1 for x in self.queued) + len(line) + 1 > QUEUE_BYTES:
                self.dropped += 1
                return False
            self.queued.append(line)
            return True

        def room(self):
            return QUEUE_BYTES - sum(len(x) + 1 for x in self.queued)

        def pending(self):
            return len(self.queued)

        def pump(self):
            if self.queued:                  # one line a beat: a host slower than the pen
                self.lines.append(self.queued.pop(0))
            return 0

    p = linked_pen()
    host = SlowHost()
    p.link = p.app.link = host
    p.app.protocol.write = host.write
    host.inbox = b"status\nstatus\nstatus\nspeed 3\nstatus\ninfo\n"
    p.run_ms(400)
    answers = [x for x in host.lines if x.startswith(("OK", "ERR"))]
    assert len(answers) == 6 and host.dropped == 0, (len(answers), host.dropped)
    assert answers[3] == "OK speed 3 (120 strokes/s)"
