# Virtual time for the scheduler.  Keeps an unbounded microsecond count for
# the plant and hands the scheduler a ticks counter that wraps like the
# pen's (2**30), so every run exercises the wraparound.  Waiting jumps time
# forward; step_cost() lets the simulator charge the tick's execution time,
# optionally with jitter and injected overruns.

TICKS_PERIOD = 1 << 30
_HALF = TICKS_PERIOD >> 1
_MASK = TICKS_PERIOD - 1


def ticks_diff(a: int, b: int) -> int:
    return ((a - b + _HALF) & _MASK) - _HALF


def ticks_add(t: int, delta: int) -> int:
    return (t + delta) & _MASK


class VirtualClock:
    def __init__(self, start_us: int = 0, tick_origin: int = 0) -> None:
        self.now_us = start_us              # unbounded, for the plant
        self.origin = tick_origin           # where the wrapped counter starts
        self.wake_jitter_us = 0             # extra lateness per wait, set by faults
        self.exec_us = 0                    # simulated duration of each step
        # plain functions as attributes: the scheduler calls them every tick
        self.ticks_diff = ticks_diff
        self.ticks_add = ticks_add

    def ticks_us(self) -> int:
        return (self.now_us + self.origin) & _MASK

    def wait_until(self, deadline: int, max_us: int) -> None:
        d = ((deadline - self.now_us - self.origin + _HALF) & _MASK) - _HALF
        if 0 < d <= max_us:
            self.now_us += d
        self.now_us += self.wake_jitter_us

    def jump(self, us: int) -> None:
        """The tick counter jumps (a glitch) without time passing for the plant."""
        self.origin += us

    def advance(self, us: int) -> None:
        self.now_us += us
