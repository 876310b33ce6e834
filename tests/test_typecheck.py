"""The firmware type-checks against the MicroPython stubs of each chip
(micropython-rp2-stubs, micropython-esp32-stubs), with mypy.  The stubs are
installed from PyPI into .cache/stubs-<port> on first use (they cannot share
the venv: both ship the same module names)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools import ROOT, bin_path

STUBS = {"rp2": "micropython-rp2-stubs==1.29.*", "esp32": "micropython-esp32-stubs==1.29.*"}
PORT_FILES = {"rp2": ["hal/rp2.py", "hal/pio_tach.py", "hal/chip.py", "hal/__init__.py"],
              "esp32": ["hal/esp32.py", "hal/chip.py", "hal/__init__.py"]}
NOT_ON_A_PEN = {"_cpython.py"}          # the CPython stand-ins


def stubs(port: str) -> Path:
    target = ROOT / ".cache" / f"stubs-{port}"
    marker = target / ".installed"
    if not marker.exists():
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                            STUBS[port]], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"could not install {STUBS[port]}:\n{r.stderr[-2000:]}"
        marker.write_text(STUBS[port])
    return target


BOARDS = {"rp2": "pen_rp2040", "esp32": "pen_esp32"}


@pytest.mark.parametrize("port", sorted(STUBS))
def test_firmware_typechecks_against_the_port_stubs(port: str, tmp_path) -> None:
    from host_tools.boardfile import flatten
    target = stubs(port)
    (tmp_path / "board.py").write_text(flatten(BOARDS[port]))     # what deploy writes
    files = [str(f.relative_to(ROOT)) for f in sorted((ROOT / "firmware" / "pen").glob("*.py"))
             if f.name not in NOT_ON_A_PEN]
    files += ["firmware/main.py", "firmware/boot.py"] + ["firmware/" + f for f in PORT_FILES[port]]
    env_path = f"{target}:{ROOT / 'firmware'}:{tmp_path}"
    r = subprocess.run([bin_path("mypy"), "--custom-typeshed-dir", str(target), "--no-site-packages",
                        "--python-version", "3.11", "--follow-imports=silent", "--check-untyped-defs",
                        "--no-incremental", "--config-file", "/dev/null", *files],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env={"MYPYPATH": env_path, "PATH": ""})
    ours = [line for line in r.stdout.splitlines() if line.startswith("firmware/")]
    assert not ours, f"mypy with {STUBS[port]}:\n" + "\n".join(ours)
    assert "checked" in r.stdout or "Success" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
