# The tachometer decoder: tach edges in, the tick's I_TACH_* words out.
#
# Every HAL feeds it (rp2 PIO: edge-to-edge periods; rp2 interrupt tach:
# edge timestamps; ESP32: hardware-counted edges and a time) and the
# simulator drives it through the same calls with noisy edges.  It runs in
# the tick's context (on the rp2 a hard timer interrupt): viper code over
# one small preallocated int32 array, no objects, no allocation, plain
# Python on CPython (pen._cpython), like pen.tick.
#
# What it does with an edge, in this order (docs/control.md, "Tachometer
# decoder"):
#   1. glitch merge: a span from the last accepted edge shorter than the
#      floor is not an edge (ringing, a spike, a zero or wrapped period):
#      its time is kept and the span grows to the next edge.  The floor is
#      the larger of the period at twice the board's top stroke rate (above
#      the motor's no-load speed: no real edge comes that fast) and 1/4 of
#      the current estimate.  1/4, not 1/2: merging true edges cannot
#      sustain a wrong estimate (one k times too long would merge runs of
#      k - 1 true spans only while k - 1 < k/4: for no k >= 4/3; with 1/2
#      k = 2 is marginal), so an estimate inflated by lost pulses decays.
#   2. plausibility: a span of _STALE_US or more, or that long without an
#      edge (out() notices it every tick), means the motor stood still: the
#      next edge restarts the history (no period until ppr spans are
#      measured again, as at power-up); a glitch-short word then (the
#      PIO's fall-through 0) is not that edge.
#   3. bounded influence: the sample used is the median of this span and
#      the four before (the span clamped into the middle two of those four),
#      so up to two wild spans in a row -- a lost pulse, a spurious pulse
#      splitting a period in two, a late timestamp and the short span after
#      it -- move nothing; a real change shows from its third span (a lag of
#      two spans, one revolution at 2 pulses a revolution; the first spans
#      after a start use the median of three, then of five).
#   4. the revolution period is the sum of the last ppr samples: uneven
#      pulse spacing (magnets) cancels out.  (For ppr <= 2 or evenly spaced
#      pulses the median keeps that; with ppr >= 3 and uneven gaps it can
#      bias the sum by up to the gaps' spread.)
#
# 32-bit arithmetic: times are 30-bit ticks_us values, differences taken
# modulo 2**30 (ticks_diff); spans are clamped to [0, _STALE_US] before
# anything adds them, samples stay below _STALE_US = 10**6, so the ring's
# sum is below 64 * 10**6 < 2**26; the floor divides (rev // (4 * ppr));
# the count path caps n at 2**20.  No product anywhere.  Nothing stored is
# negative, so the signed-word trick of pen.tick is not needed here.
import micropython
from micropython import const

from pen import tick as T

# ---- the state array ------------------------------------------------------
_PPR = const(0)        # pulses per revolution, 1..64
_MIN_US = const(1)     # shortest plausible span: the period at 2x the top stroke rate
_LAST = const(2)       # ticks_us (30 bits) of the last accepted edge
_SEEN = const(3)       # 1: _LAST is recent; 0: the next edge restarts the history
_ACC = const(4)        # period path: glitch time since _LAST, merged into the next span
_N = const(5)          # samples since the restart (saturates)
_H1 = const(6)         # the last four raw spans, newest first (median of five)
_H2 = const(7)
_SLOT = const(8)       # next slot of the ring
_REV = const(9)        # revolution period, us (valid once _N >= ppr)
_COUNT = const(10)     # accepted edges since boot (wraps at 2**30)
_GLITCHES = const(11)  # edges merged away since boot (wraps at 2**30)
_PEND = const(12)      # count path: counted edges still waiting for a plausible time
_H3 = const(13)
_H4 = const(14)
_RING = const(16)      # ppr samples, us
HEADER = const(16)
PPR_MAX = const(64)

_MASK = const(0x3FFFFFFF)  # ticks_us wraps at 2**30
_STALE_US = const(1000000)  # no edge for 1 s: standing still (the tick reads rate 0 from here)
AGE_MAX = const(10000000)   # the age reported when none is known
_N_MAX = const(1000)
_PEND_MAX = const(0x100000)

