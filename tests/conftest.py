# On CPython, importing pen installs the stand-ins for MicroPython built-ins
# (micropython.const/viper, ptr32, time.ticks_*) that the core relies on.
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT / "tests" / "core", ROOT / "firmware", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pen  # noqa: E402,F401

# The workstation's pen keys: a throw-away directory for the test session
# (the CLI subprocesses inherit it), never the developer's own.
if "NEEDLEPEN_KEYS" not in os.environ or not os.environ.get("NEEDLEPEN_KEEP_KEYS"):
    os.environ["NEEDLEPEN_KEYS"] = tempfile.mkdtemp(prefix="needlepen-keys-")
