"""Property tests of the control core's safety invariants (CPython, hypothesis).

Random sequences of commands, raw memory writes, sensor readings, tach
signals and injected faults are thrown at a bare core; after every tick:

* the depth target is never beyond the active limit, and the active limit is
  never beyond any of board, cartridge and zone;
* the actuator never pushes deeper than the target;
* PWM duty and enable are 0 whenever a fault is latched, and the depth
  actuator only retracts (not at all when the depth sensors disagree);
* the duty never rises by more than the soft-start slope, nor above its max;
* after a fault the motor stays off until an explicit start.

Example counts: NEEDLEPEN_PROPERTY_EXAMPLES (default 1500 per property).
"""

import os

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pen import tick as T
from pen import zones
from pen.core import Refused
from pen.scheduler import Scheduler
from sim.clock import TICKS_PERIOD, VirtualClock

from rigs import Bench

EXAMPLES = int(os.environ.get("NEEDLEPEN_PROPERTY_EXAMPLES", "1500"))
PROPS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INT32 = st.integers(-(2**31), 2**31 - 1)
FAULT_BITS = st.sampled_from([T.F_LOOP_OVERRUN, T.F_WATCHDOG, T.F_SETTINGS, T.F_INTEGRITY, T.F_INTERNAL])

_start = st.tuples(st.just("start"))
_run = st.tuples(st.just("tick"), st.integers(1, 40))
actions = st.one_of(
    _run, _run, _run, _start, _start,
    st.tuples(st.just("stop")),
    st.tuples(st.just("clear")),
    st.tuples(st.just("set_depth"), st.integers(-1000, 4000)),
    st.tuples(st.just("step_depth"), st.integers(-6, 6)),
    st.tuples(st.just("raw_depth"), INT32),
    st.tuples(st.just("zone"), st.sampled_from(zones.zone_names()), st.sampled_from(zones.profile_names())),
    st.tuples(st.just("raw_zone"), INT32, INT32),
    st.tuples(st.just("level"), st.integers(-2, 9)),
    st.tuples(st.just("raw_level"), INT32),
    st.tuples(st.just("raw_run"), st.integers(0, 1)),
    st.tuples(st.just("cart"), st.booleans(), st.integers(0, 7)),
    st.tuples(st.just("sensors"), st.integers(5000, 8600), st.integers(-20, 110), st.integers(-100, 4000),
              st.integers(-200, 3200), st.integers(-200, 3200)),
    st.tuples(st.just("raw_adc"), st.integers(3, 7), INT32),
    st.tuples(st.just("tach"), st.integers(0, 320), st.integers(-50, 2_000_000)),
    st.tuples(st.just("ext"), FAULT_BITS),
    st.tuples(st.just("use"), st.integers(0, 4000)),
)


def apply(b: Bench, action: tuple) -> int:
    """Carry out one action; returns how many ticks to run after it."""
    kind, *args = action
    m, core = b.m, b.core
    try:
        if kind == "tick":
            return args[0]
        if kind == "start":
            core.start()
        elif kind == "stop":
            core.stop()
        elif kind == "clear":
            core.clear()
        elif kind == "set_depth":
            core.set_depth(args[0])
        elif kind == "step_depth":
            core.step_depth(args[0])
        elif kind == "raw_depth":
            m[T.C_DEPTH_UM] = args[0]
        elif kind == "zone":
            core.set_zone(args[0], args[1])
        elif kind == "raw_zone":
            m[T.C_ZONE_LO_UM], m[T.C_ZONE_HI_UM] = args
        elif kind == "level":
            core.set_level(args[0])
        elif kind == "raw_level":
            m[T.C_LEVEL] = args[0]
        elif kind == "raw_run":
            m[T.C_RUN] = args[0]
        elif kind == "cart":
            m[T.I_CART_PRESENT] = int(args[0])
            m[T.I_CART_TYPE] = args[1]
        elif kind == "sensors":
            vbat, temp, cur, da, db = args
            b.set_sensors(vbat_mv=vbat, temp_c=temp, current_ma=max(0, cur), depth_um=da, depth_b_um=db)
        elif kind == "raw_adc":
            m[args[0]] = args[1]
        elif kind == "tach":
            b.tach_sps(args[0], age_us=args[1])
        elif kind == "ext":
            core.raise_fault(args[0])
        elif kind == "use":
            m[T.S_CART_USE_S] = args[0]
    except Refused:
        pass
    return 1


def _names(bits: int) -> list:
    from pen import faults
    return faults.names(bits)


