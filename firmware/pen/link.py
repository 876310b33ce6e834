# The serial link to a host: the REPL's own stdin/stdout (USB CDC on the
# rp2 pen, a UART on the ESP32 pen, the pseudo-terminal for the virtual pen).
# Background only.  Non-blocking both ways:
#   - reads take what has arrived, at most MAX_READ bytes a beat; a Ctrl-C
#     from the host still raises KeyboardInterrupt (mpremote relies on it);
#   - writes go into a bounded queue; pump() hands the port at most `budget`
#     bytes a beat, and only while the port reports room (select POLLOUT),
#     so a host that holds the port open without reading, or a slow UART,
#     can never hold up the background.  A full queue drops whole lines and
#     counts them (`dropped`, in `info`).
import select
import sys

MAX_READ = 64                 # bytes per 10 ms beat: 6.4 kB/s, far above any command rate
QUEUE_BYTES = 2048            # output waiting for the host
BUDGET = 256                  # bytes handed to the port per beat (boards may set less)


class StdioLink:
    def __init__(self, stdin=None, stdout=None, budget=BUDGET):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.inb = getattr(self.stdin, "buffer", self.stdin)
        self.outb = getattr(self.stdout, "buffer", None)
        self.poll = select.poll()
        self.poll.register(self.stdin, select.POLLIN)
        self.out_poll = select.poll()
        self.out_poll.register(self.stdout, select.POLLOUT)
        self.budget = budget
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
        """Hand the port the next slice of the queue, if it has room."""
        q = self.queue
        if not q:
            return 0
        for _, ev in self.out_poll.poll(0):
            if ev & select.POLLOUT:
                break
        else:
            return 0
        n = min(self.budget, len(q))
        chunk = bytes(q[:n])
        if self.outb is not None:
            w = self.outb.write(chunk)
        else:
            w = self.stdout.write(chunk.decode())
        if w is None:
            w = n
        flush = getattr(self.outb if self.outb is not None else self.stdout, "flush", None)
        if flush is not None:
            flush()
        self.queue = q[w:]
        return w
