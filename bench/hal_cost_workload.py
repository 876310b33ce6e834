# bench/hal_cost.py's workload (unix port, fake machine modules): one full
# control step, HAL read + tick + HAL write, for each pen board's HAL.
import sys
import time

from pen import tick as T
from pen.core import Core


def main():
    port = sys.argv[1]
    n = int(sys.argv[2])
    if port == "rp2":
        from hal.rp2 import RP2HAL as H

        from boards.pen_rp2040 import BOARD
    else:
        from hal.esp32 import ESP32HAL as H

        from boards.pen_esp32 import BOARD
    hal = H(BOARD)
    core = Core(BOARD, level=4)
    m = core.m
    read, write, tick = hal.read, hal.write, T.tick
    best = 1e9
    for _ in range(20):
        t0 = time.ticks_us()
        i = 0
        while i < n:
            read(m)
            tick(m)
            write(m)
            i += 1
        best = min(best, time.ticks_diff(time.ticks_us(), t0) / n)
    t0 = time.ticks_us()
    i = 0
    while i < n:
        tick(m)
        i += 1
    only = time.ticks_diff(time.ticks_us(), t0) / n
    print("RESULT port={} step_us={:.3f} tick_us={:.3f}".format(port, best, only))


main()
