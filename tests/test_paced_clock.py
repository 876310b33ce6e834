"""The virtual pen's clock (issue 12, case 1): its timing comes from the
model, so a host that is late -- here a step that takes 3 ms of real time
in a 1 ms period -- slows the pen down but never makes it overrun."""

from __future__ import annotations

import time

from pen import tick as T
from pen.scheduler import Scheduler
from sim.virtual import PacedClock


def test_a_slow_host_slows_the_virtual_pen_but_never_faults_it() -> None:
    clock = PacedClock()
    m = [0] * T.MEM_WORDS
    m[T.P_WD_TICKS] = 1000

    def slow_step() -> None:
        time.sleep(0.003)               # the host is 3x slower than the pen's period

    sched = Scheduler(clock, 1000, slow_step, m)
    t0 = time.monotonic()
    sched.run(100)
    wall = time.monotonic() - t0
    r = sched.report()
    assert r["overruns"] == 0 and r["missed"] == 0 and r["jitter_us"] == 0 and r["late_max_us"] == 0
    assert clock.now_us == 100 * 1000                     # exactly 100 periods of pen time
    assert wall >= 0.3                   # slowed down, not sped through
    assert not m[T.I_EXT_FAULTS] & (T.F_LOOP_OVERRUN | T.F_CLOCK)


def test_paced_to_the_wall_clock_when_the_host_keeps_up() -> None:
    clock = PacedClock()
    m = [0] * T.MEM_WORDS
    m[T.P_WD_TICKS] = 1000
    sched = Scheduler(clock, 1000, lambda: None, m)
    t0 = time.monotonic()
    sched.run(200)
    wall = time.monotonic() - t0
    assert clock.now_us == 200 * 1000
    assert wall >= 0.2 - clock.NAP_US / 1e6 - 0.001      # not faster than real time (at most one nap ahead)


def test_an_injected_overrun_is_a_simulated_one() -> None:
    clock = PacedClock()
    clock.exec_us = 1500                 # sim fault loop_overrun 1500: the step takes 1.5 ms of pen time
    m = [0] * T.MEM_WORDS
    m[T.P_WD_TICKS] = 1000
    m[T.S_STATE] = T.ST_RUNNING

    def step() -> None:
        clock.now_us += clock.exec_us    # what SimHAL.write does

    sched = Scheduler(clock, 1000, step, m, trip=100)
    sched.run(50)
    assert sched.report()["overruns"] >= 25 and m[T.I_EXT_FAULTS] & T.F_LOOP_OVERRUN
