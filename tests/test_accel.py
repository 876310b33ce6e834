"""The simulator's compiled hot path (sim/accel.py) runs the same runs, bit
for bit, as the pure modules: a scenario with faults and a campaign slice,
each in a fresh process, compared by hash.  And a build is never used
stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("Cython", reason="the compiled hot path needs Cython (the dev extra installs it)")

PROBE = r"""
import hashlib, json, sys
sys.path[:0] = ["firmware", "."]
import sim                                   # first, as the needlepen command does
from sim import accel, campaign, runner, scenario
h = hashlib.sha256()
for name in ("default", "faults/overheat", "faults/battery_sag", "faults/tach_noise"):
    sc = scenario.load(name)
    sc.duration_us = min(sc.duration_us, 40_000_000)   # the default session's first 40 s: presses, passes
    r = runner.run(sc)
    h.update(json.dumps([r.trace, r.fault_log, r.notes, r.violations, r.refusals]).encode())
plan = campaign.Plan(7, population="spread")
rows = campaign.run_rows(plan, list(range(len(plan.faults) + 3)))
h.update(json.dumps(rows).encode())
print(json.dumps({"hash": h.hexdigest(), "compiled": accel.active()}))
"""


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("accel")
    env = dict(os.environ, NEEDLEPEN_ACCEL_DIR=str(d), NEEDLEPEN_ACCEL="1")
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "accel", "build"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return d


def _probe(build: Path, on: bool) -> dict:
    import json
    env = dict(os.environ, NEEDLEPEN_ACCEL_DIR=str(build), NEEDLEPEN_ACCEL="1" if on else "0")
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_compiled_runs_equal_pure_runs_bit_for_bit(build_dir: Path) -> None:
    from sim import accel
    pure = _probe(build_dir, on=False)
    fast = _probe(build_dir, on=True)
    assert pure["compiled"] == []
    assert fast["compiled"] == list(accel.MODULES)       # it really ran compiled
    assert fast["hash"] == pure["hash"]


def test_with_a_build_in_use_the_pen_still_gets_its_sources(build_dir: Path, tmp_path: Path) -> None:
    # The build goes in front of pen's and sim's search paths; deploy, the
    # virtual pen and the campaign's code fingerprint must still find the
    # packages' own files (a deploy once staged no pen/ at all).
    import json
    code = ("import json, sys\nsys.path[:0] = ['firmware', '.']\n"
            "from host_tools import deploy, paths\nfrom sim import accel, campaign\n"
            f"deploy.write_stage({str(tmp_path / 'stage')!r}, 'pen_rp2040', mpy=False)\n"
            "print(json.dumps({'pen': str(paths.pen_dir()), 'sim': str(paths.sim_dir()),"
            " 'code': campaign.code_fingerprint(), 'compiled': accel.active()}))")
    out = {}
    for on in (True, False):
        env = dict(os.environ, NEEDLEPEN_ACCEL_DIR=str(build_dir), NEEDLEPEN_ACCEL="1" if on else "0")
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        out[on] = json.loads(r.stdout.strip().splitlines()[-1])
    assert out[True]["compiled"]
    assert (Path(out[True]["pen"]) / "tick.py").is_file() and (Path(out[True]["sim"]) / "plant.py").is_file()
    assert (tmp_path / "stage" / "pen" / "tick.py").is_file()
    assert out[True]["code"] == out[False]["code"]


def test_a_build_is_not_used_once_a_source_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   build_dir: Path) -> None:
    from sim import accel
    monkeypatch.setenv("NEEDLEPEN_ACCEL_DIR", str(build_dir))
    assert accel.find() is not None                     # the build of the sources as they are
    copies = {}
    for name, src in accel._sources().items():
        copies[name] = tmp_path / name.replace("/", "_")
        copies[name].write_bytes(src.read_bytes())
    monkeypatch.setattr(accel, "_sources", lambda: copies)
    assert accel.find() is not None
    copies["pen/tick"].write_text(copies["pen/tick"].read_text() + "\n# an edit\n")
    assert accel.find() is None                         # stale: the pure modules run
    monkeypatch.setenv("NEEDLEPEN_ACCEL", "0")
    assert accel.activate() is None


def test_status_and_clean(tmp_path: Path) -> None:
    env = dict(os.environ, NEEDLEPEN_ACCEL_DIR=str(tmp_path / "none"))
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "accel"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "none (needlepen accel build)" in r.stdout
    assert "pure Python (NEEDLEPEN_ACCEL=0)" in r.stdout     # the suite runs pure
    (tmp_path / "none" / "0123").mkdir(parents=True)
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "accel", "clean"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert "removed 1 build(s)" in r.stdout
