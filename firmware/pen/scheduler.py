# Fixed-rate scheduler: runs the control step once per period on an injected
# clock, measures every period, raises LOOP_OVERRUN when overruns persist
# while the motor runs, and feeds the hardware watchdog while all is well.
#
# Two ways to drive it, one period's work (tick()) either way:
#   - a hardware timer interrupt calls tick() every period (the rp2 pen: the
#     background then runs in the main loop and can never delay a tick);
#   - run() loops: wait for the deadline, tick(), the background in the slack
#     (the simulator, the virtual pen, the ESP32, whose timers are soft).
# tick() runs in the tick's context and allocates nothing.
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
FEED_TICKS = const(10)    # the hardware watchdog is fed every 10 healthy ticks

_BIG = const(0x3FFFFFFF)


@micropython.viper
def _account(st: ptr32, late: int, period: int, exec_us: int, nominal: int, judge: int) -> int:
    # Book one tick.  Returns bit 0: it overran; bit 1: overrun fault raised;
    # bit 2: implausible timing (started before its deadline by more than a
    # period: the clock went backwards; or more than JUMP_US late).
    # Overruns fill the trip bucket only when `judge` (the motor runs): at
    # rest a long stop (a flash write with interrupts off) is harmless.
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
        if judge:
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

    Sustained overrun while the motor runs: each overrun adds `weight` to a
    bucket that drains by one per good tick; at `trip` LOOP_OVERRUN is raised
    into memory m until the bucket is empty again.  Defaults: 5 overruns in a
    row trip; isolated ones (a GC pause) do not.

    feed(): the hardware watchdog, fed every FEED_TICKS ticks while the loop
    is healthy (no overrun trip) and the background still beats (the tick's
    software watchdog has not timed out): a hung background or tick resets
    the pen.
    """

    def __init__(self, clock, period_us, step, m, background=None, weight=20, trip=100, feed=None):
        self.clock = clock
        self._now = clock.ticks_us        # bound once: tick() runs every period
        self._diff = clock.ticks_diff
        self._add = clock.ticks_add
        self.period = period_us
        self.step = step
        self.m = m
        self.background = background
        self.feed = feed
        self.stats = st = words(STATS_WORDS, isinstance(m, list))   # a list beside a list memory
        st[PERIOD_MIN] = _BIG
        st[_WEIGHT] = weight
        st[_TRIP] = trip
        self.deadline = None
        self._prev_start = 0
        self._feed_left = FEED_TICKS
        self.irq = False             # ticks come from a timer interrupt

    def reset_stats(self):
        st = self.stats
        for i in range(STATS_WORDS):
            if i != _WEIGHT and i != _TRIP:
                st[i] = 0
        st[PERIOD_MIN] = _BIG

    def healthy(self):
        return self.stats[TRIPPED] == 0

    def start(self, irq=False):
        """Before the first tick.  Loop mode: the first deadline is one period
        from now.  Interrupt mode: it is the first interrupt itself (the
        timer's own schedule; setting it up takes a few hundred us)."""
        self.irq = irq
        self.deadline = None if irq else self.clock.ticks_add(self.clock.ticks_us(), self.period)

    def tick(self):
        """One period: the step, its timing, the faults timing implies, the
        watchdog.  Allocation-free: it may run in a hard interrupt."""
        ticks_diff = self._diff
        st = self.stats
        m = self.m
        period = self.period
        start = self._now()
        deadline = self.deadline
        if deadline is None:                 # the first interrupt sets the schedule
            deadline = start
        late = ticks_diff(start, deadline)
        if self.irq and late < 0 - (period >> 1):
            # A timer catching up on periods we already skipped (after a
            # stall with interrupts off): not a period of ours.
            return
        self.step()
        end = self._now()
        running = 1 if m[T.S_STATE] == T.ST_RUNNING else 0
        r = _account(st, late, ticks_diff(start, self._prev_start), ticks_diff(end, start), period, running)
        if r:
            if r & 4:
                # Timing lost.  A clock running backwards is always a fault; a
                # long stop only while the motor runs (flash writes, done with
                # the motor off, stall the chip too).
                if late < 0 or running:
                    m[T.I_EXT_FAULTS] |= T.F_CLOCK
                deadline = start
            if r & 2:
                m[T.I_EXT_FAULTS] |= T.F_LOOP_OVERRUN
            if r & 1:
                behind = ticks_diff(end, deadline)
                if behind >= period:             # skip the slots we lost
                    lost = behind // period
                    st[N_MISSED] += lost
                    deadline = self._add(deadline, lost * period)
        self._prev_start = start
        self.deadline = self._add(deadline, period)
        n = self._feed_left - 1
        if n <= 0:
            n = FEED_TICKS
            if st[TRIPPED] == 0 and m[T.S_HB_AGE] < m[T.P_WD_TICKS] and self.feed is not None:
                self.feed()
        self._feed_left = n

    def run(self, ticks=0):
        """Loop mode: run `ticks` periods (0: forever).  Returns the number run."""
        wait_until = self.clock.wait_until
        tick = self.tick
        period = self.period
        if self.deadline is None:
            self.start()
        n = 0
        while ticks == 0 or n < ticks:
            wait_until(self.deadline, period)
            tick()
            background = self.background     # read each time: a test may hang it
            if background is not None:
                background(self.deadline)
            n += 1
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
            "irq": self.irq,
        }
