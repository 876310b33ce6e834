# Records on flash that survive a power cut at any byte of a write.
#
# A record file is one line:  NP1 <seq> <crc32 hex of json> <json>\n
# save(): write <path>.new, read it back and verify, move <path> to
# <path>.old, move <path>.new to <path>, remove <path>.old.  load() parses all
# three names and keeps the valid record with the highest seq, so whichever
# step a power cut interrupts, the next boot finds the old record or the new
# one, never a mix.  (Rename over an existing file is not atomic on FAT, so
# the sequence never needs it.)
import json
import os
from binascii import crc32

MAGIC = "NP1"


class FileSystem:
    """The few filesystem calls the store needs; tests pass a fake one that
    can cut the power in the middle of a write."""

    def read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, path, data):
        with open(path, "wb") as f:
            f.write(data)
        sync = getattr(os, "sync", None)
        if sync:
            sync()

    def append(self, path, data):
        with open(path, "ab") as f:
            f.write(data)

    def size(self, path):
        try:
            return os.stat(path)[6]
        except OSError:
            return -1

    def rename(self, old, new):
        os.rename(old, new)

    def remove(self, path):
        try:
            os.remove(path)
        except OSError:
            pass


def encode(seq, data):
    body = json.dumps(data)
    return "{} {} {:08x} {}\n".format(MAGIC, seq, crc32(body.encode()) & 0xFFFFFFFF, body).encode()


def decode(raw):
    """(seq, data) from one record line, or raise ValueError saying why."""
    try:
        line = raw.decode()
    except Exception:
        raise ValueError("not text")
    if not line.endswith("\n"):
        raise ValueError("cut short (power lost while writing?)")
    parts = line[:-1].split(" ", 3)
    if len(parts) != 4 or parts[0] != MAGIC:
        raise ValueError("not a needlepen record")
    try:
        seq = int(parts[1])
        crc = int(parts[2], 16)
    except ValueError:
        raise ValueError("damaged header")
    if crc32(parts[3].encode()) & 0xFFFFFFFF != crc:
        raise ValueError("checksum mismatch")
    try:
        return seq, json.loads(parts[3])
    except ValueError:
        raise ValueError("damaged content")


class Store:
    def __init__(self, path, fs=None):
        self.path = path
        self.fs = fs or FileSystem()
        self.seq = 0

    def load(self):
        """(data, problems): the newest valid record (None if there is none)
        and a list of what was wrong with the files found."""
        best = None
        problems = []
        for name in (self.path, self.path + ".new", self.path + ".old"):
            raw = self.fs.read(name)
            if raw is None:
                continue
            try:
                seq, data = decode(raw)
            except ValueError as e:
                # a half-written .new is the normal trace of a power cut
                problems.append("{}: {}".format(name, e))
                continue
            if best is None or seq > best[0]:
                best = (seq, data)
        if best is None:
            return None, problems
        self.seq = best[0]
        if problems and not any(p.startswith(self.path + ":") for p in problems):
            problems = []          # only a leftover .new/.old was bad: nothing lost
        return best[1], problems

    def save(self, data):
        seq = self.seq + 1
        raw = encode(seq, data)
        fs = self.fs
        new = self.path + ".new"
        old = self.path + ".old"
        fs.write(new, raw)
        if fs.read(new) != raw:
            fs.remove(new)
            raise OSError("flash write did not verify: {}".format(new))
        fs.remove(old)
        if fs.size(self.path) >= 0:
            fs.rename(self.path, old)
        fs.rename(new, self.path)
        fs.remove(old)
        self.seq = seq
