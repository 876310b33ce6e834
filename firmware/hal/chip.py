# What the RP2040 and ESP32 HALs share: motor and actuator outputs, buttons,
# the cartridge switch and ID pins, the watchdog, planned resets, the tick's
# hardware timer, a tachometer timed by pin interrupts.  Built on
# machine.PWM/Pin/WDT/Timer; the chip files add their own tachometer paths,
# the ADCs, the display and the chip-specific reset marks.
import machine
from machine import PWM, WDT, Pin

from pen import clock as pen_clock
from pen import tach
from pen import tick as T
from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP, HAL

_BUTTONS = (("btn_power", B_POWER), ("btn_speed_up", B_SPEED_UP), ("btn_speed_down", B_SPEED_DOWN),
            ("btn_depth_up", B_DEPTH_UP), ("btn_depth_down", B_DEPTH_DOWN))
MARKS = ("planned", "maintenance")    # reset kinds a boot mark can carry (index + 1 is stored)


class IrqTach:
    """Tachometer timed by a hard pin interrupt: each rising edge's ticks_us
    into a preallocated ring (the handler allocates nothing); read() hands
    the edges since the last read, in order, to the decoder (pen.tach),
    which merges glitches (ringing, two edges in one tick) and gives the
    tick its period, age and count.  Timestamps are taken when the handler
    runs: late by whatever holds the interrupt off (on the rp2 pen, a tick
    in progress, up to ~0.6 ms); the decoder's median of five absorbs a late
    edge and the short span after it.  More than RING edges between two
    reads (a chattering input): the oldest are lost and the first one kept
    spans them."""

    RING = 16                                # a power of two (_edge masks with RING - 1)

    def __init__(self, pin, board):
        from array import array
        self.stamps = array("i", [0] * self.RING)
        self.head = 0                        # edges written (wraps at 2**16: h + 1 stays a small int)
        self.tail = 0                        # edges handed to the decoder
        self.tach = tach.for_board(board)
        pin.irq(handler=self._edge, trigger=Pin.IRQ_RISING, hard=True)

    def _edge(self, pin):
        h = self.head
        # (the stubs type ticks_us() as _TicksUs; it is a small int)
        self.stamps[h & (self.RING - 1)] = pen_clock.ticks_us()  # type: ignore[call-overload]
        self.head = (h + 1) & 0xFFFF         # after the stamp: a reader never sees it half-written

    def read(self, m, now):
        h = self.head                        # the IRQ may move it: read once
        t = self.tail
        if (h - t) & 0xFFFF > self.RING:
            t = (h - self.RING) & 0xFFFF
        st = self.tach
        stamps = self.stamps
        while t != h:
            tach.stamp(st, stamps[t & (self.RING - 1)])
            t = (t + 1) & 0xFFFF
        self.tail = t
        tach.out(st, m, now)


