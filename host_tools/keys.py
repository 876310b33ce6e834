"""The workstation's copies of the pens' device keys: one file per pen id in
$NEEDLEPEN_KEYS (default ~/.needlepen/keys), readable by the owner only."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
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


class UnlockError(Exception):
    """The pen's service functions stay locked; the message says what to do."""


def service_unlock(ask: Callable[[str], str], pen_id: str) -> str:
    """Open the pen's service functions (challenge-response with this
    workstation's key for it).  `ask` sends one protocol line and returns the
    pen's answer line ("OK ..." / "ERR ...").  Returns the unlock's answer."""
    from pen.service import hmac_sha256
    key = get(pen_id)
    if key is None:
        raise UnlockError(f"no key for pen {pen_id} in {key_dir()} (it was provisioned by another workstation, "
                          "or never deployed); a pen in maintenance mode (speed-down held at power-on) "
                          "takes a deploy without it")
    a = ask("service challenge")
    if not a.startswith("OK challenge "):
        raise UnlockError(f"pen {pen_id} gave no challenge: {a or 'no answer'}")
    a = ask("service unlock " + hmac_sha256(key, ("unlock:" + a.split()[-1]).encode()))
    if not a.startswith("OK"):
        raise UnlockError(f"pen {pen_id} refused this workstation's key ({a or 'no answer'}): "
                          f"is {path_for(pen_id)} this pen's key?")
    return a[3:]
