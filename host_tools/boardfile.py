"""Board definitions as the pen gets them: one flat /board.py."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import boards
from pen import board as boardlib


def names() -> list[str]:
    """Board modules in boards/ (the shared parts module is not a board)."""
    return sorted(m.name for m in pkgutil.iter_modules(boards.__path__) if m.name != "parts")


def load(name: str) -> dict[str, Any]:
    if name not in names():
        raise ValueError(f"no board '{name}' (boards: {', '.join(names())})")
    b = importlib.import_module(f"boards.{name}").BOARD
    boardlib.check(b)
    return b


def flatten(name: str) -> str:
    """Source of a standalone board.py for board `name` (plain literals only,
    readable by MicroPython)."""
    b = dict(load(name))
    b["file"] = name                  # which boards/*.py it came from (for the next deploy)
    return (f"# Board definition '{b['name']}', written by needlepen deploy from boards/{name}.py.\n"
            f"# Edit boards/{name}.py and deploy again rather than editing this file.\n"
            f"BOARD = {b!r}  # type: dict\n")