class MachineHAL(HAL):
    WDT_STOPPABLE = False             # the port can stop its watchdog (maintenance)

    def __init__(self, board):
        pins = board["pins"]
        self.clock = pen_clock
        # outputs first, all off
        self.enable = Pin(pins["motor_enable"], Pin.OUT, value=0)
        self.brake = Pin(pins["motor_brake"], Pin.OUT, value=1)
        f = board["pwm_hz"]
        self.pwm = PWM(Pin(pins["motor_pwm"]), freq=f, duty_u16=0)
        self.act_a = PWM(Pin(pins["act_a"]), freq=f, duty_u16=0)
        self.act_b = PWM(Pin(pins["act_b"]), freq=f, duty_u16=0)
        self.cart = Pin(pins["cart_present"], Pin.IN, Pin.PULL_UP)
        self.cart_id = [Pin(pins["cart_id" + str(i)], Pin.IN, Pin.PULL_UP) for i in range(3)]
        self.btn = [Pin(pins[name], Pin.IN, Pin.PULL_UP) for name, _ in _BUTTONS]
        self.btn_bits = [bit for _, bit in _BUTTONS]
        self.ppr = board["motor"]["tach_pulses_per_rev"]
        self._out = [-1, -1, -1, 0]   # enable, brake, duty, actuator as last written
        self._cart_left = 0
        self.wdt = None
        self.timer = None             # feeds the watchdog in maintenance, where it cannot stop
        self.ticker_timer = None
        self._cause = None

    def read_cartridge(self, m):
        # Switch to ground when seated; type = 3-bit code on the ID pins.
        # Every 10th tick: a mechanical contact, judged within 10 ms.
        n = self._cart_left - 1
        if n > 0:
            self._cart_left = n
            return
        self._cart_left = 10
        present = self.cart.value() == 0
        m[T.I_CART_PRESENT] = 1 if present else 0
        ct = 0
        if present:
            for i in range(3):
                if self.cart_id[i].value() == 0:
                    ct |= 1 << i
        m[T.I_CART_TYPE] = ct

    def write(self, m):
        # Only what changed: each machine call costs ~10 us on an RP2040.
        # Off first, on last: the driver is disabled before the duty rises.
        out = self._out
        e = m[T.O_ENABLE]
        if e == 0 and out[0] != 0:
            self.enable.value(0)
            out[0] = 0
        b = m[T.O_BRAKE]
        if b != out[1]:
            self.brake.value(b)
            out[1] = b
        d = m[T.O_DUTY]
        if d != out[2]:
            self.pwm.duty_u16(d)
            out[2] = d
        if e != out[0]:
            self.enable.value(e)
            out[0] = e
        a = m[T.O_ACT_DUTY]
        if a != out[3]:
            if a >= 0:
                self.act_b.duty_u16(0)
                self.act_a.duty_u16(a)
            else:
                self.act_a.duty_u16(0)
                self.act_b.duty_u16(-a)
            out[3] = a

    def off(self):
        self.enable.value(0)
        self.pwm.duty_u16(0)
        self.brake.value(1)
        self.act_a.duty_u16(0)
        self.act_b.duty_u16(0)
        out = self._out               # (plain stores: off() may run in the tick's interrupt)
        out[0] = 0
        out[1] = 1
        out[2] = 0
        out[3] = 0

    def buttons(self):
        bits = 0
        for i in range(5):
            if self.btn[i].value() == 0:
                bits |= self.btn_bits[i]
        return bits

    # ---- the tick's timer (started by the ports that have a hard one) --------
    def stop_ticker(self):
        t = self.ticker_timer
        if t is not None:
            t.deinit()
            self.ticker_timer = None

    # ---- console, watchdog, maintenance, resets -------------------------------
    def lock_console(self):
        import micropython
        micropython.kbd_intr(-1)         # 0x03 is data for the protocol (which drops it)

    def halt(self):
        import machine
        self.stop_ticker()
        self.off()
        while True:                      # unfed: the watchdog resets the pen
            machine.idle()

    def start_watchdog(self, timeout_ms):
        self.wdt = WDT(timeout=timeout_ms)

    def feed(self):
        if self.wdt is not None:
            self.wdt.feed()

    def maintenance(self):
        # Motor off.  A watchdog armed by the running firmware (Ctrl-C) is
        # stopped where the chip allows it; elsewhere fed from a timer until
        # the next reset (a soft reset ends that timer: deploy therefore
        # uses the maintenance boot, which never arms the watchdog).
        self.stop_ticker()
        self.off()
        if self.wdt is None:
            return
        if self.WDT_STOPPABLE:
            self._watchdog_stop()
            self.wdt = None
        elif self.timer is None:
            wdt = self.wdt
            self.timer = machine.Timer(self.TIMER_ID)
            self.timer.init(period=100, mode=machine.Timer.PERIODIC, callback=lambda t: wdt.feed())

    TIMER_ID = -1                     # the timer that feeds the watchdog in maintenance

    def _watchdog_stop(self):
        raise NotImplementedError

    def _mark(self, code):
        """Leave `code` (0: none) where the next boot finds it: chip-specific."""

    def _take_mark(self):
        """The code left by _mark() before this boot (0: none), cleared."""
        return 0

    def reset(self, kind):
        self.stop_ticker()
        self.off()
        self._mark(MARKS.index(kind) + 1)
        machine.reset()

    def reset_cause(self):
        # read once per boot (the mark is cleared), then remembered
        if self._cause is None:
            code = self._take_mark()
            if 1 <= code <= len(MARKS):
                self._cause = MARKS[code - 1]
            else:
                self._cause = self._hardware_cause()
        return self._cause

    def _hardware_cause(self):
        c = machine.reset_cause()
        if c == machine.WDT_RESET:
            return "watchdog"
        if c == machine.PWRON_RESET:
            return "power"
        return "other"

    def pen_id(self):
        from binascii import hexlify
        return hexlify(machine.unique_id()).decode()
