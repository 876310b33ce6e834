# mypy: ignore-errors
# (MicroPython code: time.ticks_us, gc.mem_free, sys.print_exception ...; like the
# other workloads, which pyproject.toml excludes from mypy)
# bench/chip.py's workload: runs ON the emulated RP2040 (MicroPython rp2
# port), beside a staged pen firmware (board pen_rp2040_irqtach), which
# main.py left in maintenance mode at the REPL.  Not part of the firmware.
#
# Every result is one line `@@chip {json}` on the USB serial; bench/chip.py
# parses those and ignores everything else (the protocol's own answers go
# to the same serial port).  Times come from time.ticks_us(), which on the
# emulator follows simulated 125 MHz time.
#
#   import chip_workload as W
#   B = W.Bench()              # the App, built as pen.startup.run builds it
#   B.costs(reps)              # per-task costs, one task at a time
#   B.loop("idle", seconds)    # the loop in its real structure: hard-timer
#   B.loop("host", seconds)    #   tick + background driven like App._serve
#   B.done()
#
# The firmware is edited while this exists: every measurement is wrapped,
# and one that fails is reported as an error row rather than ending the run.
import gc
import json
import sys
import time
from array import array

import machine

TAG = "@@chip "
tu = time.ticks_us
td = time.ticks_diff
ta = time.ticks_add

_IO_BANK0 = 0x40014000        # GPIO n CTRL at +8n+4; INOVER = bits 16-17
_IN_HIGH = 3                  # INOVER: input forced high (a released button)
_IN_NORMAL = 0

PLANT_VBAT_MV = 7600          # the ADC fixture's battery
PLANT_MA = 300                # the running loop's motor current (fixture)
HIST = 1024                   # histogram bins, 1 us each (the last bin collects the rest)
CART_CODE = 2                 # the cartridge the fixture "seats": 2 = 12-pin (as the kit's plant)


def emit(kind, **kw):
    kw["kind"] = kind
    print(TAG + json.dumps(kw))


def progress(text):
    emit("progress", text=text)


def _err(e):
    return "{}: {}".format(type(e).__name__, e)


