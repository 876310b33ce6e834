# The tach check uses the pen's own back-EMF constant (issue 13): learned
# once per boot in steady running at light load, bounded by the board's
# declared tolerance, the check's band widened by that tolerance until then.
from pen import tick as T

from rigs import Bench


def learned_bench(current_ma=150, level=3, ticks=1200):
    b = Bench(level=level)
    b.set_sensors(current_ma=current_ma)
    b.run_at_level(ticks)
    return b


def test_learns_the_nominal_constant_of_a_nominal_pen():
    b = learned_bench()
    assert b.m[T.S_KE_N] == b.m[T.P_KE_N] == 250
    ke = b.m[T.S_KE_Q10]
    assert abs(ke - b.m[T.P_FF_Q10]) * 100 <= 5 * b.m[T.P_FF_Q10], (ke, b.m[T.P_FF_Q10])
    assert b.m[T.S_FAULTS] == 0
    assert 95 <= b.core.status()["ke_pct"] <= 105
    assert Bench().core.status()["ke_pct"] is None        # not learned yet


def test_bounds_are_the_declared_tolerance():
    b = Bench()
    ff = b.m[T.P_FF_Q10]
    assert b.core.board["motor"]["ke_tolerance_pct"] == 20
    assert b.m[T.P_KE_LO] <= ff * 80 // 100 + 1 and b.m[T.P_KE_HI] >= ff * 120 // 100
    assert b.m[T.P_KE_WIDEN_PCT] == 25          # Ke 20 % low reads the rate 25 % low


def low_ke_bench():
    # A motor 20 % below the nominal constant at level 3: the drive (the PI's
    # feed-forward: 25.1 mV per stroke/s + 310 mV) minus I*R is only 80 % of
    # the nominal back-EMF at the tach's rate: I*R = 310 mV + 20 % of 3.0 V
    return learned_bench(current_ma=365)


def test_a_low_constant_is_learned_and_the_check_stays_tight():
    b = low_ke_bench()
    assert b.m[T.S_FAULTS] == 0, b.m[T.S_FAULTS]            # the widened band held until learned
    ke = b.m[T.S_KE_Q10]
    ff = b.m[T.P_FF_Q10]
    assert abs(ke * 100 - 80 * ff) <= 3 * ff, (ke, ff)
    # learned: the tach agrees with the back-EMF again
    d = b.m[T.S_EMF_CHZ] - b.m[T.S_RATE_CHZ]
    assert -300 <= d <= 300, d


def test_learned_once_per_boot():
    b = low_ke_bench()
    ke = b.m[T.S_KE_Q10]
    b.core.stop()
    b.tick(50)
    b.set_sensors(current_ma=150)                  # a different load next run: nothing re-learned
    b.run_at_level(1500)
    assert b.m[T.S_KE_Q10] == ke and b.m[T.S_KE_N] == b.m[T.P_KE_N]


def test_no_learning_in_heavy_load_or_off_the_setpoint():
    b = learned_bench(current_ma=600)              # above 400 mA: the winding's spread matters
    assert b.m[T.S_KE_N] == 0
    b = Bench(level=3)
    b.core.start()
    for _ in range(1200):                          # 10 % below the setpoint all along
        r = b.m[T.S_RAMP_CHZ]
        b.tach_sps(r * 9 // 1000 if r >= 200 else 0)
        b.tick()
    assert b.m[T.S_KE_N] == 0


def test_a_lying_tach_is_still_caught_after_learning():
    b = low_ke_bench()
    assert b.m[T.S_KE_N] == b.m[T.P_KE_N]
    # the tach now reads 30 % low: the PI drives harder, the back-EMF rises
    t = 0
    while t < 3000 and not b.m[T.S_FAULTS]:
        b.tach_sps(b.m[T.S_RAMP_CHZ] * 7 // 1000)
        b.tick()
        t += 1
    assert b.m[T.S_FAULTS] & T.F_TACH_MISMATCH, (t, b.m[T.S_FAULTS])
    assert t < 600, t


def test_corrupted_learning_starts_again():
    for w, v in ((T.S_KE_Q10, 1), (T.S_KE_Q10, 1 << 30), (T.S_KE_N, -1), (T.S_KE_N, 1 << 20),
                 (T.S_KE_SUM, -7), (T.S_KE_SUM, 2147483647)):
        b = learned_bench()
        b.m[w] = v
        b.tick()
        assert 0 <= b.m[T.S_KE_N] <= b.m[T.P_KE_N]
        if b.m[T.S_KE_N] == b.m[T.P_KE_N]:
            assert b.m[T.P_KE_LO] <= b.m[T.S_KE_Q10] <= b.m[T.P_KE_HI], (w, v)
        else:
            assert b.m[T.S_KE_N] <= 1, (w, v)        # learning again from the start
        assert b.m[T.S_FAULTS] == 0
