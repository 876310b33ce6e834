# Junk for the serial protocol: random bytes, overlong lines, half commands,
# wrong types, near-misses of real commands.  Shared by the portable test
# (CPython and MicroPython) and the hypothesis test (CPython).
from pen import tick as T

WORDS = (b"start", b"stop", b"speed", b"depth", b"zone", b"clear", b"status", b"tele", b"log", b"set",
         b"get", b"info", b"help", b"sim", b"STOP", b"spe", b"depht", b"")
ARGS = (b"3", b"-1", b"99999999999", b"0.5", b"1.25", b"abc", b"\xff\xfe", b"on", b"off", b"cheeks",
        b"550um", b"1e9", b"0x10", b"2.", b".", b"auto_off_s", b"cal_depth_a", b"9" * 40, b"\x00", b"\t")


def is_start(data):
    """True if `data` holds a real start command (the one way the motor may
    start); control bytes other than tab and line ends are dropped, as the
    pen drops them."""
    kept = bytes(b for b in data if b >= 32 or b in (9, 10, 13))
    for line in kept.replace(b"\r", b"\n").split(b"\n"):
        if line.strip().lower() == b"start":
            return True
    return False


def generate(seed, n):
    """n junk inputs, deterministic for the seed (an LCG: same on both
    interpreters); generated one at a time, to keep MicroPython's heap free."""
    s = seed & 0x7FFFFFFF
    for _ in range(n):
        parts = []
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        for _ in range(1 + (s >> 8) % 5):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            kind = (s >> 10) % 6
            if kind == 0:                    # raw bytes
                k = (s >> 4) % 40
                b = bytearray()
                for _ in range(k):
                    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
                    b.append((s >> 16) & 0xFF)
                parts.append(bytes(b))
            elif kind == 1:                  # an overlong line
                parts.append(b"x" * (100 + (s >> 5) % 300))
            else:                            # a word and wrong-ish arguments
                w = WORDS[(s >> 3) % len(WORDS)]
                a = ARGS[(s >> 7) % len(ARGS)]
                parts.append(w + b" " + a if kind != 5 else w)
            parts.append((b"\n", b"\r\n", b"", b" ", b"\r")[(s >> 12) % 5])
        yield b"".join(parts)


def check(pen, data):
    """Feed one input to a linked simulated pen; raise AssertionError on a
    crash, an unanswered line, a wrong answer or a motor moved by junk."""
    from rigs import ask
    before = len(pen.link.lines)
    pen.link.inbox += data
    pen.run_ms(5)
    ask(pen, "")                             # end any half line: the pen answers it or drops it
    lines = pen.link.lines[before:]
    for x in lines:
        assert x.startswith(("OK", "ERR ", "T ", "L ")), (data, x)
    if not is_start(data):
        assert pen.m[T.S_STATE] != T.ST_RUNNING and pen.m[T.O_DUTY] == 0, data
    if is_start(data):
        ask(pen, "stop")
    ask(pen, "tele off")
    del pen.link.lines[:]                    # keep the heap small on MicroPython
    return len(lines)
