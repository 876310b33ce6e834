# The simulated HAL: the same interface as the pen's adapters (pen.hal.HAL),
# backed by sim.plant.  ADC readings are produced as raw counts through the
# board's own scaling, so the core's conversions are exercised too.  The
# plant's tach edges (jitter, ringing, lost and spurious pulses) go through
# the firmware's own decoder (pen.tach) the way the board's HAL feeds it:
# "pio" (the default, as hal/rp2.py) or "irq" (hal.chip.IrqTach).
from pen import tach as pen_tach
from pen.hal import HAL
from pen.tick import (
    I_CART_PRESENT,
    I_CART_TYPE,
    I_CURRENT_RAW,
    I_DEPTH_A_RAW,
    I_DEPTH_B_RAW,
    I_TEMP_RAW,
    I_VBAT_RAW,
    O_ACT_DUTY,
    O_BRAKE,
    O_DUTY,
    O_ENABLE,
    S_FAULTS,
    S_TICKS,
)


def _scale(a: dict) -> tuple:
    """(counts per unit, offset) of one ADC channel of the board."""
    return 65536 / a["full_scale"], a["offset"]


_MASK = 0x3FFFFFFF               # the pen's ticks_us wrap
_FIFO = 4                        # the rp2 PIO's RX FIFO: words beyond it are dropped (push noblock)


def _counts(value: float, scale: tuple) -> int:
    c = int(value * scale[0]) + scale[1]
    return 0 if c < 0 else 65535 if c > 65535 else c


class SimHAL(HAL):
    name = "sim"

    def __init__(self, plant, board: dict, clock) -> None:
        self.plant = plant
        self.clock = clock
        adc = board["adc"]
        self._cur = _scale(adc["current"])
        self._bat = _scale(adc["battery"])
        self._tmp = _scale(adc["temperature"])
        self._da = _scale(adc["depth_a"])
        self._db = _scale(adc.get("depth_b", adc["depth_a"]))
        self._slow = 0                   # battery and temperature: every 10th read
        self.tach = pen_tach.for_board(board, fast=True)    # a list on CPython: 2x faster there
        self._pio = board.get("tach_input", "pio") == "pio"
        self._prev_edge = 0              # pio: the edge the PIO's next period starts at
        self.held = 0                    # buttons held (the scenario presses)
        self.view = None                 # last view shown
        self.watchdog_ms = 0
        self.fed_at_us = 0
        self.cause = "power"
        self.boot_mark: str | None = None  # reset(kind) leaves it for the next boot
        self.resets: list = []           # planned resets asked for, in order
        # per-tick safety record: each newly latched fault as
        # (time us, new bits, duty written in that tick, tick number)
        self.fault_log: list = []
        self._latched = 0
        self.violations = 0              # ticks with a fault latched and duty > 0

    def read(self, m) -> None:
        # Runs every tick of every simulation: locals and inlined conversions.
        p = self.plant
        now = self.clock.now_us
        p.advance(now)
        edges = p.edges
        st = self.tach
        if edges and edges[0] <= now:
            n = len(edges)
            i = 0
            if self._pio:
                # The PIO times each edge in 0.2 us counts; the HAL reads them
                # >> 2 and converts as hal/rp2.py does; every word drained is
                # an edge seen now.  Words beyond the FIFO's four are lost
                # with their time (the next period starts at the lost edge).
                prev = self._prev_edge
                while i < n and edges[i] <= now:
                    e = edges[i]
                    if i < _FIFO:
                        v = ((e - prev) * 5) >> 2
                        pen_tach.period(st, v - v // 5, now & _MASK)
                    prev = e
                    i += 1
                self._prev_edge = prev
            else:
                while i < n and edges[i] <= now:
                    pen_tach.stamp(st, edges[i] & _MASK)
                    i += 1
            del edges[:i]
        pen_tach.out(st, m, now & _MASK)
        cur, da, db = p.sense()
        k, o = self._cur
        c = int(cur * k) + o
        m[I_CURRENT_RAW] = 0 if c < 0 else 65535 if c > 65535 else c
        # Slow signals are sampled at 100 Hz (the RP2040 board multiplexes
        # them on one ADC input); the core filters them anyway.
        self._slow -= 1
        if self._slow <= 0:
            self._slow = 10
            m[I_VBAT_RAW] = _counts(p.vbat_sense_mv(), self._bat)
            m[I_TEMP_RAW] = _counts(p.temp * 10, self._tmp)
        k, o = self._da
        c = int(da * k) + o
        m[I_DEPTH_A_RAW] = 0 if c < 0 else 65535 if c > 65535 else c
        k, o = self._db
        c = int(db * k) + o
        m[I_DEPTH_B_RAW] = 0 if c < 0 else 65535 if c > 65535 else c
        m[I_CART_PRESENT] = 1 if p.cart_present else 0
        m[I_CART_TYPE] = p.cart_type if p.cart_present else 0

    def write(self, m) -> None:
        f = m[S_FAULTS]
        duty = m[O_DUTY]
        if f != self._latched:
            new = f & ~self._latched
            if new:
                self.fault_log.append((self.clock.now_us, new, duty, m[S_TICKS]))
            self._latched = f
        if f and duty:
            self.violations += 1
        p = self.plant
        p.duty = duty / 65535
        p.brake = m[O_BRAKE] != 0
        p.enable = m[O_ENABLE] != 0
        p.act_duty = m[O_ACT_DUTY] / 65535
        # the step itself takes simulated time (0 unless a test injects it)
        if self.clock.exec_us:
            self.clock.now_us += self.clock.exec_us

    def off(self) -> None:
        self.plant.drive(0.0, True, False, 0.0)

    def buttons(self) -> int:
        return self.held

    def show(self, view) -> None:
        self.view = view

    def start_watchdog(self, timeout_ms: int) -> None:
        self.watchdog_ms = timeout_ms
        self.fed_at_us = self.clock.now_us

    def feed(self) -> None:
        self.fed_at_us = self.clock.now_us

    def watchdog_expired(self) -> bool:
        return self.watchdog_ms > 0 and self.clock.now_us - self.fed_at_us > self.watchdog_ms * 1000

    def reset_cause(self) -> str:
        if self.boot_mark:                 # read once, then remembered for this boot
            self.cause, self.boot_mark = self.boot_mark, None
        return self.cause

    def reset(self, kind: str) -> None:
        # The simulator's owner (sim.rig.SimPen.reboot) carries the reset out.
        self.boot_mark = kind
        self.resets.append(kind)
