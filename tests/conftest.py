# On CPython, importing pen installs the stand-ins for MicroPython built-ins
# (micropython.const/viper, ptr32, time.ticks_*) that the core relies on.
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The pure modules, whatever a developer has built (sim/accel.py); the CLI
# subprocesses inherit it.  tests/test_accel.py compares the two.
os.environ["NEEDLEPEN_ACCEL"] = "0"
for p in (ROOT / "tests" / "core", ROOT / "firmware", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pen  # noqa: E402,F401

# The workstation's pen keys: a throw-away directory for the test session
# (the CLI subprocesses inherit it), never the developer's own.
if "NEEDLEPEN_KEYS" not in os.environ or not os.environ.get("NEEDLEPEN_KEEP_KEYS"):
    os.environ["NEEDLEPEN_KEYS"] = tempfile.mkdtemp(prefix="needlepen-keys-")


@pytest.fixture(scope="module")
def vpen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A virtual pen on a pty for the module's end-to-end tests: (port, its flash)."""
    from vpen import virtual_pen_on_a_pty
    flash = tmp_path_factory.mktemp("vpen") / "flash"
    with virtual_pen_on_a_pty(flash) as port:
        yield port, flash


@pytest.fixture(scope="module")
def busy_host() -> Iterator[int]:
    """The host deliberately loaded, as on a laptop doing other work: one
    busy process per core for the module's tests.  Tests on the virtual pen
    must pass under it (its time is simulated; a late host only slows it)."""
    import subprocess
    n = os.cpu_count() or 2
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield n
    finally:
        for p in procs:
            p.kill()
            p.wait()
