# The safety interlock: every fault stops the motor in the tick that sees it,
# latches, and clears only when the cause is gone, the motor is commanded
# off, and someone asks.
from pen import tick as T
from pen.core import Refused

from rigs import Bench, raises


def running_bench():
    b = Bench(level=3, depth_um=500)
    b.run_at_level(400)
    assert b.core.running() and b.m[T.O_DUTY] > 0
    return b


def check_stops_in_the_same_tick(inject, bit, settle_ticks=0):
    """inject(b) creates the cause; the fault must latch and the duty drop to
    0 in the very tick the interlock sees it (after its noise filter)."""
    b = running_bench()
    inject(b)
    for _ in range(settle_ticks):
        b.tick()
        if b.m[T.S_FAULTS]:
            break
    else:
        b.tick()
    assert b.m[T.S_FAULTS] & bit, (bit, b.m[T.S_FAULTS], b.m[T.S_ACTIVE])
    # same tick: the tick that latched the fault wrote duty 0
    assert b.m[T.S_FAULT_TICK] == b.m[T.S_TICKS]
    assert b.m[T.O_DUTY] == 0 and b.m[T.O_ENABLE] == 0 and b.m[T.O_BRAKE] == 1
    assert b.m[T.O_ACT_DUTY] <= 0          # the needles retract, never go deeper
    assert b.m[T.C_RUN] == 0
    return b


def test_overcurrent():
    def inject(b):
        b.set_sensors(current_ma=2600)
    b = check_stops_in_the_same_tick(inject, T.F_OVERCURRENT, settle_ticks=30)
    assert b.m[T.S_OC_COUNT] == b.m[T.P_OC_TICKS]


def test_overcurrent_needs_a_sustained_excess():
    b = running_bench()
    b.set_sensors(current_ma=2600)
    b.tick(b.m[T.P_OC_TICKS] - 1)
    b.set_sensors(current_ma=300)
    b.tick(3)
    assert b.m[T.S_FAULTS] == 0 and b.core.running()


def test_overtemperature():
    def inject(b):
        b.set_sensors(temp_c=95)
    check_stops_in_the_same_tick(inject, T.F_OVERTEMP, settle_ticks=2000)


def test_battery_critical_after_sag_time():
    def inject(b):
        b.set_sensors(vbat_mv=5900)
    b = check_stops_in_the_same_tick(inject, T.F_BATT_CRITICAL, settle_ticks=1000)
    assert b.m[T.S_TICKS] - b.m[T.S_FAULT_TICK] == 0


def test_cartridge_removed_while_running():
    def inject(b):
        b.m[T.I_CART_PRESENT] = 0
    check_stops_in_the_same_tick(inject, T.F_CART_MISSING)


def test_cartridge_used_up():
    def inject(b):
        b.m[T.S_CART_USE_S] = 3600
    check_stops_in_the_same_tick(inject, T.F_CART_USED)


def test_depth_sensor_disagreement():
    def inject(b):
        b.set_sensors(depth_um=500, depth_b_um=800)
    check_stops_in_the_same_tick(inject, T.F_DEPTH_DISAGREE, settle_ticks=40)


def test_stall():
    def inject(b):
        b.tach_sps(140, age_us=40000)     # last pulse 40 ms ago at ~140 sps
    check_stops_in_the_same_tick(inject, T.F_STALL)


def test_external_faults_latch_next_tick():
    for bit in (T.F_LOOP_OVERRUN, T.F_WATCHDOG, T.F_SETTINGS, T.F_INTEGRITY, T.F_INTERNAL):
        def inject(b, bit=bit):
            b.core.raise_fault(bit)
        check_stops_in_the_same_tick(inject, bit)


def test_heartbeat_watchdog():
    b = running_bench()
    m = b.m
    for _ in range(m[T.P_WD_TICKS] + 1):
        T.tick(m)                          # the background loop is silent
    assert m[T.S_FAULTS] & T.F_WATCHDOG and m[T.O_DUTY] == 0


