# On-device UI logic: buttons in, a View out.  Portable (the simulator
# presses the same buttons); the HAL renders the View on LEDs or a display.
# Runs in the background loop every SAMPLE_MS, never in the tick.
#
#   power     short: wake / start / stop     long (1.5 s): clear faults if any
#                                                          latched, else sleep
#   speed +/- one level per press, repeats every 300 ms after 600 ms held
#   depth +/- 0.05 mm per press, repeats every 150 ms after 500 ms held;
#             stops at the active limit (the view flags "at limit")
#   depth + and - held together 1 s: next treatment zone (motor stopped)
#   speed + and - held together 2 s: the seated cartridge is a new one (after
#             a used-up one of its type, the pen counts it as used up until then)
#   any button while asleep only wakes the pen
#   a button held 10 s is taken for stuck: ignored until released (a stuck
#   depth or speed button cannot keep stepping)
#   no button and motor stopped for auto_off_s: sleep (motor off, dark)
from pen import faults, zones
from pen import tick as T
from pen.core import Refused
from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP

SAMPLE_MS = 10
DEBOUNCE_SAMPLES = 2          # a change must hold for 20 ms
LONG_MS = 1500
ZONE_HOLD_MS = 1000
CART_HOLD_MS = 2000
MESSAGE_MS = 2000
STUCK_MS = 10000
_NAMES = ("power", "speed_up", "speed_down", "depth_up", "depth_down")

_REPEAT = ((B_SPEED_UP, 600, 300), (B_SPEED_DOWN, 600, 300),
           (B_DEPTH_UP, 500, 150), (B_DEPTH_DOWN, 500, 150))


class View:
    """What the pen shows; updated in place."""

    def __init__(self):
        self.mode = "idle"        # off | idle | running | fault
        self.level = 1
        self.levels = 1
        self.depth_um = 0
        self.limit_um = 0
        self.at_limit = False
        self.zone = ""
        self.battery_pct = 100
        self.fault = None         # first latched fault name
        self.warning = None
        self.message = None       # short-lived: refusal reason, zone name...
        self.session_s = 0        # pen time (motor running) this session
        self.rate_sps = 0

    def as_dict(self):
        return {k: getattr(self, k) for k in ("mode", "level", "levels", "depth_um", "limit_um", "at_limit",
                                              "zone", "battery_pct", "fault", "warning", "message",
                                              "session_s", "rate_sps")}


