# The simulated HAL: the same interface as the pen's adapters (pen.hal.HAL),
# backed by sim.plant.  ADC readings are produced as raw counts through the
# board's own scaling, so the core's conversions are exercised too.
from pen import tick as T
from pen.hal import HAL


def _counts(value: float, scale: dict) -> int:
    c = int(value * 65536 / scale["full_scale"]) + scale["offset"]
    return 0 if c < 0 else 65535 if c > 65535 else c


class SimHAL(HAL):
    name = "sim"

    def __init__(self, plant, board: dict, clock) -> None:
        self.plant = plant
        self.clock = clock
        adc = board["adc"]
        self._cur = adc["current"]
        self._bat = adc["battery"]
        self._tmp = adc["temperature"]
        self._da = adc["depth_a"]
        self._db = adc.get("depth_b", adc["depth_a"])
        self.held = 0                    # buttons held (the scenario presses)
        self.view = None                 # last view shown
        self.watchdog_ms = 0
        self.fed_at_us = 0
        self.cause = "power"
        self.outputs_off = False

    def read(self, m) -> None:
        p = self.plant
        now = self.clock.now_us
        p.advance(now)
        count, period, age = p.tach(now)
        m[T.I_TACH_COUNT] = count & 0x3FFFFFFF
        m[T.I_TACH_PERIOD_US] = period
        m[T.I_TACH_AGE_US] = 0 if age < 0 else age if age < 10000000 else 10000000
        m[T.I_CURRENT_RAW] = _counts(p.current_ma(), self._cur)
        m[T.I_VBAT_RAW] = _counts(p.v_bat * 1000, self._bat)
        m[T.I_TEMP_RAW] = _counts(p.temp * 10, self._tmp)
        m[T.I_DEPTH_A_RAW] = _counts(p.depth_a_um(), self._da)
        m[T.I_DEPTH_B_RAW] = _counts(p.depth_b_um(), self._db)
        m[T.I_CART_PRESENT] = 1 if p.cart_present else 0
        m[T.I_CART_TYPE] = p.cart_type if p.cart_present else 0

    def write(self, m) -> None:
        self.plant.drive(m[T.O_DUTY] / 65535, m[T.O_BRAKE] != 0, m[T.O_ENABLE] != 0,
                         m[T.O_ACT_DUTY] / 65535)

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
        return self.cause