def summary(values):
    """min, median, p90, p99, max, mean of a sequence of ints."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        return {"n": 0}
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"n": n, "min": s[0], "median": med, "p90": s[min(n - 1, (n * 9) // 10)],
            "p99": s[min(n - 1, (n * 99) // 100)], "max": s[-1], "mean": sum(s) / n}


def hist_summary(h, lo, hi, n):
    """Percentiles of a 1-us histogram (bin 0 = `lo` clamp, last bin = overflow)."""
    if n == 0:
        return {"n": 0}
    if lo is None:
        lo = 0
        while lo < len(h) - 1 and not h[lo]:
            lo += 1
    out = {"n": n, "min": lo, "max": hi}
    want = (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9))
    acc = 0
    k = 0
    for i in range(len(h)):
        acc += h[i]
        while k < len(want) and acc * 100 >= want[k][1] * n:
            out[want[k][0]] = i if i < len(h) - 1 else hi
            k += 1
        if k == len(want):
            break
    nz = {}
    for i in range(len(h)):
        if h[i]:
            nz[str(i)] = h[i]
    out["bins"] = nz
    return out


class Counter:
    def __init__(self):
        self.n = 0

    def hit(self, t):
        self.n += 1


class Timed:
    """A background task wrapped: per call, its wall time minus the time the
    tick interrupts took meanwhile (the probe's handler time, plus `dispatch`
    per interrupt for the entry and exit the probe cannot see): the task's
    own CPU time, in the loop.  Background context: may allocate."""

    def __init__(self, fn, probe, dispatch, n):
        self.fn = fn
        self.probe = probe
        self.dispatch = dispatch
        self.cpu = array("i", [0] * n)
        self.k = 0
        self.at = array("i", [0, -1])        # when the costliest call started (ticks_us), its cost

    def __call__(self):
        s = self.probe.s
        t0 = tu()
        i0 = s[7]
        n0 = s[0]
        self.fn()
        i1 = s[7]
        n1 = s[0]
        w = td(tu(), t0)
        if self.k < len(self.cpu):
            c = w - (i1 - i0) - self.dispatch * (n1 - n0)
            self.cpu[self.k] = c
            self.k += 1
            if c > self.at[1]:
                self.at[0] = t0
                self.at[1] = c

    def summary(self, t_start):
        out = summary(self.cpu[:self.k])
        if self.k:
            out["max_at_ms"] = td(self.at[0], t_start) / 1000
        return out


class Plant:
    """A motor for the running loop, stepped before each tick (in the tick's
    interrupt, allocation-free): speed = the back-EMF the firmware itself
    estimates, (duty * vbat - I * R) / Ke, through a 40 ms lag; tach edges
    (2 a stroke) through the HAL's own edge handler, on tick boundaries
    (1 ms quantization)."""

    def __init__(self, m, edge, duty_i, ff_q10, vbat_mv, ir_mv, fn=None):
        self.p = array("i", [0, 0, duty_i, ff_q10, vbat_mv, ir_mv])   # speed cHz, phase, constants
        self.m = m
        self.edge = edge
        self.fn = fn

    def step(self):
        p = self.p
        emf = ((self.m[p[2]] * p[4]) >> 16) - p[5]
        sp = p[0]
        sp += (((emf << 10) // p[3] if emf > 0 else 0) - sp) // 40
        p[0] = sp
        ph = p[1] + 2 * sp
        if ph >= 100000:
            ph -= 100000
            self.edge(None)
        p[1] = ph

    def tick(self):
        # the plain running loop's ticker function: the model, then the tick
        self.step()
        self.fn()


class Probe:
    """Wraps the scheduler's tick as the ticker's function.  Per tick it
    histograms the lateness of the interrupt against the scheduler's
    deadline, |start-to-start period - nominal|, the duration of
    Scheduler.tick() and of the step inside it (the scheduler's EXEC_LAST).
    Before the tick it only reads the clock and the deadline (~10 us), so
    the scheduler's own lateness figures grow by that much.  Runs in the hard
    interrupt: nothing allocates (small ints, preallocated arrays, a bound
    method: a closure over more than 5 - n_args variables would allocate its
    argument array on every call)."""

    def __init__(self, sched, period, exec_last):
        self.sched = sched
        self.period = period
        self.fn = sched.tick
        self.stats = sched.stats
        self.exec_last = exec_last
        self.h_late = array("i", [0] * HIST)
        self.h_per = array("i", [0] * HIST)
        self.h_tick = array("i", [0] * HIST)
        self.h_step = array("i", [0] * HIST)
        # 0 ticks, 1 late min, 2 late max, 3 previous entry, 4 period deviation max,
        # 5 tick max, 6 step max, 7 handler time so far (us, entry to exit, probe included),
        # 8 the first tick's lateness, 9 when the largest period deviation ended (ticks_us),
        # 10 the longest handler (entry to exit, probe and plant included)
        self.s = array("i", [0, 0x3FFFFFFF, -0x3FFFFFFF, 0, 0, 0, 0, 0, 0, 0, 0])
        self.plant = None

    def tick(self):
        t = tu()
        if self.plant is not None:
            self.plant.step()
        d = self.sched.deadline
        if d is None:                        # the first interrupt sets the schedule
            d = t
        t1 = tu()
        self.fn()
        e = td(tu(), t1)
        s = self.s
        top = HIST - 1
        late = td(t, d)
        if late < s[1]:
            s[1] = late
        if late > s[2]:
            s[2] = late
        if s[0] == 0:
            s[8] = late
        self.h_late[0 if late < 0 else (late if late < top else top)] += 1
        if s[0] > 0:
            dev = td(t, s[3]) - self.period
            if dev < 0:
                dev = -dev
            if dev > s[4]:
                s[4] = dev
                s[9] = t
            self.h_per[dev if dev < top else top] += 1
        s[3] = t
        if e > s[5]:
            s[5] = e
        self.h_tick[e if e < top else top] += 1
        x = self.stats[self.exec_last]
        if x > s[6]:
            s[6] = x
        self.h_step[0 if x < 0 else (x if x < top else top)] += 1
        s[0] += 1
        h = td(tu(), t)
        s[7] += h
        if h > s[10]:
            s[10] = h

    def report(self, t_start):
        s = self.s
        return {"ticks": s[0], "first_late": s[8], "period_dev_max_at_ms": td(s[9], t_start) / 1000,
                "handler_max_us": s[10],
                "late": hist_summary(self.h_late, s[1], s[2], s[0]),
                "period_dev": hist_summary(self.h_per, None, s[4], max(0, s[0] - 1)),
                "tick": hist_summary(self.h_tick, None, s[5], s[0]),
                "step": hist_summary(self.h_step, None, s[6], s[0])}


class Bench:
    def __init__(self):
        progress("building the App as pen.startup.run does")
        from board import BOARD

        from pen import tick as T
        from pen.app import WATCHDOG_MS, App
        from pen.eventlog import EventLog
        from pen.link import StdioLink
        from pen.settings import Settings
        from pen.startup import hal_class
        self.T = T
        self.board = BOARD
        self.watchdog_ms = WATCHDOG_MS
        gc.collect()
        hal = hal_class(BOARD)(BOARD)
        self.hal = hal
        self.fixture_inputs()
        # The watchdog would reset a real chip during the one-task-at-a-time
        # measurements (nothing feeds it there): armed only for the loops.
        hal.start_watchdog = lambda ms: None
        app = App(BOARD, hal, hal.clock, settings=Settings(), log=EventLog(),
                  link=StdioLink(budget=BOARD.get("serial_bytes_per_beat", 256)))
        integrity = None
        try:
            from pen.integrity import check_manifest
            integrity = check_manifest(required=BOARD["port"] != "sim")
        except Exception as e:
            integrity = "check failed: " + _err(e)
        app.boot(integrity_problem=integrity)
        del hal.start_watchdog            # the class's method again
        sys.modules.pop("pen.board", None)   # as pen.startup.run: boot-only code
        sys.modules.pop("pen.integrity", None)
        self.app = app
        self.m = app.m
        self.dispatch_us = 17.0          # an empty hard-timer interrupt (irq_cost() measures it)
        self._armed = False
        try:
            from pen import scheduler as S
            self.exec_last = getattr(S, "EXEC_LAST", 5)
        except Exception:
            self.exec_last = 5
        self.fixture_adc()
        gc.collect()
        # the timer read itself: t0 = ticks_us(); t1 = ticks_us()
        d = array("i", [0] * 64)
        for i in range(64):
            t0 = tu()
            t1 = tu()
            d[i] = td(t1, t0)
        self.ovh = int(summary(d)["median"])
        emit("setup", board=BOARD["name"], port=BOARD["port"], period_us=app.period_us,
             beat_ticks=app.beat_ticks, tach_input=BOARD.get("tach_input", "pio"),
             freq=machine.freq(), mpy=sys.implementation._mpy if hasattr(sys.implementation, "_mpy") else None,
             version=sys.version, timer_overhead_us=self.ovh, integrity=integrity,
             events=[list(e) for e in app.events], mem_free=gc.mem_free(), mem_alloc=gc.mem_alloc(),
             tasks=[[t[0], getattr(t[2], "__name__", "?")] for t in app.tasks],
             status=app.core.status())

    # ---- the bench fixture: an idle pen on the bench ---------------------------
    def fixture_inputs(self):
        # The emulator models no pull-ups and nothing is attached: every input
        # reads low (all buttons held, no usable cartridge code).  Force the
        # buttons released and the cartridge ID to code 2 with the GPIO input
        # override (IO_BANK0 GPIOn_CTRL.INOVER), which the SIO input reads;
        # cart_present stays low (seated).  Set after the HAL configured the pins
        # (Pin() rewrites CTRL).
        P = self.board["pins"]
        high = ["btn_power", "btn_speed_up", "btn_speed_down", "btn_depth_up", "btn_depth_down"]
        for i in range(3):
            if not CART_CODE & (1 << i):
                high.append("cart_id" + str(i))     # a 0 bit reads high (the HAL inverts)
        for k in high:
            a = _IO_BANK0 + 8 * P[k] + 4
            machine.mem32[a] = (machine.mem32[a] & ~(3 << 16)) | (_IN_HIGH << 16)

    def fixture_adc(self):
        # The emulated ADC reads 0 on every channel: a 0 V battery (start
        # refused), -50 degC, sensors far apart.  Shift the conversion offsets
        # (memory parameters, the same arithmetic every tick) so that 0 counts
        # read 7.6 V, 30 degC and 250 um on both depth sensors.
        T = self.T
        m = self.m
        for ofs, q16, value in ((T.P_VBAT_OFS, T.P_VBAT_Q16, 7600), (T.P_TEMP_OFS, T.P_TEMP_Q16, 300),
                                (T.P_DA_OFS, T.P_DA_Q16, 250), (T.P_DB_OFS, T.P_DB_Q16, 250)):
            m[ofs] = -((value << 16) // m[q16])

    # ---- one task at a time ----------------------------------------------------
    def measure(self, name, fn, reps, group, every_us, before=None, after=None, note=None, collect=True):
        """Time fn() `reps` times (t0 = ticks_us(); fn(); t1 = ticks_us(), the
        timer read subtracted); before/after run untimed around each call."""
        try:
            if collect:
                gc.collect()
            d = array("i", [0] * reps)
            ovh = self.ovh
            extra = None
            for i in range(reps):
                if before is not None:
                    before(i)
                t0 = tu()
                fn()
                t1 = tu()
                d[i] = td(t1, t0) - ovh
                if after is not None:
                    x = after(i)
                    if x is not None:
                        if extra is None:
                            extra = array("i", [0] * reps)
                        extra[i] = x
            r = summary(d)
            emit("cost", name=name, group=group, every_us=every_us, note=note, **r)
            return extra
        except Exception as e:
            emit("cost", name=name, group=group, every_us=every_us, error=_err(e), n=0)
            sys.print_exception(e)
            return None

    def _tick_costs(self, what, n, note, running=False):
        """Scheduler.tick() and the step inside it (the scheduler's own
        EXEC_LAST), n ticks paced at the period by a loop as lean as the
        scheduler's run(): the background's heartbeat, a busy wait for the
        deadline, the tick timed."""
        app, m, T = self.app, self.m, self.T
        sched = app.sched
        st = sched.stats
        xl = self.exec_last
        hb = T.I_HEARTBEAT
        s_state = T.S_STATE
        tick = sched.tick
        d = array("i", [0] * n)
        e = array("i", [0] * n)
        states = array("i", [0] * n)
        gc.collect()
        sched.start()
        sched.reset_stats()
        for i in range(n):
            m[hb] = (m[hb] + 1) & 0x3FFFFFFF
            while td(sched.deadline, tu()) > 0:
                pass
            t0 = tu()
            tick()
            t1 = tu()
            d[i] = td(t1, t0)
            e[i] = st[xl]
            states[i] = m[s_state]
        ovh = self.ovh
        for i in range(n):
            d[i] -= ovh
            e[i] -= ovh
        rep = sched.report()
        emit("cost", name="Scheduler.tick(), " + what, group="tick", every_us=app.period_us,
             note="step + bookkeeping, " + note, **summary(d))
        emit("cost", name="control step, " + what, group="tick", every_us=app.period_us,
             note="HAL read + viper tick + HAL write, as timed by the scheduler; " + note, **summary(e))
        if running:
            ok = sum(1 for x in states if x == T.ST_RUNNING)
            emit("info", what="running", ticks=n, running_ticks=ok, duty_end=m[T.O_DUTY], faults=m[T.S_FAULTS],
                 overruns=rep["overruns"], missed=rep["missed"],
                 error=None if ok == n else "the motor ran {} of the {} ticks measured".format(ok, n))
        if rep["overruns"]:
            emit("info", what="paced ticks, " + what,
                 note="{} overruns: tick + this loop's own work > period".format(rep["overruns"]))

    def _paced(self, i=0):
        # the background's heartbeat (else the tick's software watchdog
        # latches after heartbeat_timeout_ms), then wait for the deadline
        m = self.m
        hb = self.T.I_HEARTBEAT
        m[hb] = (m[hb] + 1) & 0x3FFFFFFF
        self.app.clock.wait_until(self.app.sched.deadline, self.app.period_us)

    def _healthy(self, when, paced):
        """Clear faults a measurement left latched (reported), ticking a few
        periods so that the tick takes the clear."""
        app, m, T = self.app, self.m, self.T
        if not m[T.S_FAULTS]:
            return
        from pen import faults
        emit("info", what="faults latched " + when, error=", ".join(faults.names(m[T.S_FAULTS])))
        try:
            app.core.stop()
            app.core.clear()
            app.sched.start()
            for _ in range(10):
                paced(0)
                app.sched.tick()
        except Exception as e:
            emit("info", what="clearing faults", error=_err(e))

    def _drain(self):
        link = self.app.link
        for _ in range(2000):
            if not link.pending():
                return
            link.pump()
            time.sleep_ms(1)

    def costs(self, reps=200):
        app, hal, m, T = self.app, self.hal, self.m, self.T
        period = app.period_us
        beat = 10000
        few = max(3, reps // 20)
        some = max(5, reps // 10)
        sched = app.sched

        progress("control step, idle ({} paced ticks)".format(reps))

        paced = self._paced
        self._tick_costs("motor idle", reps, "paced at the period")
        self.measure("HAL read (RP2HAL.read)", lambda: hal.read(m), reps, "tick-part", period)
        self.measure("viper tick (pen.tick.tick)", lambda: T.tick(m), reps, "tick-part", period)
        self.measure("HAL write (RP2HAL.write)", lambda: hal.write(m), reps, "tick-part", period)
        self.measure("App.step() unpaced, idle", app.step, reps, "tick-part", period)

        # Motor running: no tach on the emulator, so the stall check ends a
        # run after the start grace (300 ms): measure within it.
        n_run = min(250, reps + 50)
        refusal = None
        try:
            refusal = app.core.start_refusal()
        except Exception as e:
            refusal = _err(e)
        if refusal:
            try:
                from pen import faults
                refusal = "{} ({})".format(faults.names(refusal, faults.REFUSALS) if hasattr(faults, "names")
                                           else refusal, faults.names(m[T.S_FAULTS]))
            except Exception:
                pass
            emit("cost", name="Scheduler.tick(), motor running", group="tick", every_us=period, n=0,
                 error="start refused: {}".format(refusal))
        else:
            progress("control step, motor running ({} paced ticks in the start grace)".format(n_run))
            try:
                gc.collect()
                app.core.start()
                sched.start()
                for _ in range(5):           # state idle -> running
                    paced(0)
                    sched.tick()
                self._tick_costs("motor running", n_run, "soft start, PI and depth loop active, no tach",
                                 running=True)
            except Exception as e:
                emit("cost", name="Scheduler.tick(), motor running", group="tick", every_us=period, n=0,
                     error=_err(e))
            app.core.stop()
            for _ in range(20):
                paced(0)
                sched.tick()
        self._healthy("after the tick measurements", paced)
        sched.reset_stats()

        progress("background tasks")
        saved_beat = app._beat
        app._beat = 1 << 29
        self.measure("background pass, no beat due", lambda: app.background(None, 1), reps, "bg-pass", period,
                     note="heartbeat + beat countdown, after every tick")
        app._beat = saved_beat
        if app.ui is not None:
            self.measure("App._ui_task", app._ui_task, reps, "beat", beat, note="buttons, UI, LEDs")
        if app.protocol is not None:
            self.measure("App._link_task, nothing to do", app._link_task, reps, "beat", beat,
                         note="poll the serial input, protocol beat, pump")

            def fault_before(i):
                app._store_left = 1 << 20
            self.measure("App._fault_task, typical beat", app._fault_task, reps, "beat", beat, before=fault_before)

            def store_before(i):
                app._store_left = 0
            self.measure("App._fault_task, store beat (1/s, nothing changed)", app._fault_task, some, "beat",
                         1000000, before=store_before, note="save(): capture + compare, no write")

            proto = app.protocol

            def tele_before(i):
                self._drain()
                proto.tele_every = 1
                proto._tele_left = 0
            self.measure("App._link_task, telemetry line due", app._link_task, some, "beat", 100000,
                         before=tele_before, note="build a `T {...}` line, pump 256 B to USB (10 Hz default)")
            proto.tele_every = 0
            self._drain()

            def drain(i):
                self._drain()
            self.measure("protocol `status`", lambda: proto.line(b"status"), some, "command", None,
                         before=drain, note="parse + snapshot + JSON + queue")
            self.measure("protocol `info`", lambda: proto.line(b"info"), few, "command", None,
                         before=drain, note="parse + JSON + queue")
            self._drain()

            def level_before(i):
                app.core.set_level(2 - i % 2)     # level 1 <-> 2: a changed setting, a real write
            self.measure("App.save(), settings changed", app.save, few, "store", None, before=level_before,
                         note="flash erase/program take no time in the emulator")
            app.core.set_level(1)
            app.save()
        self.measure("App._memory_task (gc.collect)", app._memory_task, few, "gc", 1000000, collect=False,
                     note="app heap live: {} B".format(gc.mem_alloc()))

        # One whole 10 ms beat (ui, link, fault; no collection, no store).
        mem_tasks = [t for t in app.tasks if t[0] >= 100]

        def beat_before(i):
            app._beat = 1
            app._store_left = 1 << 20
            for t in mem_tasks:
                t[1] = 1 << 20
        self.measure("background beat (all 10 ms tasks)", lambda: app.background(None, 1), reps, "beat-total",
                     beat, before=beat_before)
        for t in mem_tasks:
            t[1] = t[0]
        app._beat = app.beat_ticks
        app._store_left = 100
        emit("info", what="heap", mem_free=gc.mem_free(), mem_alloc=gc.mem_alloc(),
             heap_live_max=app.heap_live_max, faults=m[T.S_FAULTS], status=app.core.status())

    # ---- the loop in its real structure ----------------------------------------
    def _spin(self, k):
        t0 = tu()
        for _ in range(k):
            pass
        return td(tu(), t0)

    def _arm(self):
        # The hardware watchdog as app.boot() arms it; the tick feeds it.
        try:
            self.hal.start_watchdog(self.watchdog_ms)
            return True
        except Exception as e:
            emit("info", what="watchdog", error=_err(e))
            return False

    def _disarm(self, armed):
        if armed:
            try:
                self.hal._watchdog_stop()         # RP2HAL: CTRL.ENABLE cleared
            except Exception as e:
                emit("info", what="watchdog stop", error=_err(e))
            self.hal.wdt = None

    def irq_cost(self, ms=200):
        """The whole cost of one tick interrupt (dispatch + App's ticker as
        App.run starts it), from the CPU time a busy loop loses to it."""
        app, hal, sched = self.app, self.hal, self.app.sched
        k = 2000
        base = self._spin(k)
        k = k * ms * 1000 // max(1, base)
        base = self._spin(k)
        sched.reset_stats()
        armed = self._arm()
        sched.start(irq=True)
        hal.start_ticker(app.period_us, sched.tick)
        try:
            n0 = sched.stats[0]
            took = self._spin(k)
            n1 = sched.stats[0]
        finally:
            hal.stop_ticker()
            sched.irq = False
            self._disarm(armed)
        ticks = n1 - n0
        per = (took - base) / ticks if ticks else None
        # the same with an empty hard-timer handler: the interrupt's own cost
        cnt = Counter()
        t = machine.Timer()
        t.init(mode=machine.Timer.PERIODIC, period=app.period_us // 1000 or 1, callback=cnt.hit, hard=True)
        try:
            took0 = self._spin(k)
        finally:
            t.deinit()
        empty = (took0 - base) / cnt.n if cnt.n else None
        if empty is not None and empty > 0:
            self.dispatch_us = empty
        emit("irq", spin_us=base, spin_with_ticker_us=took, ticks=ticks, per_tick_us=per,
             share=(took - base) / took if took else None, empty_handler_us=empty, empty_irqs=cnt.n)
        sched.reset_stats()

    def loop(self, label, seconds, plain_seconds=2, host=False, status_every_ms=100, tele_hz=10):
        """The loop as App.run runs it on rp2: the tick in a hard timer
        interrupt, the background driven like App._serve.  Two phases:
        instrumented for `seconds` (the probe around the tick, every
        background pass and task timed), then plain for `plain_seconds` (the
        ticker calls Scheduler.tick itself, nothing timed): the scheduler's
        own statistics and the CPU share the background leaves idle, without
        the instruments' cost."""
        app = self.app
        progress("loop '{}': {} s instrumented + {} s plain, simulated ({})".format(
            label, seconds, plain_seconds, "tele on {} Hz + status every {} ms".format(tele_hz, status_every_ms)
            if host else "motor idle, host silent"))
        idle_pass_us = self._before_loop("before the loop")
        link, proto = app.link, app.protocol
        polls = [0, 0]                      # status lines sent, next at (ms)
        if host and proto is not None:
            proto.line(b"tele on " + str(tele_hz).encode())
            orig_read = link.read
            m, period, s_ticks = self.m, app.period_us, self.T.S_TICKS

            def read():
                data = orig_read()
                now = m[s_ticks] * period // 1000
                if now >= polls[1]:
                    polls[1] = now + status_every_ms
                    polls[0] += 1
                    return data + b"status\n"
                return data
            link.read = read
        try:
            out = self._run(seconds, True, idle_pass_us)
            if plain_seconds > 0:
                plain = self._run(plain_seconds, False, idle_pass_us)
                out["plain"] = {"seconds": plain_seconds, "sched": plain["sched"], "idle_share": plain["idle_share"],
                                "passes": plain["passes"], "behind_max": plain["behind_max"],
                                "sim_us": plain["sim_us"]}
        finally:
            if host and proto is not None:
                del link.read
                proto.line(b"tele off")
        self._drain()
        gc.collect()
        self._summarize(out)
        emit("loop", label=label, seconds=seconds, host=host, tele_hz=tele_hz if host else 0,
             status_polls=polls[0], idle_pass_us=idle_pass_us, heap_live_max=app.heap_live_max,
             mem_free=gc.mem_free(), faults=self.m[self.T.S_FAULTS], state=self.m[self.T.S_STATE],
             dropped=link.dropped if link is not None else None,
             tele_skipped=getattr(proto, "tele_skipped", None), **out)

    def _before_loop(self, what):
        """A healthy pen, nothing queued for the flash (the idle pen writes
        nothing: a write runs with interrupts off; the kit's flash takes no
        time, a chip's sector erase ~45 ms, with the motor stopped only), the
        serial output drained; returns the cost of an idle background pass."""
        self._healthy(what, self._paced)
        try:
            self.app.save()
        except Exception as e:
            emit("info", what="save before loop", error=_err(e))
        self._drain()
        return self._idle_pass_us()

    def _idle_pass_us(self):
        # The cost of one idle pass of _run's loop (no tick seen), with no
        # ticker: idle passes x this = the CPU time the background left over.
        m = self.m
        st_ticks = self.T.S_TICKS
        seen = m[st_ticks]
        idle = 0
        t_start = tu()
        end = ta(t_start, 20000)
        while td(end, tu()) > 0:
            n = m[st_ticks]
            if n != seen:
                seen = n
            else:
                idle += 1
        return td(tu(), t_start) / idle

    def _run(self, seconds, instrumented, idle_pass_us, model=None, swap=False, keep=False):
        """One phase of a loop.  model: a Plant stepped in the tick's
        interrupt.  swap: the ticker is already running (keep=True of the
        phase before): its function is exchanged (MachineHAL._tick_fn), so
        the tick never pauses (a running motor would see a stall); keep: leave
        the ticker running at the end for the next phase."""
        app, hal, sched, m = self.app, self.hal, self.app.sched, self.m
        period = app.period_us
        gc.collect()                             # the buffers below want whole blocks
        probe = Probe(sched, period, self.exec_last) if instrumented else None
        if probe is not None:
            probe.plant = model
        nbeat = seconds * 1000 // 10 + 64 if instrumented else 0
        npass = min(2000, seconds * 1000) if instrumented else 0
        # (from zero bytes: no list of npass ints on the way, half the heap)
        beats = array("i", bytes(4 * nbeat))     # wall time of passes that ran the tasks
        beats_cpu = array("i", bytes(4 * nbeat))  # ... minus the tick interrupts meanwhile
        pas = array("i", bytes(4 * npass))       # the same for passes with no task due
        pas_cpu = array("i", bytes(4 * npass))
        nb = npas = 0
        timed = []
        if instrumented:
            for t in app.tasks:
                w = Timed(t[2], probe, int(self.dispatch_us + 0.5), seconds * 1000 // (t[0] * 10) + 16)
                timed.append((t, t[2], w))
                t[2] = w
        ps = probe.s if instrumented else array("i", [0] * 8)
        dispatch = int(self.dispatch_us + 0.5)
        behind_max = passes = idle = 0
        st_ticks = self.T.S_TICKS
        background = app.background
        fn = probe.tick if instrumented else (model.tick if model is not None else sched.tick)
        sched.reset_stats()
        if swap:
            hal._tick_fn = fn
        else:
            self._armed = self._arm()
            sched.start(irq=True)
            hal.start_ticker(period, fn)
        t_start = tu()
        end = ta(t_start, seconds * 1000000)
        seen = m[st_ticks]
        try:
            if instrumented:
                while td(end, tu()) > 0:
                    n = m[st_ticks]
                    if n != seen:
                        k = (n - seen) & 0x3FFFFFFF
                        if k > behind_max:
                            behind_max = k
                        passes += 1
                        ran = app._beat - k <= 0
                        t0 = tu()
                        i0 = ps[7]
                        n0 = ps[0]
                        background(None, k)
                        i1 = ps[7]
                        n1 = ps[0]
                        w = td(tu(), t0)
                        c = w - (i1 - i0) - dispatch * (n1 - n0)
                        if ran:
                            if nb < nbeat:
                                beats[nb] = w
                                beats_cpu[nb] = c
                                nb += 1
                        elif npas < npass:
                            pas[npas] = w
                            pas_cpu[npas] = c
                            npas += 1
                        seen = n
                    else:
                        idle += 1
            else:
                while td(end, tu()) > 0:
                    n = m[st_ticks]
                    if n != seen:
                        k = (n - seen) & 0x3FFFFFFF
                        if k > behind_max:
                            behind_max = k
                        passes += 1
                        background(None, k)
                        seen = n
                    else:
                        idle += 1
        finally:
            if keep and model is not None:
                hal._tick_fn = model.tick
            else:
                hal.stop_ticker()
            rep = sched.report()
            if not keep:
                sched.irq = False
                self._disarm(self._armed)
            for t, orig, _w in timed:
                t[2] = orig
        wall = td(tu(), t_start)
        out = {"sim_us": wall, "sched": rep, "passes": passes, "behind_max": behind_max, "idle_passes": idle,
               "idle_share": idle * idle_pass_us / wall}
        if instrumented:
            # summarized by _summarize() once the tick has stopped: with a
            # phase to follow, the background (the heartbeat) must go on now
            out["_raw"] = (probe, t_start, beats[:nb], beats_cpu[:nb], pas[:npas], pas_cpu[:npas], dispatch, timed)
        return out

    @staticmethod
    def _summarize(out):
        raw = out.pop("_raw", None)
        if raw is None:
            return out
        probe, t_start, beats, beats_cpu, pas, pas_cpu, dispatch, timed = raw
        out.update(probe=probe.report(t_start), beat=summary(beats), beat_cpu=summary(beats_cpu),
                   bg_pass=summary(pas), bg_pass_cpu=summary(pas_cpu), dispatch_us=dispatch,
                   tasks={getattr(orig, "__name__", "?"): w.summary(t_start) for t, orig, w in timed})
        return out

    def loop_running(self, seconds, plain_seconds=2):
        """The loop with the motor running (level 1): a motor model in the
        tick's interrupt feeds tach edges (Plant), the current reads a
        constant PLANT_MA (ADC offset fixture).  Instrumented, then plain
        (the ticker runs the model and Scheduler.tick, nothing timed)."""
        app, m, T = self.app, self.m, self.T
        progress("loop 'running': {} s instrumented + {} s plain, simulated (motor at level 1, modelled "
                 "tach)".format(seconds, plain_seconds))
        if getattr(self.hal, "irq_tach", None) is None:
            emit("info", what="loop 'running'", error="the HAL has no interrupt tachometer (board tach_input)")
            return
        idle_pass_us = self._before_loop("before the running loop")
        cur_ofs = m[T.P_CUR_OFS]
        m[T.P_CUR_OFS] = -((PLANT_MA << 16) // m[T.P_CUR_Q16])
        out = None
        st = None
        faults_end = state_end = None
        try:
            app.core.set_level(1)
            app.core.start()
            model = Plant(m, self.hal.irq_tach._edge, T.O_DUTY, m[T.P_FF_Q10], PLANT_VBAT_MV,
                          PLANT_MA * m[T.P_R_MOHM] // 1000, app.sched.tick)
            # phases switch without pausing the tick (a pause reads as a stall)
            keep = hasattr(self.hal, "_tick_fn")
            out = self._run(seconds, True, idle_pass_us, model, keep=keep)
            if keep and plain_seconds > 0:
                plain = self._run(plain_seconds, False, idle_pass_us, model, swap=True, keep=True)
                out["plain"] = {"seconds": plain_seconds, "sched": plain["sched"], "idle_share": plain["idle_share"],
                                "passes": plain["passes"], "behind_max": plain["behind_max"],
                                "sim_us": plain["sim_us"]}
            faults_end, state_end = m[T.S_FAULTS], m[T.S_STATE]
            st = app.core.status()
        except Exception as e:
            emit("info", what="loop 'running'", error=_err(e))
        finally:
            # stop the motor with the tick still running (it brakes), then the ticker
            app.core.stop()
            t0 = tu()
            while td(tu(), t0) < 100000:
                app.background(None, 1)      # the heartbeat
            self.hal.stop_ticker()
            self.hal.off()
            app.sched.irq = False
            self._disarm(self._armed)
            m[T.P_CUR_OFS] = cur_ofs
            self._healthy("after the running loop", self._paced)
        for _ in range(5):
            self._paced()
            app.sched.tick()
        if out is None:
            return
        self._drain()
        gc.collect()
        self._summarize(out)
        emit("loop", label="running", seconds=seconds, host=False, tele_hz=0, status_polls=0,
             idle_pass_us=idle_pass_us, heap_live_max=app.heap_live_max, mem_free=gc.mem_free(),
             faults=faults_end, state=state_end, end_status=st, **out)

    def done(self):
        self.hal.off()
        emit("done", mem_free=gc.mem_free(), faults=self.m[self.T.S_FAULTS])
