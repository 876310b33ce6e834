# Helpers for tests that run external programs (micropython, mpy-cross).
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bin_path(name: str) -> str:
    """A console script of this environment (the venv), else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"'{name}' not found: install the project with pip install -e '.[dev]'")
    return found


def micropython(*args: str, path: tuple[str, ...] = (), timeout: float = 600,
                heapsize: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the unix-port micropython binary with MICROPYPATH set to `path`."""
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([".frozen", *path])
    cmd = [bin_path("micropython")]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    return subprocess.run(cmd + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
