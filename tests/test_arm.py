"""The control core on 32-bit ARM: the emulated RP2040 (real MicroPython
v1.28, rp2 port) runs the tick-level core tests and a differential fuzz of
tick() whose every case must leave the same memory as on CPython and on the
unix port (64-bit viper).  Integers there are machine words that wrap at
2**32: what the other interpreters cannot show (docs/control.md, "32-bit
arithmetic")."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest
from emulator import mpy_cross, needs_kit, run_code

from tools import ROOT, bin_path

pytestmark = needs_kit

# tick-level modules of tests/core (the protocol, UI and storage modules
# run a simulated plant on floats: minutes on the emulated chip, and no
# 32-bit arithmetic of their own)
CORE_MODULES = ("test_interlock", "test_limits", "test_stroke", "test_portability", "test_scheduler",
                "test_alloc", "test_tach")
# ...and within them, the tests that run the simulated plant too (its float
# physics takes minutes on the emulated chip and has no 32-bit arithmetic
# of the firmware's; they run on CPython and the unix port)
ON_THE_PLANT = ("test_holds_rate_when_needles_meet_skin", "test_tracks_every_level_on_the_plant",
                "test_simulated_pen_runs_clean_through_heavy_ringing_and_jitter",
                "test_simulated_spurious_pulses_harmless_when_rare_caught_when_many",
                "test_wraparound_during_a_run_is_harmless")
FUZZ_CASES = int(os.environ.get("NEEDLEPEN_FUZZ_CASES", "10000"))
FUZZ_SEED = 20261123

RUNNER = """
import sys
def run(names, skip):
    passed = failed = 0
    for name in names:
        try:
            mod = __import__(name)
        except Exception as e:
            failed += 1
            print("FAIL", name, "(import)")
            sys.print_exception(e)
            continue
        for attr in sorted(dir(mod)):
            fn = getattr(mod, attr)
            if attr.startswith("test_") and callable(fn) and attr not in skip:
                try:
                    fn()
                    passed += 1
                except Exception as e:
                    failed += 1
                    print("FAIL", name + "." + attr)
                    sys.print_exception(e)
    print("SUMMARY passed={} failed={}".format(passed, failed))
run(%r, %r)
"""


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pen_rp2040 firmware as deployed (.mpy), plus the core tests, their
    rigs, the virtual board and the simulator modules they use."""
    from host_tools import deploy
    d = tmp_path_factory.mktemp("arm") / "stage"
    deploy.write_stage(str(d), "pen_rp2040", mpy=True)
    for name in (*CORE_MODULES, "rigs", "junk"):
        mpy_cross(ROOT / "tests" / "core" / f"{name}.py", d / f"{name}.mpy")
    mpy_cross(ROOT / "tests" / "fuzz_tick.py", d / "fuzz_tick.mpy")
    for f in ("boards/__init__.py", "boards/virtual.py", "boards/parts.py", "sim/__init__.py", "sim/rig.py",
              "sim/plant.py", "sim/clock.py", "sim/hal.py"):
        mpy_cross(ROOT / f, d / (f[:-3] + ".mpy"))
    return d


def test_core_tests_pass_on_32bit_arm(stage: Path) -> None:
    out = run_code(stage, RUNNER % (list(CORE_MODULES), ON_THE_PLANT))
    summary = [x for x in out.splitlines() if x.startswith("SUMMARY")]
    assert summary and summary[-1].endswith("failed=0"), out[-4000:]
    assert int(summary[-1].split("passed=")[1].split()[0]) >= 50


def _cases(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in text.splitlines():
        if line.startswith("CASES"):
            parts = line.split()
            first = int(parts[1])
            for j, crc in enumerate(parts[2:]):
                out[first + j] = crc
    return out


def test_tick_on_arm_matches_cpython_and_the_unix_port(stage: Path) -> None:
    snippet = f"from board import BOARD\nimport fuzz_tick\nfuzz_tick.run(BOARD, {FUZZ_SEED}, {FUZZ_CASES})"
    arm = run_code(stage, snippet)
    assert f"FUZZ done {FUZZ_CASES}" in arm, arm[-3000:]
    import fuzz_tick

    from boards.pen_rp2040 import BOARD
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fuzz_tick.run(BOARD, FUZZ_SEED, FUZZ_CASES)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT / "firmware"), str(ROOT)]))
    unix = subprocess.run([bin_path("micropython"), "-c", snippet.replace("from board import BOARD",
                                                                         "from boards.pen_rp2040 import BOARD")],
                          capture_output=True, text=True, env=env, timeout=600).stdout
    got = {"arm": _cases(arm), "cpython": _cases(buf.getvalue()), "unix": _cases(unix)}
    for name, cases in got.items():
        assert len(cases) == FUZZ_CASES, (name, len(cases))
    diverged = [i for i in range(FUZZ_CASES) if len({got[k][i] for k in got}) > 1]
    errors = [i for i in range(FUZZ_CASES) if any(got[k][i].startswith("E") for k in got)]
    print(f"\n{FUZZ_CASES} cases (half plausible-extreme, half garbage): {len(diverged)} diverged, "
          f"{len(errors)} raised")
    assert not diverged, [(i, {k: got[k][i] for k in got}) for i in diverged[:10]]
    assert not errors
