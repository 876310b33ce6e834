# Differential fuzz of the control tick: the same cases on every interpreter
# (CPython, the unix port's 64-bit viper, the emulated RP2040's 32-bit
# viper); each case's memory after the ticks goes out as a CRC, and
# tests/test_arm_fuzz.py compares the interpreters case by case.
#
#   run(board, seed, cases): prints "CASES <first> <crc> <crc> ..." lines of
#   BATCH cases and "FUZZ done <n>".  A case: a base state (idle, running,
#   faulted), a few words set by a deterministic PRNG (class 0: extreme but
#   plausible values for inputs and commands; class 1: any int32 in any
#   input, command, output or state word), then TICKS ticks.
#
# Parameters (P_*) are not fuzzed: pen.board.check bounds them at boot and
# the integrity check covers the files they come from.  Portable: no
# f-strings, small ints where it matters (the PRNG's big ints are outside
# the tick).
from array import array
from binascii import crc32

from pen import tick as T
from pen.core import Core

BATCH = 50
TICKS = 2
MASK30 = 0x3FFFFFFF
INT_MIN = -2147483647 - 1
INT_MAX = 2147483647


class Rng:
    """31-bit LCG, the same on every interpreter."""

    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def next(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x >> 8                      # 23 bits

    def below(self, n):
        return self.next() % n

    def int32(self):
        v = ((self.next() & 0xFFFF) << 16) | (self.next() & 0xFFFF)
        return v - 0x100000000 if v >= 0x80000000 else v


EXTREMES = (0, 1, -1, INT_MIN, INT_MAX, MASK30, -MASK30 - 1, 65535, 65536, 100, 1000000)

# class 0: (word, lo, hi) plausible ranges of what HALs and commands write
PLAUSIBLE = (
    (T.I_TACH_PERIOD_US, 0, 2000000), (T.I_TACH_AGE_US, 0, 10000000), (T.I_CURRENT_RAW, 0, 65535),
    (T.I_VBAT_RAW, 0, 65535), (T.I_TEMP_RAW, 0, 65535), (T.I_DEPTH_A_RAW, 0, 65535),
    (T.I_DEPTH_B_RAW, 0, 65535), (T.I_CART_PRESENT, 0, 1), (T.I_CART_TYPE, 0, 7),
    (T.I_TACH_COUNT, 0, MASK30), (T.C_RUN, 0, 1), (T.C_LEVEL, -3, 10), (T.C_DEPTH_UM, -1000, 6000),
    (T.C_ZONE_HI_UM, 0, 5000), (T.C_ZONE_LO_UM, 0, 1000), (T.C_CLEAR, 0, 3),
    (T.C_CART_LOCKED, 0, 0x1FE), (T.C_CART_NEW, 0, 1),
    (T.I_TACH_PERIOD_US, 0, 200), (T.I_TACH_PERIOD_US, 1, 20),    # glitch periods, often
    (T.I_TACH_AGE_US, 0, 20),                                      # ...just after the edge
)
# class 1: every word a HAL, a command or the tick itself writes
GARBAGE_WORDS = (tuple(range(0, 14)) + tuple(range(16, 24)) + tuple(range(24, 28)) + tuple(range(32, 79))
                 + tuple(range(T.S_KE_Q10, T.S_ACCEL + 1)))


def _healthy(core):
    m = core.m
    b = core.board["adc"]

    def counts(v, key):
        a = b[key]
        return int(v * 65536 // a["full_scale"]) + a["offset"]

    m[T.I_VBAT_RAW] = counts(7600, "battery")
    m[T.I_TEMP_RAW] = counts(300, "temperature")
    m[T.I_CURRENT_RAW] = counts(150, "current")
    m[T.I_DEPTH_A_RAW] = counts(500, "depth_a")
    m[T.I_DEPTH_B_RAW] = counts(500, "depth_b")
    m[T.I_CART_PRESENT] = 1
    m[T.I_CART_TYPE] = 2


def _ticks(m, n, follow):
    i = 0
    while i < n:
        m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & MASK30
        if follow:
            r = m[T.S_RAMP_CHZ]
            m[T.I_TACH_PERIOD_US] = 100000000 // r if r >= 100 else 0
            m[T.I_TACH_AGE_US] = 100
        T.tick(m)
        i += 1


def bases(board):
    """Three memories: idle, running at level 3, over-current latched."""
    out = []
    for kind in ("idle", "running", "fault"):
        core = Core(board, level=3, depth_um=500, zone="cheeks", profile="professional")
        _healthy(core)
        _ticks(core.m, 50, False)
        if kind != "idle":
            core.start()
            _ticks(core.m, 400, True)
        if kind == "fault":
            core.m[T.I_CURRENT_RAW] = 65535
            _ticks(core.m, 40, True)
        out.append(array("i", core.m))
    return out


def case(base, rng, cls):
    m = array("i", base)
    k = 1 + rng.below(6)
    while k > 0:
        if cls == 0:
            w, lo, hi = PLAUSIBLE[rng.below(len(PLAUSIBLE))]
            v = lo + rng.below(hi - lo + 1) if rng.below(4) else EXTREMES[rng.below(len(EXTREMES))]
            if v < lo or v > hi:
                v = lo if v < lo else hi
        else:
            w = GARBAGE_WORDS[rng.below(len(GARBAGE_WORDS))]
            v = rng.int32() if rng.below(3) else EXTREMES[rng.below(len(EXTREMES))]
        m[w] = v
        k -= 1
    _ticks(m, TICKS, False)
    return crc32(bytes(m)) & 0xFFFFFFFF


def run(board, seed, cases):
    base = bases(board)
    print("BASES " + " ".join("%08x" % (crc32(bytes(b)) & 0xFFFFFFFF) for b in base))
    rng = Rng(seed)
    i = 0
    line = []
    while i < cases:
        cls = i & 1
        try:
            line.append("%08x" % case(base[rng.below(3)], rng, cls))
        except Exception as e:               # CPython: a value left int32 (an overflow)
            line.append("E" + type(e).__name__)
        i += 1
        if len(line) == BATCH or i == cases:
            print("CASES %d %s" % (i - len(line), " ".join(line)))
            line = []
    print("FUZZ done %d" % cases)
