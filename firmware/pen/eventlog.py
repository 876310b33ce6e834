# The event and fault log on flash: one line per event, each with its own
# checksum, appended; a power cut while appending loses at most that line
# (read() skips a line that is cut short or damaged).  When the file passes
# MAX_BYTES it becomes <path>.1 (the previous .1 is dropped), so the log
# keeps between MAX_BYTES and 2 * MAX_BYTES of the latest events.
#
# Line: <seq> <boot> <ms since boot> <kind> <detail>*<crc32 hex>\n
# Events are queued in RAM and written only while the motor is stopped:
# a flash write stalls an RP2040 for milliseconds.
from binascii import crc32

from pen.store import FileSystem

MAX_BYTES = 8192
MAX_QUEUE = 32


def _line(seq, boot, ms, kind, detail):
    body = "{} {} {} {} {}".format(seq, boot, ms, kind, detail.replace("\n", " ").replace("*", "x")[:120])
    return "{}*{:08x}\n".format(body, crc32(body.encode()) & 0xFFFFFFFF)


def parse(line):
    """A dict from one log line, or None if it is damaged or cut short."""
    if not line.endswith("\n") or "*" not in line:
        return None
    body, _, crc = line[:-1].rpartition("*")
    try:
        if int(crc, 16) != crc32(body.encode()) & 0xFFFFFFFF:
            return None
        seq, boot, ms, kind, detail = body.split(" ", 4)
        return {"seq": int(seq), "boot": int(boot), "ms": int(ms), "kind": kind, "detail": detail}
    except ValueError:
        return None


class EventLog:
    def __init__(self, path="events.log", fs=None):
        self.path = path
        self.fs = fs or FileSystem()
        self.queue = []
        self.seq = 0
        self.boot = 0
        self.dropped = 0

    def open(self):
        """Continue numbering after what is on flash; returns this boot's number."""
        raw = self.fs.read(self.path)
        if raw and not raw.endswith(b"\n"):
            # a line cut by a power loss: end it, so the next one stands alone
            self.fs.append(self.path, b"\n")
        last = None
        for e in self.read():
            last = e
        if last is not None:
            self.seq = last["seq"]
            self.boot = last["boot"] + 1
        return self.boot

    def add(self, ms, kind, detail=""):
        """Queue an event (RAM only; flush() writes)."""
        if len(self.queue) >= MAX_QUEUE:
            self.queue.pop(0)
            self.dropped += 1
        self.seq += 1
        self.queue.append(_line(self.seq, self.boot, ms, kind, detail))

    def flush(self):
        """Write the queued events.  Call only with the motor stopped."""
        if not self.queue:
            return 0
        fs = self.fs
        if fs.size(self.path) > MAX_BYTES:
            fs.remove(self.path + ".1")
            fs.rename(self.path, self.path + ".1")
        n = 0
        while self.queue:
            fs.append(self.path, self.queue[0].encode())
            self.queue.pop(0)
            n += 1
        return n

    def read(self):
        """All intact events on flash, oldest first, plus the queued ones."""
        out = []
        for name in (self.path + ".1", self.path):
            raw = self.fs.read(name)
            if not raw:
                continue
            try:
                text = raw.decode()
            except Exception:
                continue
            for line in text.split("\n"):
                e = parse(line + "\n") if line else None
                if e is not None:
                    out.append(e)
        for line in self.queue:
            e = parse(line)
            if e is not None:
                out.append(e)
        return out
