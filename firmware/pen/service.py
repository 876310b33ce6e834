# Service access: the per-pen key, HMAC signatures, the challenge-response
# unlock for service functions, and the signed hard-limit override.
#
# The key (32 random bytes, hex in device.key) is written by the first
# `needlepen deploy`; the workstation keeps a copy per pen id.  It signs the
# deploy manifest and the limit override, and answers unlock challenges, so
# that editing board.py, the manifest or limits.rec on the pen's filesystem is
# detected at boot, and calibration or limit changes need the key.  The key
# is a file: whoever has the REPL can read it (docs/safety.md, residual risks).
import json
import os
from binascii import hexlify, unhexlify
from hashlib import sha256

KEY_FILE = "device.key"
LIMITS_FILE = "limits.rec"
UNLOCK_MS = 600000             # service mode lasts 10 minutes
MAX_FAILURES = 3               # then locked out for LOCKOUT_MS
LOCKOUT_MS = 60000


def hmac_sha256(key, msg):
    """HMAC-SHA256 (RFC 2104) with hashlib only (MicroPython has no hmac)."""
    if len(key) > 64:
        key = sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = sha256(bytes(b ^ 0x36 for b in key))
    inner.update(msg)
    outer = sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return hexlify(outer.digest()).decode()


def canonical(obj):
    """The bytes a signature covers: sorted-key JSON, no spaces."""
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + canonical(obj[k]) for k in sorted(obj)) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in obj) + "]"
    return json.dumps(obj)


def load_key(path=KEY_FILE):
    """The pen's key (bytes), or None if it has none."""
    try:
        with open(path) as f:
            text = f.read().strip()
        key = unhexlify(text)
        return key if len(key) >= 16 else None
    except (OSError, ValueError):
        return None


def sign(key, obj):
    return hmac_sha256(key, canonical(obj).encode())


def load_limits(key, path=LIMITS_FILE):
    """(lo_um, hi_um, problem): a valid signed override, or (None, None, None)
    when there is none, or a problem string when the file is not genuine."""
    try:
        with open(path) as f:
            rec = json.load(f)
    except OSError:
        return None, None, None
    except ValueError:
        return None, None, "limits.rec is damaged"
    if key is None or not isinstance(rec, dict) or rec.get("mac") != sign(key, rec.get("limits")):
        return None, None, "limits.rec is not signed by this pen's key"
    lim = rec["limits"]
    lo, hi = lim.get("hard_min_um"), lim.get("hard_max_um")
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi <= 5000):
        return None, None, "limits.rec holds impossible limits"
    return lo, hi, None


def save_limits(key, lo, hi, path=LIMITS_FILE):
    lim = {"hard_min_um": lo, "hard_max_um": hi}
    data = json.dumps({"limits": lim, "mac": sign(key, lim)})
    with open(path + ".new", "w") as f:
        f.write(data)
    try:
        os.remove(path)
    except OSError:
        pass
    os.rename(path + ".new", path)


class Service:
    """Challenge-response unlock.  now_ms() is the pen's millisecond clock."""

    def __init__(self, key, now_ms):
        self.key = key
        self.now_ms = now_ms
        self.nonce = None
        self.until = -1
        self.failures = 0
        self.locked_until = -1

    def challenge(self):
        if self.key is None:
            raise ValueError("this pen has no device key: deploy it with needlepen deploy first")
        if self.now_ms() < self.locked_until:
            raise ValueError("too many wrong answers: try again in a minute")
        self.nonce = hexlify(os.urandom(16)).decode()
        return self.nonce

    def expected(self, nonce):
        return hmac_sha256(self.key, ("unlock:" + nonce).encode())

    def unlock(self, answer):
        """True if `answer` is right for the last challenge (used up either way)."""
        nonce, self.nonce = self.nonce, None
        if nonce is None or self.key is None or self.now_ms() < self.locked_until:
            return False
        if answer != self.expected(nonce):
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self.locked_until = self.now_ms() + LOCKOUT_MS
                self.failures = 0
            return False
        self.failures = 0
        self.until = self.now_ms() + UNLOCK_MS
        return True

    def active(self):
        return self.now_ms() < self.until

    def lock(self):
        self.until = -1
