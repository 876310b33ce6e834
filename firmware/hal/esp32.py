# HAL for the ESP32 pen board (boards/pen_esp32.py).  Translates only.
#
# No hard timer on this port (machine.Timer(hard=True) raises ValueError from
# 1.27, TypeError before): the tick runs in the scheduler's loop with the
# background in the slack (ticker = False); docs/performance.md has its
# budget.  Needs MicroPython 1.26 or newer (esp32.PCNT).
#
# Tachometer: a pin interrupt timestamps each rising edge (ticks_us, into a
# preallocated ring); the esp32 port's Pin.irq is always soft (no hard=
# argument in any version), so timestamps are late by whatever runs when
# the edge comes.  The hardware pulse counter (esp32.PCNT) counts the same
# edges, so a missed interrupt cannot hide a pulse from I_TACH_COUNT.  The ESP32's PCNT counts but does not time,
# and at 160-400 edges/s a count over one tick would be far too coarse for a
# period, hence the timestamps.  ADC1 only (ADC2 stops while Wi-Fi runs),
# 11 dB attenuation, read_u16.  Display: SSD1306 128x32 over I2C, pushed 32
# bytes per 10 ms beat so that no background slice blocks for a frame.
from array import array

import esp32
import framebuf
import machine
from machine import ADC, I2C, Pin

from hal.chip import AGE_MAX, MachineHAL
from pen import clock as pen_clock
from pen import tick as T

_CHUNK = 32


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
        # tach: edge times for one revolution (ppr + 1 edges), newest at `head`
        self.edges = array("i", [0] * (self.ppr + 1))
        self.head = 0
        self.n_edges = 0
        tach = Pin(pins["tach"], Pin.IN)
        self.pcnt = esp32.PCNT(0, pin=tach, rising=esp32.PCNT.INCREMENT)
        self.pcnt.start()
        self.pcnt_last = 0
        self.count = 0
        tach.irq(handler=self._edge, trigger=Pin.IRQ_RISING)
        self.slow = 0
        # display
        ui = board["ui"]
        self.i2c = I2C(0, sda=Pin(pins["i2c_sda"]), scl=Pin(pins["i2c_scl"]), freq=400000)
        self.addr = ui["i2c_addr"]
        self.w, self.h = ui["width"], ui["height"]
        self.fbuf = bytearray(self.w * self.h // 8)
        self.fb = framebuf.FrameBuffer(self.fbuf, self.w, self.h, framebuf.MONO_VLSB)
        self.push_at = -1                    # next byte of the frame to send (-1: idle)
        self._shown = None
        self._display_init()

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
        # Scheduled (soft) IRQ: small ints and a preallocated array only.
        h = self.head + 1
        if h > self.ppr:
            h = 0
        # (the stubs type ticks_us() as _TicksUs; it is a small int)
        self.edges[h] = pen_clock.ticks_us()  # type: ignore[call-overload]
        self.head = h
        if self.n_edges <= self.ppr:
            self.n_edges += 1

    # ---- every tick ------------------------------------------------------------
    def read(self, m):
        now = pen_clock.ticks_us()
        h = self.head                        # the IRQ may move it: read once
        last = self.edges[h]
        if self.n_edges > self.ppr:
            first = self.edges[h + 1 if h < self.ppr else 0]
            m[T.I_TACH_PERIOD_US] = pen_clock.ticks_diff(last, first)
        else:
            m[T.I_TACH_PERIOD_US] = 0
        age = pen_clock.ticks_diff(now, last) if self.n_edges else AGE_MAX
        m[T.I_TACH_AGE_US] = age if 0 <= age < AGE_MAX else (0 if age < 0 else AGE_MAX)
        c = self.pcnt.value()
        self.count = (self.count + ((c - self.pcnt_last) & 0xFFFF)) & 0x3FFFFFFF   # 16-bit hardware counter
        self.pcnt_last = c
        m[T.I_TACH_COUNT] = self.count
        m[T.I_CURRENT_RAW] = self.adc_cur.read_u16()
        m[T.I_DEPTH_A_RAW] = self.adc_da.read_u16()
        m[T.I_DEPTH_B_RAW] = self.adc_db.read_u16()
        self.slow += 1
        if self.slow >= 10:                  # slow signals at 100 Hz
            self.slow = 0
            m[T.I_VBAT_RAW] = self.adc_bat.read_u16()
            m[T.I_TEMP_RAW] = self.adc_tmp.read_u16()
        self.read_cartridge(m)

    def _display_init(self):
        for c in (0xAE, 0x20, 0x00, 0xA8, self.h - 1, 0xD3, 0x00, 0x40, 0xA1, 0xC8, 0xDA,
                  0x02 if self.h == 32 else 0x12, 0x81, 0x8F, 0x8D, 0x14, 0xAF):
            self.i2c.writeto(self.addr, bytes((0x80, c)))

    def show(self, view):
        # Draw when the view changed, then push the frame a chunk per call.
        d = view.as_dict()
        if d != self._shown:
            self._shown = d
            fb = self.fb
            fb.fill(0)
            if view.mode != "off":
                fb.text("L{} {}/s {}.{:02d}mm".format(view.level, view.rate_sps, view.depth_um // 1000,
                                                      view.depth_um % 1000 // 10), 0, 0)
                fb.text("{} {}% {}m".format(view.zone[:8], view.battery_pct, view.session_s // 60), 0, 11)
                line = view.message or (("FAULT " + view.fault) if view.fault else view.warning) or view.mode
                fb.text(line[:16], 0, 22)
            self.led_fault.value(1 if view.fault else 0)
            self.push_at = 0
            for c in (0x21, 0, self.w - 1, 0x22, 0, self.h // 8 - 1):   # whole frame window
                self.i2c.writeto(self.addr, bytes((0x80, c)))
        if self.push_at >= 0:
            i = self.push_at
            self.i2c.writevto(self.addr, (b"\x40", memoryview(self.fbuf)[i:i + _CHUNK]))
            i += _CHUNK
            self.push_at = i if i < len(self.fbuf) else -1
