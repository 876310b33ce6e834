"""The host end of the pen's serial protocol (docs/protocol.md), over pyserial."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import serial


class LinkError(Exception):
    pass


@dataclass
class Answer:
    ok: bool
    text: str                     # after "OK " / "ERR "
    code: str = ""                # the error code for ERR
    lines: list[str] = field(default_factory=list)   # "L ..." lines that came with it

    def json(self) -> Any:
        return json.loads(self.text)


class PenLink:
    """Commands and telemetry; restarts the firmware if the pen sits at the
    REPL (as it does after an mpremote session)."""

    def __init__(self, port: str, timeout: float = 5.0, restart: bool = True) -> None:
        self.port = port
        self.timeout = timeout
        try:
            self.ser = serial.Serial(port, 115200, timeout=0.05)
        except (serial.SerialException, OSError) as e:
            raise LinkError(f"cannot open {port}: {e} (is the pen connected? list ports with "
                            f"python -m serial.tools.list_ports; a virtual pen prints its port)") from None
        self.buf = b""
        self.telemetry: list[dict[str, Any]] = []
        self.notes: list[str] = []            # other lines the pen printed
        self._sync(restart)

    def close(self) -> None:
        self.ser.close()

    def __enter__(self) -> PenLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- lines ---------------------------------------------------------------
    def _readline(self, deadline: float) -> str | None:
        while b"\n" not in self.buf:
            if time.monotonic() > deadline:
                return None
            chunk = self.ser.read(512)
            if chunk:
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    def _route(self, line: str) -> None:
        if line.startswith("T "):
            try:
                self.telemetry.append(json.loads(line[2:]))
            except ValueError:
                pass
            del self.telemetry[:-1000]
        elif line:
            self.notes.append(line)
            del self.notes[:-200]

    def _sync(self, restart: bool) -> None:
        # End whatever partial line the pen holds and see if the firmware
        # answers; if not, the pen is at a REPL (raw, raw-paste or friendly,
        # as an mpremote session or a cut-off deploy leaves it): get it to the
        # friendly REPL and soft-reset it, which runs boot.py and main.py.
        self.ser.write(b"\r\nhelp\n")
        if self._answered(3.0):               # a pen that is still booting answers late
            return
        if not restart:
            raise LinkError(f"the pen at {self.port} is not running the firmware (at the REPL?)")
        self.ser.write(b"\x04")               # ends a raw paste (or soft-resets a raw REPL)
        time.sleep(0.3)
        self.ser.write(b"\r\x02")             # raw REPL -> friendly REPL
        time.sleep(0.3)
        self.ser.write(b"\x04")               # friendly REPL: soft reset
        deadline = time.monotonic() + 15
        while True:
            line = self._readline(deadline)
            if line is None:
                raise LinkError(f"the pen at {self.port} did not start its firmware; it printed: "
                                f"{' | '.join(self.notes[-5:]) or 'nothing'}")
            # the firmware's answer to our "help", late, or its start-up line
            # (the raw REPL says a bare "OK" to the Ctrl-D: not proof)
            if line.startswith(("needlepen: running", "OK commands:")):
                return
            if line.startswith(("needlepen: maintenance mode", "needlepen: speed-down held")):
                # its firmware will not run until a reset (or the button is released)
                raise LinkError(f"the pen at {self.port} restarted into maintenance mode: {line}")
            self._route(line)

    def _answered(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            line = self._readline(deadline)
            if line is None:
                return False
            if line.startswith(("OK", "ERR")):
                return True

    # ---- commands ------------------------------------------------------------
    def command(self, line: str, timeout: float | None = None) -> Answer:
        """Send one command line; the pen's answer (OK or ERR)."""
        self.ser.write(line.encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        extra: list[str] = []
        while True:
            got = self._readline(deadline)
            if got is None:
                raise LinkError(f"no answer from the pen to '{line}' within {timeout or self.timeout:.0f} s")
            if got.startswith("OK"):
                return Answer(True, got[3:], lines=extra)
            if got.startswith("ERR"):
                _, code, text = (got + "  ").split(" ", 2)
                return Answer(False, text.strip(), code, extra)
            if got.startswith("L "):
                extra.append(got[2:])
            else:
                self._route(got)

    def must(self, line: str, timeout: float | None = None) -> Answer:
        a = self.command(line, timeout)
        if not a.ok:
            raise LinkError(f"the pen refused '{line}': {a.code} {a.text}")
        return a

    def pump(self, seconds: float) -> None:
        """Read telemetry and messages for a while."""
        deadline = time.monotonic() + seconds
        while True:
            got = self._readline(deadline)
            if got is None:
                return
            self._route(got)
