# The pen's clock for the scheduler: MicroPython's wrapping microsecond
# ticks, and a busy wait (sleeping would add the wake-up latency as jitter).
from time import ticks_add, ticks_diff, ticks_us  # noqa: F401  (re-exported)


def wait_until(deadline, max_us):
    # A deadline further away than max_us means the clock jumped backwards:
    # return at once and let the scheduler raise the fault.
    if ticks_diff(deadline, ticks_us()) > max_us:
        return
    while ticks_diff(deadline, ticks_us()) > 0:
        pass
