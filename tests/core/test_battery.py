# The battery's critical check does not hover (issue 13): a slow average of
# the reading, judged against the critical level plus the reading's guard
# band (the board's declared accuracy and the average's noise), a leaky
# count that filters load sag, hysteresis on clearing.  A true voltage below
# the level is caught within 1 s whatever the reading's error and noise.
from pen import tick as T

from rigs import Bench

SLOW_MS = T.SLOW_TICKS           # the check runs every 8 ticks of 1 ms


class Lcg:
    """A small portable noise source (the same on every interpreter)."""

    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def uniform(self, lo, hi):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return lo + (self.x >> 8) * (hi - lo) // 0x7FFFFF


def latch_ms(b, reading, limit_ms):
    """Feed reading(t_ms) to the battery ADC every ms until battery_critical
    latches; returns the ms it took (None: not within limit_ms)."""
    for t in range(limit_ms):
        b.set_sensors(vbat_mv=reading(t))
        b.tick()
        if b.m[T.S_FAULTS] & T.F_BATT_CRITICAL:
            return t
    return None


def settled(vbat_mv=7400):
    b = Bench(level=3)
    b.set_sensors(vbat_mv=vbat_mv)
    b.tick(500)
    assert b.m[T.S_FAULTS] == 0
    return b


def test_guard_band_is_the_boards_accuracy_and_averaged_noise():
    b = settled()
    bat = b.core.board["battery"]
    # accuracy 20 mV, noise 8 mV sigma: 3 sigma of the 64 ms average is 7 mV
    assert b.m[T.P_BATT_GUARD_MV] == bat["accuracy_mv"] + 7 == 27
    assert b.m[T.P_BATT_HYST_MV] > b.m[T.P_BATT_GUARD_MV]


def test_hovering_just_below_critical_is_caught_within_a_second():
    # The held-out case: true 6.180-6.199 V, read 6191-6207 mV (an offset of
    # about +10 mV and noise), for every seed
    for seed in range(1, 9):
        b = settled()
        rng = Lcg(seed)
        t = latch_ms(b, lambda t: rng.uniform(6191, 6208), 5000)
        assert t is not None and t <= 1000, (seed, t)


def test_worst_reading_error_still_caught():
    # true 6.199 V read 20 mV high (the declared accuracy) with 8 mV noise (sigma, ~ +-14 peak)
    for seed in range(1, 6):
        b = settled()
        rng = Lcg(seed)
        t = latch_ms(b, lambda t: 6199 + 20 + rng.uniform(-14, 15), 5000)
        assert t is not None and t <= 1000, (seed, t)


def test_a_drop_below_critical_is_caught_within_its_bound():
    b = settled(7400)
    t = latch_ms(b, lambda t: 6100, 2000)
    assert t is not None and 500 <= t <= 700, t       # critical_ms 500 + the average


def test_load_sag_transients_do_not_trip():
    # 6.4 V at rest, 0.5 s at 5.9 V at the start (acceleration current on a
    # worn pack), back: repeated every 2 s for 20 s
    b = settled(6400)
    t = latch_ms(b, lambda t: 5900 if t % 2000 < 350 else 6400, 20000)
    assert t is None, t


def test_a_voltage_above_the_guard_band_never_trips():
    # true 6.254 V (level + accuracy + guard), read 20 mV low with noise
    b = settled()
    rng = Lcg(3)
    assert latch_ms(b, lambda t: 6254 - 20 + rng.uniform(-14, 15), 20000) is None


def test_clearing_needs_the_hysteresis():
    b = settled()
    assert latch_ms(b, lambda t: 6150, 2000) is not None
    for v, present in ((6400, True), (6480, True), (6560, False)):
        b.set_sensors(vbat_mv=v)
        b.tick(600)
        b.core.clear()
        b.tick()
        assert bool(b.m[T.S_FAULTS] & T.F_BATT_CRITICAL) == present, v


def test_a_corrupted_average_recovers():
    b = settled()
    for garbage in (-2147483648, 2147483647, 1 << 30, -5, 5000 << 4):
        b.m[T.S_VBAT_AVG] = garbage
        b.tick(SLOW_MS)                     # out of range: reseeded from the reading at once
        if garbage > 1 << 28 or garbage < -(1 << 28):
            assert 7300 <= b.m[T.S_VBAT_AVG] >> 4 <= 7500, garbage
        b.tick(300)                         # in range: the average is back within 300 ms
        assert 7300 <= b.m[T.S_VBAT_AVG] >> 4 <= 7500, garbage
    assert b.m[T.S_FAULTS] == 0
