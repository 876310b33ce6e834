# Loop-timing workload for bench/loop.py (MicroPython unix port): the real
# scheduler and tick on the wall clock for a few seconds, busy-waiting (as the
# pen does) or sleeping until each deadline.  Prints one RESULT line.
import gc
import sys
import time
from array import array

from pen import clock as busy_clock
from pen import tick as T
from pen.scheduler import LATE_LAST, Scheduler

from rigs import Bench


class SleepClock:
    ticks_us = staticmethod(time.ticks_us)
    ticks_diff = staticmethod(time.ticks_diff)
    ticks_add = staticmethod(time.ticks_add)

    @staticmethod
    def wait_until(deadline, max_us):
        d = time.ticks_diff(deadline, time.ticks_us())
        if 0 < d <= max_us:
            time.sleep_us(d)


def main():
    mode = sys.argv[1]
    seconds = int(sys.argv[2])
    collect = sys.argv[3] == "gc"
    b = Bench(level=4)
    b.run_at_level(500)
    m = b.m
    late = array("i", bytes(4 * 1024))      # histogram of lateness, 10 us bins
    junk = []

    def step():
        T.tick(m)

    def background(deadline):
        m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & 0x3FFFFFFF
        x = s.stats[LATE_LAST] // 10
        late[x if x < 1023 else 1023] += 1
        junk.append(bytearray(64))          # the background allocates, as UI/protocol do
        if len(junk) > 50:
            junk.pop(0)
        if collect and s.stats[0] % 1000 == 0:
            gc.collect()

    clock = busy_clock if mode == "busy" else SleepClock
    s = Scheduler(clock, 1000, step, m, background=background)
    s.run(seconds * 1000)
    r = s.report()
    total = sum(late)
    acc = 0
    p99 = 0
    for i in range(1024):
        acc += late[i]
        if acc >= total * 0.99:
            p99 = i * 10
            break
    print("RESULT mode={} gc={} ticks={} period_min={} period_max={} late_max={} late_p99={} exec_max={} "
          "overruns={} missed={}".format(mode, sys.argv[3], r["ticks"], r["period_min_us"], r["period_max_us"],
                                         r["late_max_us"], p99, r["exec_max_us"], r["overruns"], r["missed"]))


main()
