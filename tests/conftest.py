# On CPython, importing pen installs the stand-ins for MicroPython built-ins
# (micropython.const/viper, ptr32, time.ticks_*) that the core relies on.
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT / "tests" / "core", ROOT / "firmware", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pen  # noqa: E402,F401
