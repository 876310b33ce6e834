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
        # 5 tick max, 6 step max
        self.s = array("i", [0, 0x3FFFFFFF, -0x3FFFFFFF, 0, 0, 0, 0])

    def tick(self):
        t = tu()
        d = self.sched.deadline
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
        self.h_late[0 if late < 0 else (late if late < top else top)] += 1
        if s[0] > 0:
            dev = td(t, s[3]) - self.period
            if dev < 0:
                dev = -dev
            if dev > s[4]:
                s[4] = dev
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

    def report(self):
        s = self.s
        return {"ticks": s[0], "late": hist_summary(self.h_late, s[1], s[2], s[0]),
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
        exec_last = self.exec_last
        st = sched.stats
        clock = app.clock

        progress("control step, idle ({} paced ticks)".format(reps))

        def paced(i):
            clock.wait_until(sched.deadline, period)

        def step_of_tick(i):
            return st[exec_last] - self.ovh      # the step, timed by the scheduler itself

        sched.start()
        steps = self.measure("Scheduler.tick(), motor idle", sched.tick, reps, "tick", period,
                             before=paced, after=step_of_tick, note="step + bookkeeping, paced at the period")
        if steps is not None:
            emit("cost", name="control step, motor idle", group="tick", every_us=period,
                 note="HAL read + viper tick + HAL write, as timed by the scheduler", **summary(steps))
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
            emit("cost", name="Scheduler.tick(), motor running", group="tick", every_us=period, n=0,
                 error="start refused: {}".format(refusal))
        else:
            progress("control step, motor running ({} paced ticks in the start grace)".format(n_run))
            states = []

            def run_after(i):
                states.append(m[T.S_STATE])
                return st[exec_last] - self.ovh
            try:
                app.core.start()
                sched.start()
                for _ in range(5):           # state idle -> running
                    paced(0)
                    sched.tick()
                steps = self.measure("Scheduler.tick(), motor running", sched.tick, n_run, "tick", period,
                                     before=paced, after=run_after, collect=False,
                                     note="soft start, PI and depth loop active, no tach")
                if steps is not None:
                    emit("cost", name="control step, motor running", group="tick", every_us=period,
                         note="HAL read + viper tick + HAL write (soft start, no tach)", **summary(steps))
                ok = sum(1 for s in states if s == T.ST_RUNNING)
                emit("info", what="running", ticks=len(states), running_ticks=ok, duty_end=m[T.O_DUTY],
                     faults=m[T.S_FAULTS])
            except Exception as e:
                emit("cost", name="Scheduler.tick(), motor running", group="tick", every_us=period, n=0,
                     error=_err(e))
            app.core.stop()
            for _ in range(20):
                paced(0)
                sched.tick()
            if m[T.S_FAULTS]:
                app.core.clear()
                for _ in range(5):
                    paced(0)
                    sched.tick()
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
        emit("irq", spin_us=base, spin_with_ticker_us=took, ticks=ticks, per_tick_us=per,
             share=(took - base) / took if took else None, empty_handler_us=empty, empty_irqs=cnt.n)
        sched.reset_stats()

    def loop(self, label, seconds, host=False, status_every_ms=100, tele_hz=10):
        app, hal, sched, m, T = self.app, self.hal, self.app.sched, self.m, self.T
        period = app.period_us
        progress("loop '{}' for {} s simulated ({})".format(
            label, seconds, "tele on {} Hz + status every {} ms".format(tele_hz, status_every_ms)
            if host else "motor idle, host silent"))
        gc.collect()
        probe = Probe(sched, period, self.exec_last)
        beats = array("i", [0] * (seconds * 1000 // 10 + 64))
        nb = 0
        behind_max = 0
        passes = 0
        link = app.link
        proto = app.protocol
        orig_read = None
        polls = [0, 0]                      # status sent, next at (ms)
        if host and proto is not None:
            proto.line(b"tele on " + str(tele_hz).encode())
            orig_read = link.read

            def read():
                data = orig_read()
                now = m[T.S_TICKS] * period // 1000
                if now >= polls[1]:
                    polls[1] = now + status_every_ms
                    polls[0] += 1
                    return data + b"status\n"
                return data
            link.read = read
        sched.reset_stats()
        wd = self._arm()
        background = app.background
        sched.start(irq=True)
        hal.start_ticker(period, probe.tick)
        t_start = tu()
        end = ta(t_start, seconds * 1000000)
        seen = m[T.S_TICKS]
        try:
            while td(end, tu()) > 0:
                n = m[T.S_TICKS]
                if n != seen:
                    k = (n - seen) & 0x3FFFFFFF
                    if k > behind_max:
                        behind_max = k
                    passes += 1
                    ran = app._beat - k <= 0
                    t0 = tu()
                    background(None, k)
                    if ran and nb < len(beats):
                        beats[nb] = td(tu(), t0)
                        nb += 1
                    seen = n
        finally:
            hal.stop_ticker()
            sched.irq = False
            if orig_read is not None:
                del link.read
                proto.line(b"tele off")
            self._disarm(wd)
        wall = td(tu(), t_start)
        rep = sched.report()
        self._drain()
        gc.collect()
        emit("loop", label=label, seconds=seconds, sim_us=wall, host=host,
             tele_hz=tele_hz if host else 0, status_polls=polls[0], sched=rep,
             probe=probe.report(),
             beat=summary(beats[:nb]), passes=passes, behind_max=behind_max,
             heap_live_max=app.heap_live_max, mem_free=gc.mem_free(),
             faults=m[T.S_FAULTS], state=m[T.S_STATE], dropped=link.dropped if link is not None else None,
             tele_skipped=getattr(proto, "tele_skipped", None))

    def done(self):
        self.hal.off()
        emit("done", mem_free=gc.mem_free(), faults=self.m[self.T.S_FAULTS])
