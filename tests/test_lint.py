"""Host-side code is linted (ruff) and type-checked (mypy)."""

import subprocess

from tools import ROOT, bin_path


def test_ruff() -> None:
    r = subprocess.run([bin_path("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_host_code() -> None:
    r = subprocess.run([bin_path("mypy"), "host_tools", "sim", "bench"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
