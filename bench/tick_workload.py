# The tick benchmark's workload; runs on MicroPython and on CPython.
# Prints one line "RESULT key=value ..." for bench/tick.py to collect.
import sys

try:
    from time import perf_counter_ns as _ns

    def now_us():
        return _ns() / 1000.0
except ImportError:
    from time import ticks_diff, ticks_us  # MicroPython

    def now_us():
        return ticks_us()

import gc

from pen import tick as T
from pen.scheduler import STATS_WORDS, _account

from rigs import Bench

MPY = sys.implementation.name == "micropython"
BATCH = 100


def follow(m):
    r = m[T.S_RAMP_CHZ]
    m[T.I_TACH_PERIOD_US] = 100000000 // r if r >= 100 else 0


def batches(m, n, with_sched):
    # per-tick time of each batch of BATCH ticks, us
    from array import array
    st = array("i", bytes(4 * STATS_WORDS))
    st[13] = 100
    tick = T.tick
    out = []
    for _ in range(n):
        t0 = now_us()
        i = 0
        while i < BATCH:
            m[T.I_HEARTBEAT] = i
            tick(m)
            if with_sched:
                _account(st, 3, 1000, 120, 1000, 1)
            i += 1
        t1 = now_us()
        out.append(((ticks_diff(t1, t0) if MPY else t1 - t0)) / BATCH)
        follow(m)
    return out


def allocations(m, n):
    """Bytes allocated per tick (gc.mem_alloc on MicroPython)."""
    if not MPY:
        return -1
    import micropython
    tick = T.tick
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    micropython.heap_lock()
    i = 0
    try:
        while i < n:
            tick(m)
            i += 1
    finally:
        micropython.heap_unlock()
    a1 = gc.mem_alloc()
    gc.enable()
    return (a1 - a0) / n


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    b = Bench(level=4, depth_um=800)
    b.run_at_level(600)                    # running, steady state
    run = batches(b.m, n, False)
    sched = batches(b.m, n, True)
    alloc = allocations(b.m, 5000)
    b.core.raise_fault(T.F_WATCHDOG)       # faulted state
    b.tick()
    fault = batches(b.m, n // 3, False)
    print("RESULT interp={} median_us={:.3f} worst_us={:.3f} sched_median_us={:.3f} fault_median_us={:.3f} "
          "alloc_bytes_per_tick={}".format(sys.implementation.name, median(run), max(run), median(sched),
                                           median(fault), alloc))


main()
