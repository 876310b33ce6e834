# Fixed-rate scheduler: runs the control step once per period on an injected
# clock, measures every period, and raises LOOP_OVERRUN when overruns persist.
#
# The clock is any object with ticks_us(), ticks_diff(a, b), ticks_add(t, d)
# and wait_until(deadline, max_us): pen.clock on the pen, a virtual clock in
# the simulator.  wait_until never waits longer than max_us: a clock that
# jumped backwards must not hold the loop (and the motor's last duty)
# hostage.  Times are only ever combined with ticks_diff/ticks_add, so the
# statistics stay exact across the ticks counter's wraparound.
import micropython
from micropython import const

from pen import tick as T
from pen.mem import words

# statistics, one int32 each
N_TICKS = const(0)        # periods run (wraps at 2**30)
N_OVERRUNS = const(1)     # ticks that ended after the next deadline
N_MISSED = const(2)       # whole periods skipped to catch up
LATE_LAST = const(3)      # start lateness against the deadline, us
LATE_MAX = const(4)
EXEC_LAST = const(5)      # step() duration, us
EXEC_MAX = const(6)
PERIOD_LAST = const(7)    # start-to-start, us
PERIOD_MIN = const(8)
PERIOD_MAX = const(9)
BUCKET = const(10)        # overrun leaky bucket
TRIPPED = const(11)       # 1 while LOOP_OVERRUN is being raised
_WEIGHT = const(12)
_TRIP = const(13)
N_JUMPS = const(14)       # implausible timing: the clock ran backwards or the loop stood still
STATS_WORDS = const(15)
JUMP_US = const(50000)    # a start later than this is a blocked loop or a clock jump

_BIG = const(0x3FFFFFFF)


@micropython.viper
def _account(st: ptr32, late: int, period: int, exec_us: int, nominal: int) -> int:
    # Book one tick.  Returns bit 0: it overran; bit 1: overrun fault raised;
    # bit 2: implausible timing (started before its deadline by more than a
    # period: the clock went backwards; or more than JUMP_US late).
    if late < 0 - nominal or late > JUMP_US:
        st[N_JUMPS] = st[N_JUMPS] + 1
        return 4
    n = st[N_TICKS]
    st[LATE_LAST] = late
    if late > st[LATE_MAX]:
        st[LATE_MAX] = late
    st[EXEC_LAST] = exec_us
    if exec_us > st[EXEC_MAX]:
        st[EXEC_MAX] = exec_us
    if n > 0:                       # the first tick has no period before it
        st[PERIOD_LAST] = period
        if period < st[PERIOD_MIN]:
            st[PERIOD_MIN] = period
        if period > st[PERIOD_MAX]:
            st[PERIOD_MAX] = period
    st[N_TICKS] = (n + 1) & _BIG
    over = 0
    b = st[BUCKET]
    if late + exec_us > nominal:
        over = 1
        st[N_OVERRUNS] = st[N_OVERRUNS] + 1
        b += st[_WEIGHT]
        if b > st[_TRIP] * 2:
            b = st[_TRIP] * 2
    elif b > 0:
        b -= 1
    st[BUCKET] = b
    if b >= st[_TRIP]:
        st[TRIPPED] = 1
    elif b == 0:
        st[TRIPPED] = 0
    if st[TRIPPED]:
        over |= 2
    return over


class Scheduler:
    """Calls step() every period_us on clock; background(deadline) in the slack.

    Sustained overrun: each overrun adds `weight` to a bucket that drains by
    one per good tick; at `trip` LOOP_OVERRUN is raised into memory m until the
    bucket is empty again.  Defaults: 5 overruns in a row trip; isolated ones
    (a GC pause) do not.
    """

    def __init__(self, clock, period_us, step, m, background=None, weight=20, trip=100):
        self.clock = clock
        self.period = period_us
        self.step = step
        self.m = m
        self.background = background
        self.stats = st = words(STATS_WORDS, isinstance(m, list))   # a list beside a list memory
        st[PERIOD_MIN] = _BIG
        st[_WEIGHT] = weight
        st[_TRIP] = trip
        self.deadline = None
        self._prev_start = 0

    def reset_stats(self):
        st = self.stats
        for i in range(STATS_WORDS):
            if i != _WEIGHT and i != _TRIP:
                st[i] = 0
        st[PERIOD_MIN] = _BIG

    def healthy(self):
        return self.stats[TRIPPED] == 0

    def run(self, ticks=0):
        """Run `ticks` periods (0: forever).  Returns the number run."""
        clock = self.clock
        ticks_us = clock.ticks_us
        ticks_diff = clock.ticks_diff
        ticks_add = clock.ticks_add
        wait_until = clock.wait_until
        step = self.step
        background = self.background
        st = self.stats
        m = self.m
        period = self.period
        deadline = self.deadline
        if deadline is None:
            deadline = ticks_add(ticks_us(), period)
        prev = self._prev_start
        n = 0
        while ticks == 0 or n < ticks:
            wait_until(deadline, period)
            start = ticks_us()
            step()
            end = ticks_us()
            r = _account(st, ticks_diff(start, deadline), ticks_diff(start, prev),
                         ticks_diff(end, start), period)
            if r:
                if r & 4:
                    # Timing lost.  A clock running backwards is always a
                    # fault; a long stop only while the motor runs (flash
                    # writes, done with the motor off, stall the chip too).
                    if ticks_diff(start, deadline) < 0 or m[T.S_STATE] == T.ST_RUNNING:
                        m[T.I_EXT_FAULTS] |= T.F_CLOCK
                    deadline = start
                if r & 2:
                    m[T.I_EXT_FAULTS] |= T.F_LOOP_OVERRUN
                if r & 1:
                    behind = ticks_diff(end, deadline)
                    if behind >= period:             # skip the slots we lost
                        lost = behind // period
                        st[N_MISSED] += lost
                        deadline = ticks_add(deadline, lost * period)
            prev = start
            deadline = ticks_add(deadline, period)
            if background is not None:
                background(deadline)
            n += 1
        self.deadline = deadline
        self._prev_start = prev
        return n

    def report(self):
        st = self.stats
        n = st[N_TICKS]
        return {
            "ticks": n,
            "period_us": self.period,
            "period_min_us": st[PERIOD_MIN] if n > 1 else None,
            "period_max_us": st[PERIOD_MAX] if n > 1 else None,
            "jitter_us": max(st[PERIOD_MAX] - self.period, self.period - st[PERIOD_MIN]) if n > 1 else None,
            "late_max_us": st[LATE_MAX],
            "exec_last_us": st[EXEC_LAST],
            "exec_max_us": st[EXEC_MAX],
            "overruns": st[N_OVERRUNS],
            "missed": st[N_MISSED],
            "overrun_fault": bool(st[TRIPPED]),
            "clock_jumps": st[N_JUMPS],
        }
