# Depth limits: board hard limits & cartridge & treatment zone.
from pen import tick as T
from pen.core import Refused

from rigs import Bench, raises


def test_window_is_the_intersection():
    b = Bench(zone="cheeks", profile="professional")
    # board 200..2500, 12-pin 200..2000, cheeks <=1500
    assert b.core.limits() == (200, 1500)
    b.m[T.I_CART_TYPE] = 4                 # 42-pin: 200..1000
    assert b.core.limits() == (200, 1000)
    b.core.set_zone("forehead")            # zone 500
    assert b.core.limits() == (200, 500)
    b.core.set_zone("body")                # zone 2500, cartridge still 1000
    assert b.core.limits() == (200, 1000)


def test_home_profile_caps_at_one_millimetre():
    b = Bench(zone="body", profile="home")
    b.m[T.I_CART_TYPE] = 5                 # 3-pin: to 2500
    assert b.core.limits()[1] == 1000


def test_protocol_request_outside_is_refused_not_truncated():
    b = Bench(depth_um=500, zone="forehead")
    e = raises(Refused, b.core.set_depth, 800)
    assert e.code == "out_of_range"
    assert "200..500" in e.text and "zone forehead" in e.text
    assert b.m[T.C_DEPTH_UM] == 500        # nothing changed
    e = raises(Refused, b.core.set_depth, 125)
    assert e.code == "bad_argument"        # not a 0.05 mm step
    raises(Refused, b.core.set_depth, "700")
    assert b.core.set_depth(450) == 450


def test_button_at_the_limit_stays_at_the_limit():
    b = Bench(depth_um=400, zone="forehead")
    assert b.core.step_depth(1) == 450
    assert b.core.step_depth(1) == 500
    assert b.core.step_depth(1) == 500
    assert b.core.step_depth(5) == 500
    b.core.set_depth(200)
    assert b.core.step_depth(-1) == 200


def test_tick_clamps_whatever_is_written():
    b = Bench(zone="forehead")
    for req in (-5000, 0, 199, 501, 2600, 0x3FFFFFFF):
        b.m[T.C_DEPTH_UM] = req            # bypasses the command checks
        b.tick()
        t = b.m[T.S_DEPTH_TARGET]
        assert 200 <= t <= 500, (req, t)


def test_empty_window_blocks_start_and_clamps_to_the_shallowest_max():
    b = Bench(zone="forehead")
    b.m[T.C_ZONE_LO_UM] = 800              # a zone floor above the cap
    b.tick()
    assert b.m[T.S_DEPTH_TARGET] <= b.m[T.S_LIMIT_HI]
    assert b.m[T.S_WARN] & T.W_LIMITS_EMPTY
    e = raises(Refused, b.core.start)
    assert "no common depth" in e.text


def test_lowering_the_zone_below_the_needles_stops_the_motor_first():
    b = Bench(level=2, depth_um=1400, zone="cheeks")
    b.set_sensors(depth_um=1400)
    b.run_at_level(50)
    assert b.core.running()
    b.core.set_zone("forehead")            # cap 500, needles at 1400
    b.tick()
    assert not b.core.running()
    assert b.m[T.O_DUTY] == 0
    assert b.m[T.S_FAULTS] == 0            # a stop, not a fault


def test_measured_depth_beyond_limit_while_running_latches_over_depth():
    b = Bench(level=2, depth_um=500, zone="cheeks")
    b.run_at_level(50)
    b.set_sensors(depth_um=1700)           # actuator ran away: cap 1500 + 100
    b.tick(4)
    assert b.m[T.S_FAULTS] == 0            # 5 ms of noise filter
    b.tick()
    assert b.m[T.S_FAULTS] & T.F_OVER_DEPTH
    assert b.m[T.O_DUTY] == 0


def test_a_shallower_cartridge_trims_the_request_for_good():
    # A 2.5 mm request with no cartridge seated, then a 42-pin (to 1 mm), then
    # a 3-pin (to 2.5 mm): the target stays at 1 mm, it does not deepen by itself.
    b = Bench(depth_um=500, zone="body")
    b.m[T.I_CART_PRESENT] = 0
    b.tick()
    assert b.core.set_depth(2500) == 2500
    b.m[T.I_CART_PRESENT] = 1
    b.m[T.I_CART_TYPE] = 4
    b.tick()
    assert b.m[T.S_DEPTH_TARGET] == 1000 and b.m[T.C_DEPTH_UM] == 1000
    b.m[T.I_CART_TYPE] = 5
    b.tick()
    assert b.m[T.S_DEPTH_TARGET] == 1000
