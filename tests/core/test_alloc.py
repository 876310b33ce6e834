# The tick's context allocates nothing: thousands of periods of the
# scheduler's tick() (timing, the control tick, the faults timing implies,
# the watchdog feed: what the rp2 pen runs in a hard timer interrupt) under
# micropython.heap_lock(), across every state (idle, soft start, running,
# each fault, clear).  Only meaningful on MicroPython; skipped on CPython.
import sys
from array import array

import micropython

from pen import tick as T
from pen.scheduler import Scheduler
from sim.clock import VirtualClock

from rigs import Bench

ON_MPY = sys.implementation.name == "micropython"


def timed(m, clock):
    """A scheduler on a virtual clock whose step is the bare tick, 120 us long."""
    tick = T.tick
    fed = array("i", [0])

    def step():
        tick(m)
        clock.now_us += 120

    def feed():
        fed[0] += 1

    return Scheduler(clock, 1000, step, m, feed=feed), fed


def locked_ticks(sched, clock, m, n, follow):
    # Everything here must be allocation-free too: while loop, small ints.
    i = 0
    hb = m[T.I_HEARTBEAT]
    while i < n:
        clock.wait_until(sched.deadline, 1000)
        hb = (hb + 1) & 0x3FFFFFFF
        m[T.I_HEARTBEAT] = hb
        if follow:
            r = m[T.S_RAMP_CHZ]
            m[T.I_TACH_PERIOD_US] = 100000000 // r if r >= 100 else 0
        sched.tick()
        i += 1


def phases():
    # (description, setup(bench), ticks, tach follows the setpoint)
    def nothing(b):
        pass

    def start(b):
        b.core.start()

    def level(b):
        b.core.set_level(6)

    def depth(b):
        b.core.set_depth(1400)

    def fault(kw):
        def f(b):
            b.set_sensors(**kw)
        return f

    def clear(b):
        b.set_sensors()
        b.core.clear()

    def cart_out(b):
        b.m[T.I_CART_PRESENT] = 0

    def cart_used(b):
        b.m[T.S_CART_USE_S] = 99999

    def ext(b):
        b.core.raise_fault(T.F_LOOP_OVERRUN | T.F_WATCHDOG)

    def stall(b):
        b.tach_sps(100, age_us=900000)

    def empty(b):
        b.m[T.C_ZONE_LO_UM] = 1000
        b.m[T.C_ZONE_HI_UM] = 500

    def lower(b):                          # braking to a lower level: no current read
        b.set_sensors(current_ma=0)
        b.core.set_level(1)

    def short(b):                          # at level 6, 20 % short, duty saturated
        b.set_sensors(vbat_mv=(251 * 160 + 25000) * 65536 // (10 * b.m[T.P_DUTY_MAX]), current_ma=1000)
        b.tach_sps(160)

    def limit(b):                          # above the current limit
        b.set_sensors(current_ma=1700)

    def restore(b):
        b.set_sensors()
        b.tach_sps(0)
        b.m[T.C_ZONE_LO_UM] = 0
        b.m[T.C_ZONE_HI_UM] = 1500
        b.m[T.S_CART_USE_S] = 0
        b.tick(3000)                       # filters settle: causes gone
        b.core.clear()
        b.tick()

    return (
        ("idle", nothing, 500, False), ("soft start", start, 600, True), ("level change", level, 800, True),
        ("depth change", depth, 300, True), ("overcurrent", fault({"current_ma": 3000}), 300, True),
        ("clear", clear, 50, False), ("start", start, 400, True), ("overtemp", fault({"temp_c": 99}), 3000, True),
        ("restore", restore, 500, False), ("start", start, 400, True),
        ("battery", fault({"vbat_mv": 5500}), 1000, True),
        ("restore", restore, 800, False), ("start", start, 400, True),
        ("disagree", fault({"depth_um": 500, "depth_b_um": 900}), 100, True),
        ("restore", restore, 50, False), ("start", start, 400, True), ("cart out", cart_out, 50, True),
        ("restore", restore, 50, False), ("start", start, 400, True), ("cart used", cart_used, 50, True),
        ("restore", restore, 50, False), ("start", start, 400, True), ("ext", ext, 50, True),
        ("restore", restore, 50, False), ("start", start, 400, True), ("stall", stall, 50, False),
        ("restore", restore, 50, False), ("empty window", empty, 100, False), ("restore", restore, 100, False),
        ("over depth", fault({"depth_um": 2400}), 100, False),
        # issue 13: the back-EMF constant learned (level change above), braking,
        # the current limit, the shortfall warning and fault
        ("restore", restore, 100, False), ("start", start, 600, True), ("lower", lower, 400, False),
        ("restore", restore, 50, False), ("start", start, 600, True), ("limit", limit, 200, True),
        ("restore", restore, 50, False), ("start", start, 600, True), ("level", level, 600, True),
        ("shortfall", short, 3500, False),
    )


def test_tick_allocates_nothing_in_any_state():
    if not ON_MPY:
        try:
            import pytest
            pytest.skip("heap_lock is a MicroPython check")
        except ImportError:
            return
    b = Bench(level=3, depth_um=500)
    clock = VirtualClock()
    sched, fed = timed(b.m, clock)
    sched.start()
    seen_states = 0
    total = 0
    for name, setup, n, follow in phases():
        setup(b)
        micropython.heap_lock()
        try:
            locked_ticks(sched, clock, b.m, n, follow)
        except MemoryError:
            micropython.heap_unlock()
            raise AssertionError("the tick allocated in phase '" + name + "'")
        micropython.heap_unlock()
        seen_states |= 1 << b.m[T.S_STATE]
        total += n
    assert seen_states == 7, seen_states   # idle, running and fault all seen
    assert total >= 10000, total
    assert fed[0] > 0                      # the watchdog path ran too
    assert sched.report()["ticks"] >= 10000
