# The pen's clock for the scheduler: MicroPython's wrapping microsecond
# ticks, and a busy wait (sleeping would add the wake-up latency as jitter).
from time import ticks_add, ticks_diff, ticks_us  # noqa: F401  (re-exported)


def wait_until(deadline):
    while ticks_diff(deadline, ticks_us()) > 0:
        pass
