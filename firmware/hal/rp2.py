# HAL for the RP2040 pen board (boards/pen_rp2040.py).  Translates only.
#
# The tick runs in a hard timer interrupt (ticker = True): the background
# (UI, protocol, storage, garbage collection) can never delay it.
#
# Tachometer, board key "tach_input"; either way the edges go through the
# portable decoder pen.tach (glitch merge, plausibility, median of five):
#   "pio" (default): a PIO state machine times each period between rising
#       edges in hardware (0.2 us resolution, no interrupt latency, no GC);
#       read() drains its FIFO into pen.tach.period().  Words are fetched
#       with get(None, 2) (counts / 4, below 2**30): a raw count of 2**30
#       or more (a period over 215 s, the first edge after a long rest)
#       would be a big int, i.e. an allocation in the hard interrupt.  The
#       program's "low" loop falls through after 2**32 counts (859 s with
#       the input low) and pushes a 0: the decoder merges it as a glitch,
#       and the rest before it restarts the history anyway.
#   "irq": a hard pin interrupt timestamps each edge (hal.chip.IrqTach): for
#       a board without a free PIO, and for the emulated RP2040, whose PIO
#       does not run in step with simulated time.  Timestamps are late by up
#       to a tick's duration when an edge arrives during one.
# ADC: current and the depth sensors every tick; battery and motor
# temperature share ADC3 through an analog switch (pin adc_mux), one each
# tick, the switch set a tick ahead so the input has settled.  Nothing here
# allocates per tick.
#
# Watchdog and resets, from the RP2040 datasheet and pico-sdk's watchdog.c:
# machine.reset() reboots through the watchdog (scratch4 = 0), so
# reset_cause() reads WDT_RESET after every reset; a real timeout of a
# watchdog armed by machine.WDT leaves scratch4 = WATCHDOG_NON_REBOOT_MAGIC.
# SCRATCH0 (unused by pico-sdk and MicroPython) carries our boot mark; the
# scratch registers survive every reset but a power-on.  The watchdog stops
# when CTRL.ENABLE is cleared (pico-sdk's watchdog_disable does the same).
import machine
from machine import ADC, Pin

from hal.chip import IrqTach, MachineHAL
from pen import clock as pen_clock
from pen import tach
from pen import tick as T

_WATCHDOG = 0x40058000
_CTRL_CLR = _WATCHDOG + 0x3000        # atomic bit-clear alias of CTRL
_ENABLE = 1 << 30
_SCRATCH0 = _WATCHDOG + 0x0C
_SCRATCH4 = _WATCHDOG + 0x1C
_NON_REBOOT_MAGIC = 0x6AB73121
_MARK_MAGIC = 0x3E500000              # boot mark = magic | code (below 2**30: a small int)


def mark_reset(kind):
    """Mark the next reset as `kind` ('planned', 'maintenance'): for a host
    (needlepen deploy) about to call machine.reset() at the REPL."""
    from hal.chip import MARKS
    machine.mem32[_SCRATCH0] = _MARK_MAGIC | (MARKS.index(kind) + 1)


