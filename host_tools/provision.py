"""Provisioning a pen's key: the safety state it already has (latched
faults, cartridge use in settings.rec) is signed with the new key, so that
the pen's next boot finds it genuine.  Before the key there was nothing to
protect it with; after it, an unsigned or missing record on the pen reads as
the most restrictive state (pen.settings)."""

from __future__ import annotations

from typing import Any

from pen.settings import Settings


class TransportFS:
    """pen.store's filesystem calls over mpremote's transport (raw REPL)."""

    def __init__(self, t: Any) -> None:
        self.t = t

    def read(self, path: str) -> bytes | None:
        try:
            return bytes(self.t.fs_readfile(path))
        except Exception:            # missing (mpremote raises OSError or TransportError)
            return None

    def write(self, path: str, data: bytes) -> None:
        self.t.fs_writefile(path, data)

    def size(self, path: str) -> int:
        data = self.read(path)
        return -1 if data is None else len(data)

    def rename(self, old: str, new: str) -> None:
        self.t.exec(f"import os\nos.rename({old!r}, {new!r})")

    def remove(self, path: str) -> None:
        self.t.exec(f"import os\ntry:\n os.remove({path!r})\nexcept OSError:\n pass")


def sign_safety_state(t: Any, key: bytes) -> str:
    """Sign the pen's settings record (or write signed defaults) with `key`.
    Returns what it did, for the deploy's progress output."""
    s = Settings("settings.rec", TransportFS(t))
    s.load()
    found = s.found
    s.key = key
    s.saved = None                   # write even if nothing else changed
    s.save()
    return "safety state signed" + ("" if found else " (factory defaults)")


def signed_initial_state(key: bytes) -> bytes:
    """A factory-default settings record signed with `key`, for a staged
    pen's `settings.init` (taken by a pen that has no record yet)."""
    from pen.store import encode
    s = Settings("settings.init")
    s.key = key
    s.values["state_mac"] = s._state_mac(key)
    return encode(1, s.values)