# the tick's input words, folded here as constants (checked below)
_I_COUNT = const(0)
_I_PERIOD = const(1)
_I_AGE = const(2)
if (T.I_TACH_COUNT, T.I_TACH_PERIOD_US, T.I_TACH_AGE_US) != (_I_COUNT, _I_PERIOD, _I_AGE):
    raise ImportError("pen.tach: the tick's I_TACH_* layout changed")


def new(ppr, min_us, fast=False):
    """A decoder's state for `ppr` pulses per revolution whose spans are
    never shorter than `min_us` (us).  Allocates: call at boot.  fast=True:
    a list on CPython, as pen.mem.words (the simulator's choice)."""
    from pen.mem import words
    if not 1 <= ppr <= PPR_MAX:
        raise ValueError("tach: 1..64 pulses per revolution")
    st = words(HEADER + ppr, fast)
    st[_PPR] = ppr
    st[_MIN_US] = max(1, min(int(min_us), _STALE_US - 1))
    return st


def min_span_us(board):
    """The shortest plausible edge-to-edge time of a board: the period at
    twice its top speed level, above what its motor reaches unloaded."""
    mot = board["motor"]
    top = max(mot["speed_levels_sps"])
    return int(1000000 // (2 * top * mot["tach_pulses_per_rev"]))


def for_board(board, fast=False):
    """new() for a board definition (pen.board checked)."""
    return new(int(board["motor"]["tach_pulses_per_rev"]), min_span_us(board), fast)


@micropython.viper
def _sample(st: ptr32, p: int):
    # One accepted span p (floor <= p < _STALE_US): the median of it and the
    # four before into the ring, then the revolution period.
    n = st[_N]
    h1 = st[_H1]
    h2 = st[_H2]
    h3 = st[_H3]
    h4 = st[_H4]
    lo = h1                               # h1, h2 as a pair: lo <= hi
    hi = h2
    if h1 > h2:
        lo = h2
        hi = h1
    if n >= 4:
        # median of five = p clamped into the middle two of the four before:
        # with pairs lo <= hi and lo2 <= hi2, those are max(lo, lo2) and
        # min(hi, hi2), in either order
        lo2 = h3
        hi2 = h4
        if h3 > h4:
            lo2 = h4
            hi2 = h3
        if lo2 > lo:
            lo = lo2
        if hi2 < hi:
            hi = hi2
        if lo > hi:
            g = lo
            lo = hi
            hi = g
    q = p
    if n >= 2:                            # (n = 2, 3: median of three)
        if q < lo:
            q = lo
        elif q > hi:
            q = hi
    st[_H4] = h3
    st[_H3] = h2
    st[_H2] = h1
    st[_H1] = p
    ppr = st[_PPR]
    if ppr < 1 or ppr > PPR_MAX:          # (a corrupted word must not index out)
        ppr = 1
    slot = st[_SLOT]
    if slot < 0 or slot >= ppr:
        slot = 0
    st[_RING + slot] = q
    slot += 1
    if slot >= ppr:
        slot = 0
    st[_SLOT] = slot
    if n < _N_MAX:
        n += 1
        st[_N] = n
    if n >= ppr:
        s = 0
        i = 0
        while i < ppr:
            s += st[_RING + i]
            i += 1
        st[_REV] = s


@micropython.viper
def _restart(st: ptr32, t: int):
    # This edge starts a new history: no period until ppr spans are measured.
    st[_LAST] = t
    st[_SEEN] = 1
    st[_ACC] = 0
    st[_PEND] = 0
    st[_N] = 0
    st[_SLOT] = 0
    st[_REV] = 0


@micropython.viper
def _edge(st: ptr32, span: int, t: int):
    # One raw edge at time t, `span` us after the last accepted edge (after
    # a standstill: after the previous raw edge, which can be the PIO's
    # fall-through word).
    if st[_SEEN] == 0:
        if span < st[_MIN_US]:            # not an edge after a standstill: a glitch
            st[_GLITCHES] = (st[_GLITCHES] + 1) & _MASK
            return
        _restart(st, t)
        st[_COUNT] = (st[_COUNT] + 1) & _MASK
        return
    # the floor: the board's minimum, or 1/4 of the per-pulse estimate
    f = st[_MIN_US]
    ppr = st[_PPR]
    if ppr >= 1 and ppr <= PPR_MAX and st[_N] >= ppr:
        g = st[_REV] // (ppr << 2)
        if g > f:
            f = g
    if span < f:                          # a glitch: merged into the next span
        if span < 0:
            span = 0
        st[_ACC] = span
        st[_GLITCHES] = (st[_GLITCHES] + 1) & _MASK
        return
    st[_COUNT] = (st[_COUNT] + 1) & _MASK
    if span >= _STALE_US:                 # stood still: start again from here
        _restart(st, t)
        return
    st[_ACC] = 0
    st[_LAST] = t
    _sample(st, span)


@micropython.viper
def period(st: ptr32, p: int, now: int):
    """One edge, p us after the previous raw edge (rp2 PIO), seen at now."""
    if p < 0:
        p = 0
    if p > _STALE_US:
        p = _STALE_US
    _edge(st, st[_ACC] + p, now & _MASK)


@micropython.viper
def stamp(st: ptr32, t: int):
    """One edge timestamped t (ticks_us) by a pin interrupt, in order."""
    t &= _MASK
    d = (t - st[_LAST]) & _MASK           # ticks_diff
    if st[_SEEN] == 0:
        d = _STALE_US                     # the first edge after a standstill
    elif d & 0x20000000:
        d = -1                            # before the last edge: out of order
    elif d > _STALE_US:
        d = _STALE_US
    _edge(st, d, t)


@micropython.viper
def count(st: ptr32, n: int, t: int):
    """n edges counted in hardware (glitch-filtered there) since the last
    call, the last of them at t or shortly before (ESP32 PCNT).  Their span
    is shared evenly; if that is implausibly short (t was taken too early:
    bunched or late timestamps), they wait for a later t."""
    if n <= 0:
        return
    t &= _MASK
    n += st[_PEND]
    if n > _PEND_MAX:
        n = _PEND_MAX
    d = (t - st[_LAST]) & _MASK           # ticks_diff
    if d & 0x20000000:
        d = 0
    if st[_SEEN] == 0 or d >= _STALE_US:
        _restart(st, t)
        st[_COUNT] = (st[_COUNT] + n) & _MASK
        return
    p = d // n
    f = st[_MIN_US]                       # the floor, as in _edge
    ppr = st[_PPR]
    if ppr >= 1 and ppr <= PPR_MAX and st[_N] >= ppr:
        g = st[_REV] // (ppr << 2)
        if g > f:
            f = g
    if p < f:
        st[_PEND] = n                     # counted once they are placed
        return
    st[_PEND] = 0
    st[_LAST] = t
    st[_COUNT] = (st[_COUNT] + n) & _MASK
    if n > ppr + 2:                       # older samples would be overwritten anyway
        n = ppr + 2
    while n > 0:
        _sample(st, p)
        n -= 1


@micropython.viper
def out(st: ptr32, m: ptr32, now: int):
    """The tick's inputs at time now: I_TACH_PERIOD_US (0: none),
    I_TACH_AGE_US (saturates), I_TACH_COUNT.  Call every tick: it also
    notices standstill before ticks_us wraps."""
    rev = 0
    age = AGE_MAX
    if st[_SEEN] != 0:
        age = (now - st[_LAST]) & _MASK
        if age & 0x20000000:
            age = 0                       # an edge stamped after `now`
        if age >= _STALE_US:
            st[_SEEN] = 0                 # the next edge restarts
            age = AGE_MAX
        elif st[_N] >= st[_PPR]:
            rev = st[_REV]
    m[_I_PERIOD] = rev
    m[_I_AGE] = age
    m[_I_COUNT] = st[_COUNT]


def glitches(st):
    """Edges merged away since boot (diagnostics)."""
    return st[_GLITCHES]