class RP2HAL(MachineHAL):
    name = "rp2"
    ticker = True
    WDT_STOPPABLE = True

    def __init__(self, board):
        MachineHAL.__init__(self, board)
        pins = board["pins"]
        self.adc_cur = ADC(Pin(pins["adc_current"]))
        self.adc_da = ADC(Pin(pins["adc_depth_a"]))
        self.adc_db = ADC(Pin(pins["adc_depth_b"]))
        self.adc_vt = ADC(Pin(pins["adc_vbat_temp"]))
        self.mux = Pin(pins["adc_mux"], Pin.OUT, value=0)     # 0: battery, 1: temperature
        self.phase = 0
        self.leds = [Pin(pins["led_level" + str(i)], Pin.OUT, value=0) for i in range(1, 7)]
        self.led_status = Pin(pins["led_status"], Pin.OUT, value=0)
        self.led_fault = Pin(pins["led_fault"], Pin.OUT, value=0)
        self._shown = -1
        self._blink = 0                      # a warning blinks the fault LED
        tach_pin = Pin(pins["tach"], Pin.IN, Pin.PULL_UP)
        self.irq_tach = None
        self.sm = None
        if board.get("tach_input", "pio") == "irq":
            self.irq_tach = IrqTach(tach_pin, board)
        else:
            import rp2

            from hal.pio_tach import PIO_FREQ, tach_period
            self.tach = tach.for_board(board)        # the decoder's state (pen.tach)
            self.sm = rp2.StateMachine(0, tach_period, freq=PIO_FREQ, in_base=tach_pin, jmp_pin=tach_pin)
            self.sm.active(1)
        self._tick_fn = self.off                     # until start_ticker()

    def read(self, m):
        now = pen_clock.ticks_us()
        if self.irq_tach is not None:
            self.irq_tach.read(m, now)
        else:
            self._read_pio(m, now)
        m[T.I_CURRENT_RAW] = self.adc_cur.read_u16()
        m[T.I_DEPTH_A_RAW] = self.adc_da.read_u16()
        m[T.I_DEPTH_B_RAW] = self.adc_db.read_u16()
        if self.phase:
            m[T.I_TEMP_RAW] = self.adc_vt.read_u16()
            self.mux.value(0)
        else:
            m[T.I_VBAT_RAW] = self.adc_vt.read_u16()
            self.mux.value(1)
        self.phase ^= 1
        self.read_cartridge(m)

    # ---- the tick's hard timer ------------------------------------------------
    def start_ticker(self, period_us, fn):
        self._tick_fn = fn
        t = machine.Timer(-1)
        if period_us % 1000 == 0:
            t.init(mode=machine.Timer.PERIODIC, period=period_us // 1000, callback=self._tick_irq, hard=True)
        else:
            t.init(mode=machine.Timer.PERIODIC, freq=1000000 // period_us, callback=self._tick_irq, hard=True)
        self.ticker_timer = t

    def _tick_irq(self, t):
        # Hard interrupt.  If the tick raises, fail closed: outputs off and
        # the timer stopped (rp2 stops a hard timer whose callback raises
        # anyway); nothing feeds the watchdog any more, so it resets the pen.
        try:
            self._tick_fn()
        except Exception:
            t.deinit()
            self.off()

    def _read_pio(self, m, now):
        # Every word the FIFO holds is one rising edge; its time is taken as
        # now (the age is exact to a tick).  A word is 0.8 us (counts >> 2,
        # 5 counts per us): p = v * 4 // 5, written so that it stays small.
        sm = self.sm
        st = self.tach
        assert sm is not None
        while sm.rx_fifo():
            v = sm.get(None, 2)
            tach.period(st, v - v // 5, now)
        tach.out(st, m, now)

    # ---- watchdog and boot marks (background only: these allocate) -----------
    def _watchdog_stop(self):
        machine.mem32[_CTRL_CLR] = _ENABLE

    def _mark(self, code):
        machine.mem32[_SCRATCH0] = _MARK_MAGIC | code

    def _take_mark(self):
        v = machine.mem32[_SCRATCH0]
        machine.mem32[_SCRATCH0] = 0
        return v & 0xFF if v & ~0xFF == _MARK_MAGIC else 0

    def _hardware_cause(self):
        c = machine.reset_cause()
        if c == machine.WDT_RESET:
            # every software reset goes through the watchdog: only a timeout
            # of the watchdog we armed counts as one
            return "watchdog" if machine.mem32[_SCRATCH4] == _NON_REBOOT_MAGIC else "other"
        if c == machine.PWRON_RESET:
            return "power"
        return "other"

    def show(self, view):
        # Level bar; while a message shows (depth or zone being changed) the
        # bar is the depth as a fraction of the limit.  Status LED: running;
        # fault LED: on for a latched fault, blinking (0.25 s on, 0.25 s off
        # at the UI's 10 ms) for a warning (a stroke-rate shortfall, a low
        # battery, docs/faults.md).
        if view.mode == "off":
            lit = 0
        elif view.message and view.limit_um:
            lit = max(1, view.depth_um * 6 // view.limit_um)
        else:
            lit = view.level
        fault = view.fault is not None
        if not fault and view.warning is not None and view.mode != "off":
            self._blink = (self._blink + 1) % 50
            fault = self._blink < 25
        key = lit * 16 + (view.mode == "running") * 2 + fault
        if key == self._shown:
            return
        self._shown = key
        for i in range(6):
            self.leds[i].value(1 if i < lit else 0)
        self.led_status.value(1 if view.mode == "running" else 0)
        self.led_fault.value(1 if fault else 0)
