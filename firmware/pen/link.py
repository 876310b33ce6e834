# The serial link to a host: the REPL's own stdin/stdout (USB CDC on the
# pens, the pseudo-terminal for the virtual pen).  Non-blocking reads; a
# Ctrl-C from the host still raises KeyboardInterrupt (mpremote relies on it).
import select
import sys

MAX_READ = 64                 # bytes per 10 ms beat: 6.4 kB/s, far above any command rate


class StdioLink:
    def __init__(self, stdin=None, stdout=None):
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.inb = getattr(self.stdin, "buffer", self.stdin)
        self.poll = select.poll()
        self.poll.register(self.stdin, select.POLLIN)

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
        self.stdout.write(line + "\n")
