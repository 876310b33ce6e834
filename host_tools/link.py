"""The host end of the pen's serial protocol (docs/protocol.md), over pyserial.

Every wait here is bounded and ends in a LinkError whose text says what to
do: a port that cannot be opened or is held by another program, a device
that says nothing or answers garbage, a pen that goes away mid-session."""

from __future__ import annotations

import errno
import json
import time
from dataclasses import dataclass, field
from typing import Any

import serial

ANSWER_S = 3.0       # a running firmware answers `help` within this (also one that is still booting)
QUIET_S = 2.0        # after the restart bytes, a MicroPython says something within this
BOOT_S = 15.0        # ... and a pen that did restart prints its firmware's start-up line within this
# what a MicroPython board (or the firmware) prints: a device that printed none of this is no pen
_MICROPYTHON = (b"MicroPython", b"MPY:", b"raw REPL", b">>>", b"needlepen", b"Traceback")
NOT_A_PEN = ("is it a needlepen running its firmware? (needlepen ports lists the ports; a board without the "
             "firmware: needlepen deploy --board NAME)")


class LinkError(Exception):
    """The pen cannot be reached or stopped answering; the text says what to do."""


class PortOpenError(LinkError):
    """The port itself cannot be opened (missing, busy, not a serial port)."""


def open_error(port: str, e: Exception) -> str:
    """What went wrong opening `port`, and what to do, in one line."""
    code = getattr(e, "errno", None)
    text = str(e)
    if "exclusively lock" in text or code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
        return (f"{port} is busy: another program has it open (a needlepen console, mpremote, a serial "
                f"terminal?); close that first")
    if code == errno.ENOENT:
        return (f"cannot open {port}: no such port (is the pen connected? needlepen ports to list ports; "
                f"a virtual pen prints its own)")
    if code == errno.EACCES:
        return (f"cannot open {port}: permission denied (on Linux: add yourself to the dialout group "
                f"and log in again)")
    if code == errno.EISDIR or "configure port" in text or code == errno.ENOTTY:
        return f"cannot open {port}: not a serial port (needlepen ports to list ports)"
    return f"cannot open {port}: {text} (needlepen ports to list ports)"


def open_serial(port: str, timeout: float | None = 0.05) -> serial.Serial:
    """The port, opened for this program alone (an exclusive lock where
    pyserial has one: a second needlepen on the same port is told so)."""
    try:
        return serial.Serial(port, 115200, timeout=timeout, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        raise PortOpenError(open_error(port, e)) from None


def went_away(port: str, e: Exception) -> LinkError:
    return LinkError(f"the pen went away: {port}: {e} (unplugged, reset, or the virtual pen stopped?)")


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
        self.ser = open_serial(port)
        self.buf = b""
        self.heard = b""                      # the first bytes the pen sent (is it a MicroPython at all?)
        self.owed = 0                         # probes (help) sent and not answered yet
        self.telemetry: list[dict[str, Any]] = []
        self.notes: list[str] = []            # other lines the pen printed
        try:
            self._sync(restart)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.ser.close()
        except (serial.SerialException, OSError):
            pass                              # it went away: closed anyway

    def __enter__(self) -> PenLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- lines ---------------------------------------------------------------
    def _read(self) -> bytes:
        try:
            chunk = self.ser.read(512)
        except (serial.SerialException, OSError) as e:
            raise went_away(self.port, e) from None
        if chunk and len(self.heard) < 4096:
            self.heard += chunk
        return bytes(chunk or b"")

    def write(self, data: bytes) -> None:
        try:
            self.ser.write(data)
        except (serial.SerialException, OSError) as e:
            raise went_away(self.port, e) from None

    def _readline(self, deadline: float) -> str | None:
        while b"\n" not in self.buf:
            if time.monotonic() > deadline:
                return None
            self.buf += self._read()
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
        # A device that says nothing, or nothing a MicroPython would, is
        # told apart within seconds (ANSWER_S + QUIET_S), not after BOOT_S.
        start = time.monotonic()
        self.owed = 1                         # our probes not answered yet (see _settle)
        self.write(b"\r\nhelp\n")
        if self._answered(ANSWER_S):          # a pen that is still booting answers late
            self._settle()
            return
        if not restart:
            if not self.heard:
                raise LinkError(self._silent(start))
            raise LinkError(f"the pen at {self.port} is not running the firmware (at the REPL?)")
        self.write(b"\x04")                  # ends a raw paste (or soft-resets a raw REPL)
        time.sleep(0.3)
        self.write(b"\r\x02")                # raw REPL -> friendly REPL
        time.sleep(0.3)
        self.write(b"\x04")                  # friendly REPL: soft reset
        restarted = time.monotonic()
        deadline = restarted + BOOT_S
        while True:
            # nothing at all, or nothing like a MicroPython: no pen; a
            # MicroPython that restarts gets BOOT_S for its firmware's line
            mp = self._sounds_like_micropython()
            line = self._readline(deadline if mp else min(deadline, restarted + QUIET_S))
            if line is None:
                if not self.heard:
                    raise LinkError(self._silent(start))
                if not self._sounds_like_micropython():
                    raise LinkError(f"{self.port} answers, but not like a pen or a MicroPython board "
                                    f"(it printed {self.heard[:40]!r}...); {NOT_A_PEN}")
                raise LinkError(f"the pen at {self.port} did not start its firmware within "
                                f"{time.monotonic() - start:.0f} s; it printed: "
                                f"{' | '.join(self.notes[-5:]) or 'nothing'}")
            # the firmware's answer to our "help", late, or its start-up line
            # (the raw REPL says a bare "OK" to the Ctrl-D: not proof)
            if line.startswith(("needlepen: running", "OK commands:")):
                self.owed -= line.startswith("OK commands:")
                self._settle()
                return
            if line.startswith(("needlepen: maintenance mode", "needlepen: speed-down held")):
                # its firmware will not run until a reset (or the button is released)
                raise LinkError(f"the pen at {self.port} restarted into maintenance mode: {line}")
            self._route(line)

    def _sounds_like_micropython(self) -> bool:
        return any(m in self.heard for m in _MICROPYTHON)

    def _silent(self, start: float) -> str:
        return f"no answer from the pen on {self.port} after {time.monotonic() - start:.0f} s; {NOT_A_PEN}"

    def _answered(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            line = self._readline(deadline)
            if line is None:
                return False
            if line.startswith(("OK", "ERR")):
                self.owed -= 1
                return True
            if line.startswith("needlepen: running"):     # it was booting: ask again
                self.owed += 1
                self.write(b"help\n")
                deadline = max(deadline, time.monotonic() + 1.0)

    def _settle(self) -> None:
        # A probe sent while the pen booted may be answered after all (a
        # board that buffered it, the virtual pen that holds input until its
        # boot): take those answers now, or a command would read one as its own.
        deadline = time.monotonic() + 1.0
        while self.owed > 0:
            line = self._readline(deadline)
            if line is None:
                break
            if line.startswith("OK commands:"):
                self.owed -= 1
            elif not line.startswith("needlepen: running"):
                self._route(line)
        self.owed = 0

    # ---- commands ------------------------------------------------------------
    def command(self, line: str, timeout: float | None = None) -> Answer:
        """Send one command line; the pen's answer (OK or ERR)."""
        self.write(line.encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        extra: list[str] = []
        while True:
            got = self._readline(deadline)
            if got is None:
                raise LinkError(f"no answer from the pen on {self.port} to '{line}' within "
                                f"{timeout or self.timeout:.0f} s (busy, or gone?)")
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
