# Readings that go negative (cold motor, sensor offset, noise around zero)
# must mean the same on CPython, the 64-bit unix port and the 32-bit pen.
# MicroPython's viper loads are zero-extended on 64-bit builds: these tests
# fail there if a signed word is read without sign extension.
from pen import tick as T

from rigs import Bench, counts


def test_cold_motor_is_not_a_fault():
    b = Bench(level=2)
    b.set_sensors(temp_c=-10)
    b.tick(1500)
    assert b.m[T.S_TEMP_DC] < -90
    assert b.m[T.S_FAULTS] == 0
    b.run_at_level(400)
    assert b.core.running() and b.m[T.S_FAULTS] == 0


def test_current_offset_below_zero_is_not_overcurrent():
    b = Bench(level=2)
    b.m[T.P_CUR_OFS] = 1000
    b.m[T.I_CURRENT_RAW] = 900
    b.run_at_level(400)
    assert b.m[T.S_CURRENT_MA] < 0
    assert b.m[T.S_FAULTS] == 0 and b.core.running()


def test_depth_noise_below_zero_is_plausible():
    b = Bench(level=2, depth_um=200)
    b.m[T.I_DEPTH_A_RAW] = counts(-30, "depth_a")
    b.m[T.I_DEPTH_B_RAW] = counts(-20, "depth_b")
    b.run_at_level(400)
    assert b.m[T.S_DEPTH_UM] < 0
    assert b.m[T.S_FAULTS] == 0 and b.core.running()
    assert b.m[T.O_ACT_DUTY] > 0           # drives toward the 200 um target


def test_negative_requests_clamp_to_the_floor():
    b = Bench(level=2)
    b.m[T.C_DEPTH_UM] = -800
    b.m[T.C_LEVEL] = -3
    b.m[T.C_ZONE_HI_UM] = -50              # a broken zone cap: no depth at all
    b.tick()
    assert b.m[T.S_DEPTH_TARGET] == -50    # never above the (broken) cap
    assert b.m[T.S_WARN] & T.W_LIMITS_EMPTY
    b.m[T.C_ZONE_HI_UM] = 1500
    b.tick()
    b.run_at_level(300)
    assert b.m[T.S_DEPTH_TARGET] == 200
    assert b.m[T.S_TARGET_CHZ] == 8000     # level clamped to the first


def test_out_of_contract_tach_age_reads_as_stalled_everywhere():
    b = Bench(level=2)
    b.run_at_level(400)
    b.tach_sps(100, age_us=-5)             # a HAL must clamp; if not: fail safe
    b.tick()
    assert b.m[T.S_FAULTS] & T.F_STALL


def test_battery_reading_below_its_offset_is_critical():
    b = Bench(level=2)
    b.m[T.P_VBAT_OFS] = 30000
    b.m[T.I_VBAT_RAW] = 100                # reads about -6 V
    b.tick(600)
    assert b.m[T.S_VBAT_MV] < 0
    assert b.m[T.S_FAULTS] & T.F_BATT_CRITICAL


def test_a_corrupted_zone_cap_never_drives_the_needles_deeper():
    # A garbage zone word makes the target INT_MIN: target - depth must not
    # wrap on a 32-bit port (the fuzz saw the actuator drive deeper
    # on ARM where CPython retracted).  tests/test_arm.py runs this on ARM.
    b = Bench(level=2, depth_um=500)
    b.tick(50)
    b.m[T.C_ZONE_HI_UM] = -2147483647 - 1
    b.tick(3)
    assert b.m[T.O_ACT_DUTY] <= 0
    assert b.m[T.S_WARN] & T.W_LIMITS_EMPTY
