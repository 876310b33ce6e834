"""`needlepen virtual-pen`: the real firmware (main.py, the virtual board, the
simulated plant) in the MicroPython unix port on a pseudo-terminal, so that
deploy, console, log and mpremote talk to it exactly as to a pen's USB port.

    host tool <-> slave B (the port we print) <-> master B
                  [this supervisor relays bytes]
    master A <-> slave A = stdin/stdout/stderr + controlling tty of micropython

Two pty pairs: the host needs a tty *path* it can open and close at will;
micropython needs a tty on stdin (its REPL, and Ctrl-C -> SIGINT ->
KeyboardInterrupt).  When micropython exits (Ctrl-D at the REPL, a soft or
hard reset, a crash) it is started again on the same pty: a reboot.  (After
a research prototype that established the termios and raw-REPL details.)
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host_tools import paths

HARD_RESET_RC = 121        # exit code of host_tools/vpen_lib/machine.py reset()
RESET_MARK = b"\x1b[vpen-reset]"   # ...and what it prints first (a script's SystemExit goes to the -i REPL)
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
MAX_TO_HOST = 256 * 1024   # device output buffered for a slow host; excess is dropped
READY_CC, READY_MARK = termios.VEOL2, b"\xfe"   # set by vpen_boot.py once it runs


def set_device_termios(fd):
    """termios of slave A while a script runs (what the unix REPL calls "orig").

    - ICANON/ECHO off: the script sees each byte at once, nothing is echoed
    - ISIG on: 0x03 -> SIGINT -> KeyboardInterrupt (the unix port's Ctrl-C path)
    - NOFLSH: the kernel must not discard queued in/output on Ctrl-C
    - OPOST off: no \\n -> \\r\\n.  With ONLCR on, the raw REPL banner becomes
      "...CTRL-B to exit\\r\\r\\n>" and mpremote cannot enter the raw REPL.
    - VQUIT/VSUSP disabled so 0x1c / 0x1a are plain data.
    The REPL sets lflag=0 while it waits for input and restores this to run code.
    """
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP |
               termios.IXON | termios.IXOFF | termios.INLCR | termios.IGNCR)
    oflag &= ~termios.OPOST
    cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    lflag = termios.ISIG | termios.NOFLSH
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    cc[termios.VINTR] = 3
    cc[termios.VQUIT] = 0
    cc[termios.VSUSP] = 0
    cc[READY_CC] = b"\0"        # vpen_boot.py sets READY_MARK (harmless: ICANON is off)
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, ispeed, ospeed, cc])


class Supervisor:
    HOLD_TIMEOUT = 3.0

    def __init__(self, cmd, cwd, link, gate=True, log=None, env=None):
        self.cmd, self.cwd, self.link, self.gate, self.log, self.env = cmd, cwd, link, gate, log, env
        self.proc: subprocess.Popen | None = None
        self.boots = 0
        self.mA, self.sA = os.openpty()          # device side; we keep sA open
        self.mB, sB = os.openpty()                # host side
        tty.setraw(sB)
        self.host_path = os.ttyname(sB)
        os.close(sB)                              # POLLHUP on mB <=> no host has it open
        os.set_blocking(self.mA, False)
        os.set_blocking(self.mB, False)
        if link:
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(self.host_path, link)
        self.connected = False
        self.to_host = b""      # device -> host bytes not yet written
        self.to_dev = b""       # host -> device bytes not yet written
        self.held: bytes | None = None   # host -> device bytes held back (see _from_host)
        self.hold_deadline = 0.0
        self.raw_mode = False   # device last showed the raw REPL banner
        self.tail = b""         # last device output, for banner/prompt detection
        self.raw_boot = False   # rebooting into raw REPL: hide banner, then send Ctrl-A
        self.booting = False    # process started, vpen_boot.py not yet running
        self.dropped = 0
        self.reset_at = 0.0

    def _log(self, *a):
        if self.log:
            print("[vpen %.3f]" % time.monotonic(), *a, file=self.log, flush=True)

    # --- micropython process -------------------------------------------------
    def _child_setup(self):
        os.setsid()                                # new session ...
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)       # ... slave A as ctty -> ISIG sends SIGINT

    def start(self, raw=False):
        set_device_termios(self.sA)               # a killed REPL may have left lflag=0
        termios.tcflush(self.sA, termios.TCIFLUSH)   # reset: old unread input is lost
        self.to_dev = b""
        self.boots += 1
        env = dict(self.env if self.env is not None else os.environ)
        env["VPEN_BOOT"] = "raw" if raw else "normal"   # vpen_boot.py skips main.py if raw
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, stdin=self.sA, stdout=self.sA, stderr=self.sA,
            preexec_fn=self._child_setup, env=env, close_fds=True)
        self.raw_boot, self.raw_mode, self.tail = raw, False, b""
        self.reset_at = 0.0     # machine.reset() seen: hard-reset the process by then
        self.booting = True
        self._log("boot #%d pid %d%s" % (self.boots, self.proc.pid, " (raw REPL)" if raw else ""))

    def reboot(self, rc):
        """micropython exited.  Like a board's soft reset; back into the raw REPL
        if it was in the raw REPL (mpremote's enter_raw_repl(soft_reset=True)
        sends Ctrl-A, Ctrl-D and waits for "soft reboot\\r\\n" + raw banner)."""
        hard = rc == HARD_RESET_RC
        raw = self.raw_mode and not hard
        kind = "hard" if hard else "raw-REPL soft" if raw else "soft"
        self._log("micropython exited rc=%s -> %s reboot" % (rc, kind))
        # Bytes the old process never read (e.g. a host command sent right after
        # Ctrl-D) survive a soft reset, like a board's USB RX buffer; they are
        # replayed once the new process runs vpen_boot.py.  A hard reset drops them.
        pending = self._drain_device_input() + self.to_dev + (self.held or b"")
        self.to_dev = b""
        if not hard:
            self._to_host(b"MPY: soft reboot\r\n")
        self.start(raw=raw)
        self.held = b"" if hard else pending
        self.hold_deadline = time.monotonic() + 10
        if self.held:
            self._log("holding %r until boot" % self.held[:40])

    def _drain_device_input(self):
        data = b""
        os.set_blocking(self.sA, False)
        try:
            while True:
                data += os.read(self.sA, 4096)
        except OSError:
            pass
        finally:
            os.set_blocking(self.sA, True)
        return data

    def device_ready(self):
        return termios.tcgetattr(self.sA)[6][READY_CC] == READY_MARK

    def device_in_repl(self):
        """True while the unix REPL (friendly or raw) waits for input: it has
        cleared ISIG (lflag=0) via mp_hal_stdio_mode_raw()."""
        return not (termios.tcgetattr(self.sA)[3] & termios.ISIG)

    # --- device -> host ------------------------------------------------------
    def _to_host(self, data):
        if not self.connected:
            return                  # nobody has the port open: drop (like CDC without DTR)
        room = MAX_TO_HOST - len(self.to_host)
        if len(data) > room:
            self.dropped += len(data) - max(room, 0)
            self._log("host not reading, dropped %d bytes so far" % self.dropped)
            data = data[:max(room, 0)]
        self.to_host += data

    def _track_output(self, data):
        t = self.tail + data
        r = t.rfind(RAW_BANNER)
        f = max(t.rfind(b">>> "), t.rfind(b'Type "help()"'))
        if r >= 0 or f >= 0:
            self.raw_mode = r > f
        self.tail = t[-64:]

    # --- host -> device ------------------------------------------------------
    def _from_host(self, data):
        if self.reset_at:
            self._log("resetting: dropped %r" % data[:40])
            return              # a chip in reset receives nothing
        if self.held is not None:
            self.held += data
            return
        i = data.find(b"\x03")
        if self.gate and i >= 0 and not self.device_in_repl():
            # A script is running, so 0x03 becomes SIGINT.  Until the script has
            # handled KeyboardInterrupt and the REPL is up, hold back what
            # follows (mpremote's "\r\x01"), so that the script's own stdin
            # reader can't swallow it.  Released on REPL or after HOLD_TIMEOUT.
            self.to_dev += data[:i + 1]
            self.held = data[i + 1:]
            self.hold_deadline = time.monotonic() + self.HOLD_TIMEOUT
            self._log("Ctrl-C to running script; holding %r" % self.held[:40])
        else:
            self.to_dev += data

    def _release(self, why):
        data, self.held = self.held or b"", None
        self._log("release %r (%s)" % (data[:40], why))
        if data:
            self._from_host(data)

    def _maybe_release(self):
        if self.booting:
            if not (self.device_ready() or self.device_in_repl()):
                if self.held is not None and time.monotonic() > self.hold_deadline:
                    self._release("boot timeout")
                return
            self.booting = False
            self._log("boot done")
            if self.held is not None and not self.raw_boot:
                self._release("boot")
                return
        if self.held is None or self.raw_boot:
            return
        if self.device_in_repl():
            self._release("repl")
        elif time.monotonic() > self.hold_deadline:
            self._release("timeout")

    # --- main loop -----------------------------------------------------------
    def _check_host(self):
        p = select.poll()
        p.register(self.mB, select.POLLIN)
        ev = p.poll(0)
        hup = bool(ev and ev[0][1] & select.POLLHUP)
        if self.connected and hup:
            self._log("host closed port")
            self.to_host = b""
        elif not self.connected and not hup:
            self._log("host opened port")
        self.connected = not hup

    @staticmethod
    def _write(fd, buf):
        try:
            return buf[os.write(fd, buf):]
        except BlockingIOError:
            return buf
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            return b""

    def run(self):
        # wake the select loop at once when micropython exits
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        signal.set_wakeup_fd(wake_w)
        self.start()
        try:
            while True:
                self._check_host()
                rl, wl = [wake_r, self.mA], []
                if self.connected:
                    if not self.to_dev:          # backpressure towards the host
                        rl.append(self.mB)
                    if self.to_host:
                        wl.append(self.mB)
                if self.to_dev:
                    wl.append(self.mA)
                busy = self.held is not None or self.raw_boot or self.booting or bool(self.reset_at)
                timeout = 0.01 if busy else 0.05 if not self.connected else 0.2
                r, _w, _ = select.select(rl, wl, [], timeout)
                if wake_r in r:
                    try:
                        os.read(wake_r, 512)
                    except BlockingIOError:
                        pass
                if self.mB in r:
                    try:
                        data = os.read(self.mB, 4096)
                    except OSError:
                        data = b""
                    if data:
                        self._from_host(data)
                if self.mA in r:
                    try:
                        data = os.read(self.mA, 65536)
                    except BlockingIOError:
                        data = b""
                    if self.raw_boot:
                        data = b""                # hide the banner of a raw-REPL reboot
                    if self.reset_at and not self.raw_mode:
                        data = b""                # a reset chip says nothing more
                    mark = data.find(RESET_MARK)
                    if mark >= 0:                 # machine.reset(): a hard reset
                        # At the raw REPL it exits by itself (rc 121, after the
                        # REPL's end of output); a script under -i would fall
                        # into the REPL instead: its output stops at the mark.
                        data = data[:mark] + (data[mark + len(RESET_MARK):] if self.raw_mode else b"")
                        # Like a board's USB going away for a moment; what
                        # the host sends meanwhile is dropped (_from_host), so
                        # the -i REPL never takes it as Python.
                        self.reset_at = time.monotonic() + 0.5
                    self._track_output(data)
                    self._to_host(data)
                if self.to_host and self.connected:
                    self.to_host = self._write(self.mB, self.to_host)
                self._maybe_release()
                if self.to_dev:
                    self.to_dev = self._write(self.mA, self.to_dev)
                if self.raw_boot and self.device_in_repl():
                    os.write(self.mA, b"\x01")   # -> "\r\nraw REPL; CTRL-B to exit\r\n>"
                    self.raw_boot = False
                rc = self.proc.poll() if self.proc else None
                if rc is None and self.reset_at and time.monotonic() > self.reset_at:
                    self._kill()
                    rc = HARD_RESET_RC
                if rc is not None:
                    try:                          # last words of the old process
                        while True:
                            data = os.read(self.mA, 65536)
                            self._track_output(data)
                            self._to_host(data)
                    except OSError:
                        pass
                    self.reboot(rc)
        finally:
            self.stop()

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)


BOOT = str(paths.vpen_boot())    # vpen_lib/ beside it (package data of host_tools)


class FlashInUse(Exception):
    """The filesystem is not one this virtual pen may use."""


def claim_flash(flash: str) -> int:
    """Hold `flash` for this virtual pen (an flock on the directory, released
    when the process ends): a second virtual pen on it would share its files
    and write over them.  Returns the descriptor to keep open."""
    os.makedirs(flash, exist_ok=True)
    fd = os.open(flash, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise FlashInUse(f"another virtual pen runs on {flash}: stop it, or give this one its own --dir") from None
    return fd


PEN_FILES = ("pen.id", "main.py", "manifest.json", "deploy.lock")


def wipe_flash(root: Path) -> None:
    """Factory fresh: nothing of the old pen survives (key, log, settings,
    latched faults, limits).  Only a directory that is a pen's filesystem."""
    import shutil
    entries = list(root.iterdir())
    if entries and not any((root / f).exists() for f in PEN_FILES):
        raise FlashInUse(f"{root} is not empty and is not a virtual pen's filesystem: "
                         "give --fresh an empty or new --dir")
    for e in entries:
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e)
        else:
            e.unlink()


