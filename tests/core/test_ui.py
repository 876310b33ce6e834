# The on-device UI: debounced buttons, short and long presses, auto-repeat,
# depth stopping at the limit, zone selection, auto-off, and the view.
from pen import tick as T
from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP

from rigs import ready_pen


def press(pen, bits, ms=100, after=60):
    pen.hal.held = bits
    pen.run_ms(ms)
    pen.hal.held = 0
    pen.run_ms(after)


def test_power_short_press_starts_and_stops():
    p = ready_pen(level=2)
    press(p, B_POWER)
    assert p.core.running()
    p.run_ms(1500)
    assert abs(p.plant.rate_sps() - 100) < 2
    assert p.app.ui.view.mode == "running" and p.app.ui.view.level == 2
    press(p, B_POWER)
    assert not p.core.running() and p.m[T.O_DUTY] == 0


def test_bounce_shorter_than_the_debounce_is_ignored():
    p = ready_pen()
    press(p, B_POWER, ms=8)
    assert not p.core.running()


def test_speed_buttons_and_auto_repeat():
    p = ready_pen(level=2)
    press(p, B_SPEED_UP)
    assert p.m[T.C_LEVEL] + 1 == 3
    press(p, B_SPEED_UP, ms=1300)          # held: 1 + repeats at 600, 900, 1200 ms
    assert p.m[T.C_LEVEL] + 1 == 6         # and it stops at the top level
    press(p, B_SPEED_DOWN, ms=3000)
    assert p.m[T.C_LEVEL] == 0


def test_depth_buttons_stop_at_the_limit():
    p = ready_pen(depth_um=400, zone="forehead")
    press(p, B_DEPTH_UP)
    assert p.m[T.C_DEPTH_UM] == 450 and not p.app.ui.view.at_limit
    press(p, B_DEPTH_UP, ms=1200)           # would be +6 steps: stops at 500
    assert p.m[T.C_DEPTH_UM] == 500 and p.app.ui.view.at_limit
    press(p, B_DEPTH_DOWN)
    assert p.m[T.C_DEPTH_UM] == 450


def test_long_power_press_clears_a_fault_only_when_the_cause_is_gone():
    p = ready_pen()
    press(p, B_POWER)
    p.run_ms(800)
    p.plant.cart_present = False           # cartridge pulled while running
    p.run_ms(20)
    assert p.m[T.S_FAULTS] & T.F_CART_MISSING and p.m[T.O_DUTY] == 0
    assert p.app.ui.view.mode == "fault" and p.app.ui.view.fault == "cartridge_missing"
    press(p, B_POWER, ms=1600)              # cause present: stays latched
    assert p.m[T.S_FAULTS] & T.F_CART_MISSING
    assert "still" in (p.app.ui.view.message or "")
    p.plant.cart_present = True
    p.run_ms(50)
    press(p, B_POWER)                       # a short press does not clear
    assert p.m[T.S_FAULTS]
    press(p, B_POWER, ms=1600)
    assert p.m[T.S_FAULTS] == 0 and not p.core.running()   # cleared, motor still off
    press(p, B_POWER)
    assert p.core.running()


def test_long_power_press_without_fault_sleeps_and_any_button_wakes():
    p = ready_pen()
    press(p, B_POWER, ms=1600)
    assert not p.app.ui.awake and p.app.ui.view.mode == "off"
    press(p, B_SPEED_UP)                    # only wakes, does not change the level
    assert p.app.ui.awake and p.m[T.C_LEVEL] == 3


def test_both_depth_buttons_select_the_next_zone():
    p = ready_pen(depth_um=1000, zone="cheeks")
    press(p, B_DEPTH_UP | B_DEPTH_DOWN, ms=1200)
    assert p.core.zone == "chin"
    press(p, B_DEPTH_UP | B_DEPTH_DOWN, ms=1200)
    assert p.core.zone == "neck" and p.m[T.C_DEPTH_UM] <= 1000


def test_auto_off_after_inactivity():
    p = ready_pen()
    p.app.ui.auto_off_ms = 3000
    p.run_ms(2500)
    assert p.app.ui.awake
    p.run_ms(700)
    assert not p.app.ui.awake


def test_refused_start_is_shown():
    p = ready_pen()
    p.plant.cart_present = False
    p.run_ms(20)
    press(p, B_POWER)
    assert not p.core.running()
    assert "cartridge" in p.app.ui.view.message


def test_session_timer_counts_pen_time():
    p = ready_pen()
    press(p, B_POWER)
    p.run_ms(3000)
    press(p, B_POWER)
    p.run_ms(2000)
    assert p.app.ui.view.session_s == 3


def test_a_stuck_depth_button_stops_stepping_and_never_passes_the_limit():
    p = ready_pen(depth_um=300, zone="cheeks")
    press(p, B_POWER)
    p.hal.held = B_DEPTH_UP                 # stuck from now on
    p.run_ms(3000)
    assert p.m[T.C_DEPTH_UM] <= 1500
    p.run_ms(8000)                          # past 10 s: taken for stuck
    d = p.m[T.C_DEPTH_UM]
    assert "stuck" in (p.app.ui.view.message or "") or any(e[1] == "button_stuck" for e in p.app.events)
    p.run_ms(3000)
    assert p.m[T.C_DEPTH_UM] == d           # no more steps
    assert p.m[T.S_DEPTH_TARGET] <= p.m[T.S_LIMIT_HI]


def test_a_stuck_power_button_never_starts_the_motor():
    p = ready_pen()
    p.hal.held = B_POWER
    p.run_ms(15000)
    assert not p.core.running() and p.m[T.O_DUTY] == 0
