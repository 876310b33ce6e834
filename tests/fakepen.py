"""A fake pen on a pseudo-terminal, for the host tools' tests: a thread that
answers like the pen's protocol (docs/protocol.md), says nothing, answers
garbage, or goes away.  Starts in milliseconds (the real virtual pen takes
seconds: tests/vpen.py)."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import sys
import threading
import tty
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

STATUS: dict[str, Any] = {
    "state": "idle", "faults": [], "level": 3, "levels": 6, "rate_sps": 0.0, "target_sps": 120.0,
    "duty": 0, "depth_um": 500, "depth_target_um": 500, "limit_um": [200, 1500], "zone": "cheeks",
    "profile": "professional", "cartridge": "12pin", "cartridge_use_s": 75, "battery_mv": 3900,
    "temp_c": 31.5, "current_ma": 0, "warnings": [], "pen_id": "fake-0001", "t_ms": 1234,
    "loop": {"jitter_us": 3, "exec_max_us": 40, "late_max_us": 0, "overruns": 0, "irq": False},
}
INFO: dict[str, Any] = {"firmware": "0.1.0", "board": "Pen RP2040", "board_file": "pen_rp2040", "port": "rp2",
                        "pen_id": "fake-0001"}
GARBAGE = b"\x00\xfe\xff#?%$\x1b[2J random noise 0x3f \xc3\x28\r\n" + bytes(range(128, 160)) + b"\r\n"


class FakePen:
    """mode: "pen" (answers the protocol), "silent" (reads, never answers),
    "garbage" (answers every input with noise).  `die_on`: a command on
    which the pen goes away before answering (the pty's master is closed)."""

    def __init__(self, mode: str = "pen", die_on: str | None = None, status: dict[str, Any] | None = None,
                 info: dict[str, Any] | None = None) -> None:
        self.mode = mode
        self.die_on = die_on
        self.status = dict(STATUS if status is None else status)
        self.info = dict(INFO if info is None else info)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.commands: list[str] = []      # every protocol line it got, in order
        self.received = bytearray()
        self._stop = threading.Event()
        self._gone = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __enter__(self) -> FakePen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.vanish()
        try:
            os.close(self.slave)
        except OSError:
            pass

    def vanish(self) -> None:
        """The pen goes away (a USB cable pulled): the host's reads fail."""
        if not self._gone:
            self._gone = True
            try:
                os.close(self.master)
            except OSError:
                pass

    # ---- the pen's side ------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set() and not self._gone:
            try:
                ready = select.select([self.master], [], [], 0.05)[0]
                data = os.read(self.master, 4096) if ready else b""
            except (OSError, ValueError):
                return
            if not data:
                continue
            self.received += data
            if self.mode == "silent":
                continue
            if self.mode == "garbage":
                self._write(GARBAGE)
                continue
            pending += data.replace(b"\r", b"\n")
            while b"\n" in pending:
                raw, _, pending = pending.partition(b"\n")
                line = raw.decode(errors="replace").strip()
                if not line:
                    continue
                self.commands.append(line)
                if self.die_on and line.split()[0] == self.die_on:
                    self.vanish()                # gone before it answers
                    return
                for out in self.answer(line):
                    self._write(out.encode() + b"\r\n")

    def answer(self, line: str) -> list[str]:
        words = line.split()
        cmd = words[0].lower()
        if cmd == "help":
            return ["OK commands: help status info tele start stop clear speed depth zone log get set reset"]
        if cmd == "status":
            return ["OK " + json.dumps(self.status)]
        if cmd == "info":
            return ["OK " + json.dumps(self.info)]
        if cmd == "log":
            n = int(words[1]) if len(words) > 1 and words[1].isdigit() else 20
            n = min(n, 3)
            entries = [json.dumps({"seq": i, "boot": 1, "ms": 10 * i, "kind": "boot", "detail": "reset=power"})
                       for i in range(n)]
            return ["L " + e for e in entries] + [f"OK log {n}"]
        if cmd == "tele":
            return ["OK " + line]
        if cmd in ("start", "stop", "clear", "reset"):
            self.status["state"] = "running" if cmd == "start" else "idle"
            return ["OK " + cmd]
        if cmd == "speed" and len(words) == 2 and words[1].isdigit() and 1 <= int(words[1]) <= 6:
            return [f"OK speed {words[1]}"]
        if cmd == "speed":
            return ["ERR out_of_range speed 1..6"]
        if cmd == "service":
            return ["ERR refused service mode is locked"]
        if cmd == "maintenance":
            return ["ERR refused stop the motor first"]
        return [f"ERR unknown_command {cmd}"]


class Hung(BaseException):
    """The command did not end in time (a BaseException: no `except
    Exception` in the tool under test can swallow it)."""


def run_cli(*args: str, stdin: bytes = b"", timeout: float = 60.0) -> tuple[int, str, str]:
    """`needlepen ARGS` in this process (fast): exit code, stdout, stderr.
    stdin is a script (not a terminal).  A command that hangs raises Hung
    after `timeout` seconds (a SIGALRM: the tests' main thread)."""
    from host_tools.cli import main

    def hung(signum: int, frame: object) -> None:
        raise Hung(f"needlepen {' '.join(args)} did not end within {timeout} s")

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    old = signal.signal(signal.SIGALRM, hung)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:          # argparse's usage errors
                code = e.code if isinstance(e.code, int) else 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()
