# The core's portable tests, run again on real MicroPython (unix port).
import pytest

from tools import ROOT, micropython

MODULES = sorted(p.stem for p in (ROOT / "tests" / "core").glob("test_*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_on_micropython(module: str) -> None:
    r = micropython("tests/mpy_runner.py", module,
                    path=(str(ROOT / "tests" / "core"), str(ROOT / "firmware"), str(ROOT)))
    failures = [block for block in r.stdout.split("\n") if block.startswith("FAIL")]
    if r.returncode != 0:
        pytest.fail(f"{module} failed on MicroPython ({len(failures)} failing):\n"
                    f"{r.stdout[-6000:]}\n{r.stderr[-2000:]}", pytrace=False)
    assert "SUMMARY passed=" in r.stdout, r.stdout + r.stderr
