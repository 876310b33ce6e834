# HAL for the ESP32 pen board (boards/pen_esp32.py).  Translates only.
#
# No hard timer on this port (machine.Timer(hard=True) raises ValueError from
# 1.27, TypeError before): the tick runs in the scheduler's loop with the
# background in the slack (ticker = False); docs/performance.md has its
# budget.  Needs MicroPython 1.26 or newer (esp32.PCNT).
#
# Tachometer: the hardware pulse counter (esp32.PCNT, its input filter set
# to 12.8 us so that ringing is not counted) says how many edges came; a
# time for them comes from a pin interrupt.  The esp32 port's Pin.irq is
# always soft (no hard= argument in any version): its handler runs late by
# whatever runs when the edge comes (the tick, an I2C chunk, a collection),
# and handlers held up together run back to back with near-identical
# timestamps.  So a handler does not timestamp "its" edge: it reads the
# counter and hands the edges counted since the last look, with the time
# now, to the decoder (pen.tach.count), which shares the span evenly; a
# bunched handler finds nothing new counted and does nothing.  Each tick
# does the same before it reads the decoder (a handler still queued, or a
# lost one, costs timing accuracy, never a pulse).  A count over one tick
# with the tick's time alone would be far too coarse (one tick is 16-40 %
# of a pulse period at 160-400 edges/s).  ADC1 only (ADC2 stops while Wi-Fi
# runs), 11 dB attenuation, read_u16.
#
# Display: SSD1306 128x32 over I2C at 400 kHz, micropython-lib's driver
# (hal/ssd1306.py, vendored unchanged) with a frame pushed one 32-byte chunk
# per UI beat (Display below).  A whole frame in one write would block the
# background loop for ~12 ms; a frame restarted on every view change would
# never get past its first chunk (the view changes every beat while running).
#
# Pins (boards/pen_esp32.py, docs/boards.md "Caveats"): an ESP32-WROOM-32
# module; the motor driver's inputs need external pull-downs (GPIO25-27 float
# from reset until boot.py runs); GPIO2, 5, 12 and 15 are strapping pins.
import esp32
import machine
from machine import ADC, I2C, Pin

from hal import ssd1306
from hal.chip import MachineHAL
from pen import clock as pen_clock
from pen import tach
from pen import tick as T

_CHUNK = 32                  # data bytes per I2C write: 34 bytes on the bus, ~0.8 ms at 400 kHz
FRAME_BEATS = 25             # a new frame at most every 25 show() calls: 250 ms at the 10 ms UI beat


def mark_reset(kind):
    """Mark the next reset as `kind` ('planned', 'maintenance'): for a host
    (needlepen deploy) about to call machine.reset() at the REPL."""
    from hal.chip import MARKS
    machine.RTC().memory(bytes((0x4E, 0x50, MARKS.index(kind) + 1)))


