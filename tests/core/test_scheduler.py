# The fixed-rate scheduler on a virtual clock: exact statistics across the
# ticks wraparound, overrun detection and the sustained-overrun fault.
from pen import tick as T
from pen.mem import new_memory
from pen.scheduler import Scheduler
from sim.clock import TICKS_PERIOD, VirtualClock, ticks_diff


def make(start_before_wrap_us=3000, exec_us=100, **kw):
    clock = VirtualClock(tick_origin=TICKS_PERIOD - start_before_wrap_us)
    m = new_memory()
    calls = []

    def step():
        calls.append(clock.ticks_us())
        clock.advance(exec_us)

    return clock, m, calls, Scheduler(clock, 1000, step, m, **kw)


def test_runs_at_the_period_across_wraparound():
    clock, m, calls, s = make()
    s.run(10)
    assert len(calls) == 10
    # the counter wrapped during the run
    assert any(calls[i + 1] < calls[i] for i in range(9))
    r = s.report()
    assert r["ticks"] == 10 and r["period_min_us"] == 1000 and r["period_max_us"] == 1000
    assert r["jitter_us"] == 0 and r["late_max_us"] == 0
    assert r["exec_max_us"] == 100 and r["overruns"] == 0


def test_lateness_and_jitter_are_measured():
    clock, m, calls, s = make()
    s.run(3)
    clock.wake_jitter_us = 37
    s.run(1)
    clock.wake_jitter_us = 0
    s.run(2)
    r = s.report()
    assert r["late_max_us"] == 37
    assert r["period_max_us"] == 1037 and r["period_min_us"] == 963
    assert r["jitter_us"] == 37


def test_isolated_overrun_is_counted_not_faulted():
    clock, m, calls, s = make()
    s.run(5)
    s.step = lambda: clock.advance(2500)  # one long tick (a GC pause)
    s.run(1)
    s.step = lambda: clock.advance(100)
    s.run(20)
    r = s.report()
    assert r["overruns"] == 1 and r["missed"] == 2   # the slots at +1000 and +2000
    assert not r["overrun_fault"]
    assert m[T.I_EXT_FAULTS] & T.F_LOOP_OVERRUN == 0


def test_sustained_overrun_raises_the_fault_until_it_drains():
    clock, m, calls, s = make()
    m[T.S_STATE] = T.ST_RUNNING            # judged while the motor runs
    s.step = lambda: clock.advance(1200)
    s.run(4)
    assert m[T.I_EXT_FAULTS] == 0
    s.run(1)                               # the fifth in a row trips
    assert m[T.I_EXT_FAULTS] & T.F_LOOP_OVERRUN
    assert s.report()["overrun_fault"]
    s.step = lambda: clock.advance(100)
    m[T.I_EXT_FAULTS] = 0
    s.run(50)
    assert m[T.I_EXT_FAULTS] & T.F_LOOP_OVERRUN   # still draining: cause present
    s.run(200)
    m[T.I_EXT_FAULTS] = 0
    s.run(1)
    assert m[T.I_EXT_FAULTS] == 0 and s.healthy()


def test_background_gets_the_next_deadline():
    seen = []
    clock, m, calls, s = make(background=lambda d: seen.append(d))
    s.run(3)
    assert len(seen) == 3
    assert ticks_diff(seen[1], seen[0]) == 1000


def test_clock_jumping_back_does_not_hold_the_loop_and_is_a_fault():
    clock, m, calls, s = make()
    s.run(5)
    clock.jump(-200000)                    # the tick counter steps back 200 ms
    t0 = clock.now_us
    s.run(3)
    assert clock.now_us - t0 < 5000        # no 200 ms wait with the motor's last duty
    assert m[T.I_EXT_FAULTS] & T.F_CLOCK
    assert s.report()["clock_jumps"] == 1
    m[T.I_EXT_FAULTS] = 0
    s.run(20)
    assert m[T.I_EXT_FAULTS] == 0 and s.report()["clock_jumps"] == 1


def test_a_stalled_loop_while_running_is_a_fault_but_not_at_rest():
    clock, m, calls, s = make()
    s.run(5)
    clock.advance(80000)                   # the loop stood still for 80 ms, motor idle
    s.run(2)
    assert m[T.I_EXT_FAULTS] & T.F_CLOCK == 0
    m[T.S_STATE] = T.ST_RUNNING
    clock.advance(80000)
    s.run(2)
    assert m[T.I_EXT_FAULTS] & T.F_CLOCK


def test_overruns_at_rest_are_counted_not_faulted():
    # a flash write (motor stopped, interrupts off on an RP2040) may stall
    # the loop for tens of ms, many times over: counted, never a fault
    clock, m, calls, s = make()
    s.step = lambda: clock.advance(45000)
    s.run(10)
    r = s.report()
    assert r["overruns"] == 10 and not r["overrun_fault"]
    assert m[T.I_EXT_FAULTS] == 0


def test_the_watchdog_is_fed_only_while_the_loop_and_background_are_healthy():
    fed = []
    clock, m, calls, s = make(feed=lambda: fed.append(clock.now_us))
    m[T.P_WD_TICKS] = 500
    s.run(100)
    assert len(fed) == 10                  # every 10 ticks
    m[T.S_HB_AGE] = 500                    # the background stopped beating
    s.run(100)
    assert len(fed) == 10
    m[T.S_HB_AGE] = 0
    m[T.S_STATE] = T.ST_RUNNING
    s.step = lambda: clock.advance(1200)   # sustained overrun while running
    s.run(30)
    assert s.report()["overrun_fault"]
    n = len(fed)
    s.run(30)
    assert len(fed) == n                   # not while the overrun fault is raised


def test_timer_catching_up_after_a_stall_does_not_burst():
    # interrupt mode: after a stall the timer may fire at once for every
    # period it missed; the scheduler runs at most one of those calls, so
    # the step never runs more often than once per period
    clock, m, calls, s = make(exec_us=50)
    s.start(irq=True)
    for _ in range(3):
        clock.advance(1000 - 50)
        s.tick()
    clock.advance(4500)                    # a 4.5 ms stall (interrupts off)
    n = len(calls)
    for _ in range(5):                     # the timer's catch-up calls, back to back
        s.tick()
    assert len(calls) - n <= 2             # the late period, and at most one more
    assert s.report()["missed"] >= 3


def test_no_slot_is_skipped_after_a_trip_when_the_tick_kept_time():
    # found by the property test: with the overrun fault raised, a tick that
    # ended exactly on the next deadline must not skip a period
    clock, m, calls, s = make(start_before_wrap_us=0)
    m[T.S_STATE] = T.ST_RUNNING
    s.step = lambda: clock.advance(1200)
    s.run(5)
    missed = s.report()["missed"]
    s.step = lambda: clock.advance(1000)   # ends exactly at the next deadline
    s.run(1)
    s.step = lambda: clock.advance(10)
    s.run(2)
    assert s.report()["missed"] == missed
