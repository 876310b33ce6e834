"""The workstation's copies of the pens' device keys: one file per pen id in
$NEEDLEPEN_KEYS (default ~/.needlepen/keys), readable by the owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def key_dir() -> Path:
    return Path(os.environ.get("NEEDLEPEN_KEYS", Path.home() / ".needlepen" / "keys"))


def path_for(pen_id: str) -> Path:
    safe = "".join(c for c in pen_id if c.isalnum() or c in "-_") or "unknown"
    return key_dir() / f"{safe}.key"


def get(pen_id: str) -> bytes | None:
    p = path_for(pen_id)
    try:
        return bytes.fromhex(p.read_text().strip())
    except (OSError, ValueError):
        return None


def create(pen_id: str) -> bytes:
    key = secrets.token_bytes(32)
    p = path_for(pen_id)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(p.parent, 0o700)
    p.write_text(key.hex() + "\n")
    os.chmod(p, 0o600)
    return key
