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
QUEUE_BYTES = 2048            # output waiting for the host
SLOW_MS = 2000                # one byte per write this long after a write that waited
WAITED_MS = 3                 # a write this long waited for the host
BUDGET = 256                  # bytes handed to the port per beat (boards may set less)


class StdioLink:
    def __init__(self, stdin=None, stdout=None, budget=BUDGET, chunk=BUDGET):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.inb = getattr(self.stdin, "buffer", self.stdin)
        self.outb = getattr(self.stdout, "buffer", None)
        self.poll = select.poll()
        self.poll.register(self.stdin, select.POLLIN)
        self.out_poll = select.poll()
        self.out_poll.register(self.stdout, select.POLLOUT)
        self.budget = budget
        self.chunk = chunk
        self.slow_until = None        # ticks_ms until which the host is taken for slow
        self.queue = bytearray()
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
        data = line.encode() + b"\n"
        if len(self.queue) + len(data) > QUEUE_BYTES:
            self.dropped += 1
            return False
        self.queue += data
        return True

    def room(self):
        """Bytes the queue can still take."""
        return QUEUE_BYTES - len(self.queue)

    def pending(self):
        return len(self.queue)

    def pump(self):
        """Hand the port the next slice of the queue while it has room."""
        q = self.queue
        sent = 0
        limit = min(self.budget, len(q))
        chunk = self.chunk
        if self.slow_until is not None:
            if ticks_diff(self.slow_until, ticks_ms()) > 0:
                chunk = 1
            else:
                self.slow_until = None
        while sent < limit and self._writable():
            n = min(chunk, limit - sent)
            t0 = ticks_ms()
            w = self._write(bytes(q[sent:sent + n]))
            if ticks_diff(ticks_ms(), t0) >= WAITED_MS:
                self.slow_until = ticks_add(ticks_ms(), SLOW_MS)
                chunk = 1
            sent += n if w is None else w
            if w == 0:
                break
        if sent:
            self.queue = q[sent:]
        return sent

    def _writable(self):
        for _, ev in self.out_poll.poll(0):
            if ev & select.POLLOUT:
                return True
        return False

    def _write(self, data):
        if self.outb is not None:
            w = self.outb.write(data)
        else:
            w = self.stdout.write(data.decode())
        flush = getattr(self.outb if self.outb is not None else self.stdout, "flush", None)
        if flush is not None:
            flush()
        return w