def prepare_flash(flash: str, board: str = "virtual", fresh: bool = False) -> bool:
    """A pen's filesystem as it leaves the factory: the firmware deployed
    (source files and manifest).  Keeps an existing one unless fresh=True.
    Returns True if it wrote the files."""

    from host_tools.deploy import MANIFEST, manifest, stage
    root = Path(flash)
    root.mkdir(parents=True, exist_ok=True)
    if (root / "main.py").exists() and not fresh:
        return False
    if fresh:
        wipe_flash(root)
    files = stage(board)
    for dest, data in files.items():
        p = root / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / MANIFEST).write_bytes(manifest(board, files, False))
    import secrets
    (root / "pen.id").write_text("vpen-" + secrets.token_hex(6) + "\n")   # its unique id
    return True


def micropython_bin() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else "micropython"


def serve(flash: str, fresh: bool, link: str | None = None, log: Any = None,
          announce: Callable[[str, str, bool], None] | None = None) -> int:
    """Run a virtual pen on `flash` until SIGTERM or Ctrl-C (the process
    holds the filesystem meanwhile).  announce(port, flash, was_fresh) once
    the port exists.  Returns the exit status; a filesystem in use or not a
    pen's: the reason on stderr, 2."""
    try:
        _held = claim_flash(flash)       # the lock lasts as long as this process
        wrote = prepare_flash(flash, fresh=fresh)
    except FlashInUse as e:
        print(f"needlepen virtual-pen: {e}", file=sys.stderr)
        return 2
    flash = os.path.abspath(flash)
    sup = Supervisor([micropython_bin(), "-i", BOOT], flash, link, log=log)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    if announce is not None:
        announce(sup.host_path, flash, wrote)
    try:
        sup.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sup.stop()
    return 0