def board_cap(b: Bench) -> int:
    """The smallest of the board, cartridge and zone maxima (no tick code)."""
    m = b.m
    hi = m[T.P_HARD_HI_UM]
    ct = m[T.I_CART_TYPE]
    if m[T.I_CART_PRESENT] and 1 <= ct <= m[T.P_CARTS]:
        hi = min(hi, m[T.P_CART + 3 * (ct - 1) + 1])
    return min(hi, m[T.C_ZONE_HI_UM])


@PROPS
@given(st.lists(actions, min_size=3, max_size=120))
def test_invariants_hold_after_every_tick(seq: list) -> None:
    b = Bench(level=3, depth_um=500)
    m = b.m
    slew, dmax = m[T.P_DUTY_SLEW], m[T.P_DUTY_MAX]
    prev_duty = m[T.O_DUTY]
    off_since_fault = False            # a fault was latched and no start since
    for action in seq:
        if action[0] in ("start", "raw_run") and action[-1] != 0:
            off_since_fault = False
        for _ in range(apply(b, action)):
            b.tick()
            lo, hi, target = m[T.S_LIMIT_LO], m[T.S_LIMIT_HI], m[T.S_DEPTH_TARGET]
            assert hi <= board_cap(b), (hi, board_cap(b))
            assert target <= hi, (target, lo, hi)
            if m[T.O_ACT_DUTY] > 0:
                assert m[T.S_DEPTH_UM] < target
            duty = m[T.O_DUTY]
            assert 0 <= duty <= dmax
            assert duty - prev_duty <= slew, (prev_duty, duty)
            if m[T.S_FAULTS]:
                assert duty == 0 and m[T.O_ENABLE] == 0 and m[T.O_BRAKE] == 1
                assert m[T.O_ACT_DUTY] <= 0                    # the needles only retract ...
                if m[T.S_FAULTS] & T.F_DEPTH_DISAGREE:
                    assert m[T.O_ACT_DUTY] == 0                # ... and not blind
                assert m[T.C_RUN] == 0
                off_since_fault = True
            if off_since_fault:
                assert m[T.S_STATE] != T.ST_RUNNING and duty == 0
            prev_duty = duty
    event("ran the motor" if b.m[T.S_RUN_TICKS] else "never ran")
    event("latched " + ",".join(sorted(set(_names(m[T.S_FAULTS])))) if m[T.S_FAULTS] else "no fault at the end")


# ---- scheduler statistics under wraparound ------------------------------------

@PROPS
@given(start_before_wrap=st.integers(0, 50_000),
       ticks=st.lists(st.tuples(st.integers(0, 2500), st.integers(0, 300)), min_size=2, max_size=80))
def test_scheduler_statistics_are_exact_across_wraparound(start_before_wrap: int, ticks: list) -> None:
    """Each tick: (execution time, wake-up lateness).  The scheduler's numbers
    equal those computed on the unbounded virtual time."""
    clock = VirtualClock(tick_origin=TICKS_PERIOD - start_before_wrap)
    plan = list(ticks)
    starts: list[int] = []
    execs: list[int] = []

    def step() -> None:
        starts.append(clock.now_us)
        ex, late = plan[len(starts) - 1]
        execs.append(ex)
        clock.advance(ex)
        if len(starts) < len(plan):
            clock.wake_jitter_us = plan[len(starts)][1]

    m = Bench().m
    s = Scheduler(clock, 1000, step, m)
    clock.wake_jitter_us = plan[0][1]
    s.run(len(plan))
    # replay the schedule on unbounded time: what the statistics must say
    exp_late, exp_over, exp_missed = [], 0, 0
    d = starts[0] - plan[0][1]
    for i, start in enumerate(starts):
        exp_late.append(start - d)
        end = start + execs[i]
        if exp_late[-1] + execs[i] > 1000:
            exp_over += 1
            behind = end - d
            if behind >= 1000:
                exp_missed += behind // 1000
                d += (behind // 1000) * 1000
        d += 1000
    r = s.report()
    periods = [b - a for a, b in zip(starts, starts[1:])]
    assert r["ticks"] == len(plan)
    assert r["late_max_us"] == max(exp_late)
    assert r["exec_max_us"] == max(execs)
    assert r["overruns"] == exp_over
    assert r["missed"] == exp_missed
    assert r["period_min_us"] == min(periods) and r["period_max_us"] == max(periods)
    assert clock.ticks_us() < TICKS_PERIOD