def test_clear_needs_cause_gone_motor_off_and_a_request():
    b = running_bench()
    b.set_sensors(temp_c=95)
    b.tick(2000)
    assert b.m[T.S_FAULTS] & T.F_OVERTEMP
    # cause still present: a clear leaves it latched
    assert b.core.clear() == ["overtemp"]
    b.tick()
    assert b.m[T.S_FAULTS] & T.F_OVERTEMP
    # cooled below limit but inside the hysteresis: still present
    b.set_sensors(temp_c=65)
    b.tick(2000)
    b.core.clear()
    b.tick()
    assert b.m[T.S_FAULTS] & T.F_OVERTEMP
    # cooled: still latched until someone asks
    b.set_sensors(temp_c=40)
    b.tick(3000)
    assert b.m[T.S_FAULTS] & T.F_OVERTEMP
    assert b.core.clear() == []
    b.tick()
    assert b.m[T.S_FAULTS] == 0
    # and the motor does not restart by itself
    b.tick(100)
    assert not b.core.running() and b.m[T.O_DUTY] == 0


def test_clear_is_refused_while_the_motor_is_commanded_on():
    b = running_bench()
    b.core.raise_fault(T.F_WATCHDOG)
    b.tick()
    b.m[T.C_RUN] = 1                       # something writes run behind our back
    raises(Refused, b.core.clear)
    b.m[T.C_CLEAR] += 1                    # and bypasses the check
    b.tick()
    assert b.m[T.S_FAULTS] & T.F_WATCHDOG  # the tick refuses it too


def test_start_needs_all_permissives():
    b = Bench(level=2)
    b.core.raise_fault(T.F_SETTINGS)
    b.tick()
    e = raises(Refused, b.core.start)
    assert "clear it first" in e.text and "settings" in e.text
    b.core.clear()
    b.tick()
    b.m[T.I_CART_PRESENT] = 0
    b.tick()
    assert b.m[T.S_FAULTS] == 0            # at rest a missing cartridge just blocks
    assert "cartridge" in raises(Refused, b.core.start).text
    b.m[T.I_CART_PRESENT] = 1
    b.set_sensors(vbat_mv=6400)
    b.tick(300)
    assert "battery" in raises(Refused, b.core.start).text
    b.set_sensors()
    b.tick(300)
    b.core.start()
    b.tick()
    assert b.core.running()


def test_tick_refuses_a_start_written_behind_the_cores_back():
    b = Bench(level=2)
    b.m[T.I_CART_PRESENT] = 0
    b.tick()
    b.m[T.C_RUN] = 1
    b.tick()
    assert not b.core.running() and b.m[T.O_DUTY] == 0
    assert b.m[T.S_REFUSED] & T.R_CARTRIDGE and b.m[T.C_RUN] == 0


def test_fault_while_idle_latches_too():
    b = Bench()
    b.set_sensors(current_ma=4000)
    b.tick(50)
    assert b.m[T.S_FAULTS] & T.F_OVERCURRENT


def test_a_clock_fault_stops_the_motor_in_the_same_tick():
    def inject(b):
        b.core.raise_fault(T.F_CLOCK)
    check_stops_in_the_same_tick(inject, T.F_CLOCK)


def test_wraparound_during_a_run_is_harmless():
    from sim.clock import TICKS_PERIOD

    from rigs import ready_pen
    p = ready_pen(level=4, tick_origin=TICKS_PERIOD - 2500000)   # wraps 2.2 s into the run
    p.core.start()
    p.run_ms(4000)
    assert p.m[T.S_FAULTS] == 0 and p.core.running()
    assert abs(p.plant.rate_sps() - 140) < 3
    assert p.app.sched.report()["clock_jumps"] == 0


def test_on_a_fault_the_needles_retract_unless_the_depth_sensors_disagree():
    b = running_bench()
    b.set_sensors(depth_um=900)
    b.core.raise_fault(T.F_WATCHDOG)
    b.tick(2)
    assert b.m[T.O_ACT_DUTY] < 0           # toward the shallowest depth
    b.set_sensors(depth_um=200)
    b.tick()
    assert b.m[T.O_ACT_DUTY] == 0          # there
    b.set_sensors(depth_um=900, depth_b_um=400)
    b.tick(40)
    assert b.m[T.S_FAULTS] & T.F_DEPTH_DISAGREE
    assert b.m[T.O_ACT_DUTY] == 0          # blind: do not move


def test_an_integrity_fault_cannot_be_cleared_while_the_files_differ():
    b = Bench()
    b.set_sensors()
    b.core.hold_fault(T.F_INTEGRITY)
    b.tick(3)
    assert b.m[T.S_FAULTS] & T.F_INTEGRITY
    assert "integrity" in b.core.clear()       # still present
    b.tick(3)
    assert b.m[T.S_FAULTS] & T.F_INTEGRITY
    raises(Refused, b.core.start)
    b.tick(5)
    assert b.m[T.S_STATE] == T.ST_FAULT and b.m[T.O_DUTY] == 0
