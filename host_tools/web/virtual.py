"""`needlepen web --virtual`: a virtual pen of its own, in a child process
(`python -m host_tools.web.virtual --dir DIR [--fresh]`), built from
host_tools.virtualpen (claim_flash, prepare_flash, Supervisor) as
`needlepen virtual-pen` is.  A child process because the Supervisor's loop
takes over signals (SIGCHLD), which only a main thread may; it is ended
with the server (and by the kernel if the server dies: PR_SET_PDEATHSIG)."""

from __future__ import annotations

import argparse
import select
import signal
import subprocess
import sys
import time


class VirtualPenError(Exception):
    pass


def _die_with_parent() -> None:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
    except Exception:
        pass


class VirtualPen:
    def __init__(self, flash_dir: str, fresh: bool = False) -> None:
        self.flash_dir = flash_dir
        self.fresh = fresh
        self.proc: subprocess.Popen[str] | None = None
        self.port = ""

    def start(self, timeout: float = 30.0) -> str:
        """Start it; its port.  VirtualPenError says why not."""
        cmd = [sys.executable, "-m", "host_tools.web.virtual", "--dir", self.flash_dir] + (
            ["--fresh"] if self.fresh else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise VirtualPenError(f"the virtual pen did not start within {timeout:.0f} s")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if line.startswith("virtual pen on "):
                self.port = line.split()[3]
                return self.port
            if not line:                        # it ended: say why
                self.proc.wait(5)
                err = self.proc.stderr.read().strip().splitlines()
                raise VirtualPenError(err[-1] if err else f"the virtual pen exited ({self.proc.returncode})")

    def gone(self) -> str | None:
        """Why this virtual pen is no more, or None while it runs."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return (f"the virtual pen stopped (exit {self.proc.returncode}); its port is not opened again: "
                f"restart needlepen web --virtual")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main(argv: list[str] | None = None) -> int:
    from host_tools.virtualpen import serve
    ap = argparse.ArgumentParser(prog="host_tools.web.virtual")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args(argv)
    return serve(args.dir, args.fresh, announce=lambda port, flash, fresh: print(f"virtual pen on {port}",
                                                                                   flush=True))


if __name__ == "__main__":
    sys.exit(main())
