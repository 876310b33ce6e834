# The serial link to a host: the REPL's own stdin/stdout (USB CDC on the
# rp2 pen, a UART on the ESP32 pen, the pseudo-terminal for the virtual pen).
# Background only.  Non-blocking both ways:
#   - reads take what has arrived, at most MAX_READ bytes a beat; a Ctrl-C
#     from the host still raises KeyboardInterrupt (mpremote relies on it);
#   - writes go into a bounded queue; pump() hands the port at most `budget`
#     bytes a beat, `chunk` bytes per write call, each call only while the
#     port reports room (select POLLOUT), so a host that holds the port open
#     without reading, or a slow UART, can never hold up the background.
#     On the rp2's USB CDC, POLLOUT means one free byte and a longer write
#     waits up to 500 ms for the host (shared/tinyusb/mp_usbd_cdc.c), hence
#     small chunks there, and after a write that waited (a host holding the
#     port without reading) one byte per call for SLOW_MS, which never
#     waits; the ESP32's UART reports POLLOUT always and its write
#     waits for the FIFO, hence a budget below the line rate there (boards'
#     serial_chunk, serial_bytes_per_beat).  A full queue drops whole lines
#     and counts them (`dropped`, in `info`).
import select
import sys
from time import ticks_add, ticks_diff, ticks_ms

MAX_READ = 64                 # bytes per 10 ms beat: 6.4 kB/s, far above any command rate
QUEUE_BYTES = 1024            # output waiting for the host (a status answer is ~700 B)
SLOW_MS = 2000                # one byte per write this long after a write that waited
WAITED_MS = 3                 # a write this long waited for the host
BUDGET = 256                  # bytes handed to the port per beat (boards may set less)


class StdioLink:
    def __init__(self, stdin=None, stdout=None, budget=BUDGET, chunk=BUDGET):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.inb = getattr(self.stdin, "buffer", self.stdin)
        self.outb = getattr(self.stdout, "buffer", self.stdout)   # bytes out
        self.poll = select.poll()
        self.poll.register(self.stdin, select.POLLIN)
        self.out_poll = select.poll()
        self.out_poll.register(self.stdout, select.POLLOUT)
        self.budget = budget
        self.chunk = chunk
        self.slow_until = None        # ticks_ms until which the host is taken for slow
        # the queue: a preallocated ring (no heap churn on a 160 KB heap)
        self.ring = bytearray(QUEUE_BYTES)
        self.view = memoryview(self.ring)
        self.head = 0                 # oldest queued byte
        self.n = 0                    # bytes queued
        self.dropped = 0              # lines dropped because the queue was full

    def read(self):
        """Whatever has arrived (bytes, possibly empty), without waiting."""
        out = b""
        n = 0
        while n < MAX_READ and self.poll.poll(0):
            c = self.inb.read(1)
            if not c:
                break
            out += c if isinstance(c, bytes) else c.encode()
            n += 1
        return out

    def write(self, line):
        """Queue one line (newline added).  False if it was dropped."""
        data = line.encode()
        need = len(data) + 1
        if self.n + need > QUEUE_BYTES:
            self.dropped += 1
            return False
        self._put(data)
        self._put(b"\n")
        return True

    def _put(self, data):
        ring = self.ring
        at = (self.head + self.n) % QUEUE_BYTES
        k = min(len(data), QUEUE_BYTES - at)
        ring[at:at + k] = data[:k] if k < len(data) else data
        if k < len(data):
            ring[0:len(data) - k] = data[k:]
        self.n += len(data)

    def room(self):
        """Bytes the queue can still take."""
        return QUEUE_BYTES - self.n

    def pending(self):
        return self.n

    def pump(self):
        """Hand the port the next slice of the queue while it has room."""
        sent = 0
        limit = min(self.budget, self.n)
        chunk = self.chunk
        if self.slow_until is not None:
            if ticks_diff(self.slow_until, ticks_ms()) > 0:
                chunk = 1
            else:
                self.slow_until = None
        while sent < limit and self._writable():
            head = self.head
            k = min(chunk, limit - sent, QUEUE_BYTES - head)
            t0 = ticks_ms()
            w = self._write(self.view[head:head + k])
            if ticks_diff(ticks_ms(), t0) >= WAITED_MS:
                self.slow_until = ticks_add(ticks_ms(), SLOW_MS)
                chunk = 1
            if w is None:
                w = k
            self.head = (head + w) % QUEUE_BYTES
            self.n -= w
            sent += w
            if w == 0:
                break
        return sent

    def _writable(self):
        for _, ev in self.out_poll.poll(0):
            if ev & select.POLLOUT:
                return True
        return False

    def _write(self, data):
        w = self.outb.write(data)
        flush = getattr(self.outb, "flush", None)
        if flush is not None:
            flush()
        return w