class UI:
    def __init__(self, core, auto_off_s=300, battery_full_mv=8400, on_event=None):
        self.core = core
        self.m = core.m
        self.view = View()
        self.auto_off_ms = auto_off_s * 1000
        self.full_mv = battery_full_mv
        self.on_event = on_event or (lambda kind, detail: None)
        self.awake = True
        self.stable = 0           # debounced buttons
        self._raw = 0
        self._count = 0
        self.held_ms = [0] * 5    # per button bit
        self._next_repeat = [0] * 5
        self._long_done = False
        self._zone_done = False
        self._cart_done = False
        self._ignore = 0          # buttons whose current press is swallowed
        self.idle_ms = 0
        self.run_ms = 0
        self.msg_ms = 0
        self.now_ms = 0

    # ---- input ---------------------------------------------------------------
    def update(self, raw):
        """Sample the buttons (every SAMPLE_MS) and act; then refresh the view."""
        self.now_ms += SAMPLE_MS
        if raw != self._raw:
            self._raw = raw
            self._count = 0
        elif self._count < DEBOUNCE_SAMPLES:
            self._count += 1
            if self._count == DEBOUNCE_SAMPLES and raw != self.stable:
                self._changed(self.stable, raw)
                self.stable = raw
        self._held(self.stable)
        self._timers()
        self._refresh()

    def _changed(self, old, new):
        pressed = new & ~old
        released = old & ~new
        self.idle_ms = 0
        ignored = self._ignore
        self._ignore &= new              # a released button is live again
        if not self.awake:
            if pressed:
                self.awake = True
                self._ignore = new       # the waking press does nothing else
                self._event("wake", "")
            return
        for i in range(5):
            bit = 1 << i
            if ignored & bit:
                continue
            if pressed & bit:
                self.held_ms[i] = 0
                self._press(bit)
            if released & bit and bit == B_POWER:
                if not self._long_done:
                    self._power_short()
                self._long_done = False
        if not new & (B_DEPTH_UP | B_DEPTH_DOWN):
            self._zone_done = False
        if not new & (B_SPEED_UP | B_SPEED_DOWN):
            self._cart_done = False

    def _press(self, bit):
        core = self.core
        if bit == B_SPEED_UP:
            core.step_level(1)
        elif bit == B_SPEED_DOWN:
            core.step_level(-1)
        elif bit == B_DEPTH_UP:
            self._depth(1)
        elif bit == B_DEPTH_DOWN:
            self._depth(-1)
        for i, (b, first, _) in enumerate(_REPEAT):
            if b == bit:
                self._next_repeat[i] = first

    def _depth(self, steps):
        before = self.m[T.C_DEPTH_UM]
        after = self.core.step_depth(steps)
        self.view.at_limit = after == before

    def _held(self, held):
        held &= ~self._ignore
        for i in range(5):
            if held & (1 << i):
                self.held_ms[i] += SAMPLE_MS
                if self.held_ms[i] >= STUCK_MS:
                    self._ignore |= 1 << i
                    held &= ~(1 << i)
                    self._say("button stuck: " + _NAMES[i])
                    self._event("button_stuck", _NAMES[i])
        if not self.awake:
            return
        speeds = B_SPEED_UP | B_SPEED_DOWN
        if held & speeds == speeds:
            if not self._cart_done and min(self.held_ms[1], self.held_ms[2]) >= CART_HOLD_MS:
                self._cart_done = True
                self._new_cartridge()
            return
        both = B_DEPTH_UP | B_DEPTH_DOWN
        if held & both == both:
            if not self._zone_done and min(self.held_ms[3], self.held_ms[4]) >= ZONE_HOLD_MS:
                self._zone_done = True
                self._next_zone()
            return
        for i, (bit, _, every) in enumerate(_REPEAT):
            if held & bit:
                idx = _bit_index(bit)
                if self.held_ms[idx] >= self._next_repeat[i]:
                    self._next_repeat[i] += every
                    self._press_repeat(bit)
        if held & B_POWER and not self._long_done and self.held_ms[0] >= LONG_MS:
            self._long_done = True
            self._power_long()

    def _press_repeat(self, bit):
        if bit in (B_SPEED_UP, B_SPEED_DOWN):
            self.core.step_level(1 if bit == B_SPEED_UP else -1)
        else:
            self._depth(1 if bit == B_DEPTH_UP else -1)

    def _power_short(self):
        core = self.core
        if core.running():
            core.stop()
            self._event("stop", "button")
            return
        try:
            core.start()
            self._event("start", "button")
        except Refused as e:
            self._say(e.text)
            self._event("refused", e.text)

    def _power_long(self):
        core = self.core
        if self.m[T.S_FAULTS]:
            core.stop()
            left = core.clear()
            self._say("cleared" if not left else "still: " + ", ".join(left))
            self._event("clear", ",".join(left))
        else:
            self.sleep("button")

    def _new_cartridge(self):
        try:
            name = self.core.confirm_new_cartridge()
        except Refused as e:
            self._say(e.text)
            return
        self._say("new cartridge " + name)
        self._event("cartridge", "new {} confirmed (buttons)".format(name))

    def _next_zone(self):
        if self.core.running():
            self._say("stop the pen to change zone")
            return
        names = zones.zone_names()
        i = names.index(self.core.zone) if self.core.zone in names else -1
        z = names[(i + 1) % len(names)]
        self.core.set_zone(z)
        self._say("zone " + z)
        self._event("zone", z)

    def sleep(self, why):
        self.core.stop()
        self.awake = False
        self._event("sleep", why)

    # ---- time ----------------------------------------------------------------
    def _timers(self):
        if self.core.running():
            self.run_ms += SAMPLE_MS
            self.idle_ms = 0
        elif self.awake:
            self.idle_ms += SAMPLE_MS
            if self.idle_ms >= self.auto_off_ms:
                self.sleep("inactivity")
        if self.msg_ms > 0:
            self.msg_ms -= SAMPLE_MS
            if self.msg_ms <= 0:
                self.view.message = None

    def _say(self, text):
        self.view.message = text
        self.msg_ms = MESSAGE_MS

    def _event(self, kind, detail):
        self.on_event(kind, detail)

    # ---- output --------------------------------------------------------------
    def _refresh(self):
        m = self.m
        v = self.view
        if not self.awake:
            v.mode = "off"
        elif m[T.S_FAULTS]:
            v.mode = "fault"
        elif m[T.S_STATE] == T.ST_RUNNING:
            v.mode = "running"
        else:
            v.mode = "idle"
        v.level = m[T.C_LEVEL] + 1
        v.levels = m[T.P_LEVELS]
        v.depth_um = m[T.S_DEPTH_TARGET]
        v.limit_um = m[T.S_LIMIT_HI]
        v.zone = self.core.zone
        crit = m[T.P_BATT_CRIT_MV]
        pct = (m[T.S_VBAT_MV] - crit) * 100 // max(1, self.full_mv - crit)
        v.battery_pct = 0 if pct < 0 else 100 if pct > 100 else pct
        f = faults.names(m[T.S_FAULTS])
        v.fault = f[0] if f else None
        w = faults.names(m[T.S_WARN], faults.WARNINGS)
        v.warning = w[0] if w else None
        v.session_s = self.run_ms // 1000
        v.rate_sps = m[T.S_RATE_CHZ] // 100


def _bit_index(bit):
    i = 0
    while bit > 1:
        bit >>= 1
        i += 1
    return i