class ESP32HAL(MachineHAL):
    name = "esp32"
    TIMER_ID = 0                     # ESP32 has hardware timers 0..3, no virtual ones

    def __init__(self, board):
        MachineHAL.__init__(self, board)
        pins = board["pins"]
        self.adc_cur = self._adc(pins["adc_current"])
        self.adc_da = self._adc(pins["adc_depth_a"])
        self.adc_db = self._adc(pins["adc_depth_b"])
        self.adc_bat = self._adc(pins["adc_battery"])
        self.adc_tmp = self._adc(pins["adc_temperature"])
        self.led_fault = Pin(pins["led_fault"], Pin.OUT, value=0)
        # tach: the decoder's state; the counter (filter: 1023 APB cycles =
        # 12.8 us) and the interrupt that takes times for its counts
        self.tach = tach.for_board(board)
        tach_pin = Pin(pins["tach"], Pin.IN)
        self.pcnt = esp32.PCNT(0, pin=tach_pin, rising=esp32.PCNT.INCREMENT, filter=1023)
        self.pcnt.start()
        self.pcnt_last = 0
        self.tach_busy = 0                   # 1 while read() takes the count itself
        tach_pin.irq(handler=self._edge, trigger=Pin.IRQ_RISING)
        self.slow = 0
        # display (its init sends a blank frame at once: ~12 ms, before the loop runs)
        ui = board["ui"]
        i2c = I2C(0, sda=Pin(pins["i2c_sda"]), scl=Pin(pins["i2c_scl"]), freq=400000)
        self.display = Display(ui["width"], ui["height"], i2c, ui["i2c_addr"])
        self._led = 0

    @staticmethod
    def _adc(pin):
        a = ADC(Pin(pin))
        a.atten(ADC.ATTN_11DB)
        return a

    # ---- boot marks: RTC memory survives machine.reset() and watchdog resets ----
    def _mark(self, code):
        machine.RTC().memory(bytes((0x4E, 0x50, code)))

    def _take_mark(self):
        rtc = machine.RTC()
        b = rtc.memory()
        rtc.memory(b"")
        return b[2] if len(b) == 3 and b[0] == 0x4E and b[1] == 0x50 else 0

    def _edge(self, pin):
        # Scheduled (soft) IRQ: small ints only.  It runs between two
        # bytecodes of the main loop, so also inside read(): then it leaves
        # the count to read() (a count taken twice would place edges twice).
        if not self.tach_busy:
            self._take_count()

    def _take_count(self):
        # The edges counted since the last look, timed now: read the counter
        # first, so that every edge it counted came before the time taken.
        c = self.pcnt.value()
        t = pen_clock.ticks_us()
        n = (c - self.pcnt_last) & 0xFFFF    # 16-bit hardware counter
        if n:
            self.pcnt_last = c
            # (the stubs type ticks_us() as _TicksUs; it is a small int)
            tach.count(self.tach, n, t)  # type: ignore[arg-type]

    # ---- every tick ------------------------------------------------------------
    def read(self, m):
        now = pen_clock.ticks_us()
        self.tach_busy = 1                   # edges no handler has placed yet
        self._take_count()
        self.tach_busy = 0
        tach.out(self.tach, m, now)  # type: ignore[arg-type]
        m[T.I_CURRENT_RAW] = self.adc_cur.read_u16()
        m[T.I_DEPTH_A_RAW] = self.adc_da.read_u16()
        m[T.I_DEPTH_B_RAW] = self.adc_db.read_u16()
        self.slow += 1
        if self.slow >= 10:                  # slow signals at 100 Hz
            self.slow = 0
            m[T.I_VBAT_RAW] = self.adc_bat.read_u16()
            m[T.I_TEMP_RAW] = self.adc_tmp.read_u16()
        self.read_cartridge(m)

    def show(self, view):
        # Called every UI beat (10 ms): the fault LED at once, the display a
        # chunk at a time.
        led = 1 if view.fault else 0
        if led != self._led:
            self.led_fault.value(led)
            self._led = led
        self.display.step(view)


class Display(ssd1306.SSD1306_I2C):
    """micropython-lib's SSD1306_I2C, its frame sent a chunk per step().

    A frame is drawn into the driver's framebuffer only when the previous one
    has been sent completely, and at most every FRAME_BEATS steps; each step
    then sends one _CHUNK-byte piece of it.  So the glass always gets whole
    frames (the buffer does not change while it is sent), a few per second
    while the view keeps changing, and no step writes more than one chunk or
    the 7-byte address window to the bus."""

    def __init__(self, width, height, i2c, addr):
        super().__init__(width, height, i2c, addr)
        mv = memoryview(self.buffer)
        # preallocated: step() allocates nothing to send a chunk
        self.chunks = [mv[i:i + _CHUNK] for i in range(0, len(self.buffer), _CHUNK)]
        x0 = (128 - width) // 2 if width != 128 else 0      # narrow panels are centred (as upstream show())
        # the whole-frame window as one command stream (control byte 0x00), so
        # that a frame starts at column 0 of page 0 whatever went before
        self.window = bytes((0x00, ssd1306.SET_COL_ADDR, x0, x0 + width - 1,
                             ssd1306.SET_PAGE_ADDR, 0, self.pages - 1))
        self.next = -1           # the next chunk to send; -1: no frame in flight
        self.wait = 0            # steps until a new frame may start
        self.drawn = None        # the view (as_dict()) the last frame shows

    def step(self, view):
        if self.wait > 0:
            self.wait -= 1
        n = self.next
        if n >= 0:
            self.write_data(self.chunks[n])
            n += 1
            self.next = n if n < len(self.chunks) else -1
            return
        if self.wait > 0:
            return
        d = view.as_dict()
        if d == self.drawn:
            return
        self.drawn = d
        self.draw(view)
        self.i2c.writeto(self.addr, self.window)
        self.next = 0
        self.wait = FRAME_BEATS

    def draw(self, view):
        self.fill(0)
        if view.mode != "off":
            self.text("L{} {}/s {}.{:02d}mm".format(view.level, view.rate_sps, view.depth_um // 1000,
                                                    view.depth_um % 1000 // 10), 0, 0)
            self.text("{} {}% {}m".format(view.zone[:8], view.battery_pct, view.session_s // 60), 0, 11)
            line = view.message or (("FAULT " + view.fault) if view.fault else view.warning) or view.mode
            self.text(line[:16], 0, 22)
