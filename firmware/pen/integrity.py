# Firmware integrity at boot: the files on the pen against the manifest the
# deploy wrote (sha256 of each), and no firmware file the manifest does not
# list (a stray .mpy could shadow a checked .py).  A mismatch keeps the motor
# disabled (the INTEGRITY fault) and says which file.  A missing manifest is
# a fault on a real pen (required=True) and allowed for the virtual one; a
# deploy.lock left behind means a deploy was cut off.
import json
import os
from binascii import hexlify
from hashlib import sha256

MANIFEST = "manifest.json"
FIRMWARE_DIRS = ("pen", "sim", "hal")


def file_hash(path):
    h = sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(512)
            if not chunk:
                break
            h.update(chunk)
    return hexlify(h.digest()).decode()


def check_manifest(path=MANIFEST, required=True):
    """None if every file matches; else what is wrong (a short string).

    With a device key, the manifest must carry its HMAC (field "mac", over
    everything else in it): re-hashing an edited file is not enough.  A real
    pen (required=True) must have a key."""
    try:
        os.stat("deploy.lock")
        return "a deploy was interrupted: deploy again"
    except OSError:
        pass
    try:
        with open(path) as f:
            manifest = json.load(f)
    except OSError:
        return "no manifest.json: deploy with needlepen deploy" if required else None
    except ValueError:
        return "manifest.json is damaged"
    if not isinstance(manifest, dict):
        return "manifest.json is damaged"
    from pen.service import load_key, sign
    key = load_key()
    if key is None:
        if required:
            return "no device key: deploy with needlepen deploy"
    else:
        body = {k: v for k, v in manifest.items() if k != "mac"}
        if manifest.get("mac") != sign(key, body):
            return "manifest.json is not signed by this pen's key"
    files = manifest.get("files", {})
    for name, want in files.items():
        try:
            got = file_hash(name)
        except OSError:
            return "missing file " + name
        if got != want:
            return "changed file " + name
    for d, names in _firmware_dirs():
        for n in names:
            if d + "/" + n not in files:
                return "unexpected file {}/{}".format(d, n)
    return None


def _firmware_dirs():
    """(folder, its file names) for each firmware folder on the pen."""
    out = []
    for d in FIRMWARE_DIRS:
        try:
            out.append((d, os.listdir(d)))
        except OSError:
            pass
    return out


def remove_firmware():
    """Delete the firmware's folders (pen/, hal/, sim/), keeping the pen's
    data (settings, log, key, id).  For copying firmware by hand with
    mpremote in maintenance mode (README): stale files would otherwise be
    refused at boot as unexpected.  The pen does not boot again until the
    new firmware is copied."""
    gone = []
    for d, names in _firmware_dirs():
        for n in names:
            os.remove(d + "/" + n)
        os.rmdir(d)
        gone.append(d)
    print("removed " + (", ".join(gone) or "nothing") + " (the pen's data kept)")
