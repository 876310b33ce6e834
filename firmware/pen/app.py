# Wiring: one pen = core + HAL + scheduler, plus the background tasks that
# run in the slack between ticks (UI, protocol, storage, watchdog).  The same
# wiring runs on the pen (main.py), in the simulator and in the virtual pen.
import gc

from pen import faults
from pen import tick as T
from pen.core import Core
from pen.scheduler import Scheduler
from pen.ui import SAMPLE_MS, UI

# Hardware watchdog timeout: how long the motor can run unsupervised if the
# loop hangs.  Fed every 10 ms from the loop; the longest legitimate stop is a
# flash sector write with the motor off (~50 ms on an RP2040).
WATCHDOG_MS = 250


class App:
    def __init__(self, board, hal, clock, ui=True, settings=None, log=None, link=None, **core_kw):
        self.board = board
        self.hal = hal
        self.clock = clock
        self.settings = settings
        self.log = log
        self.link = link
        self.core = core = Core(board, **core_kw)
        self.m = m = core.m
        self.period_us = board["control_period_us"]
        read = hal.read
        write = hal.write
        tick = T.tick

        def step():
            read(m)
            tick(m)
            write(m)

        self.step = step
        self.sched = Scheduler(clock, self.period_us, step, m, background=self.background,
                               trip=20 * board.get("overrun_trip", 5))   # weight 20 per overrun
        # Background tasks run on a 10 ms beat so that a tick with nothing due
        # costs one decrement; each task: [period in beats, beats left, fn].
        self.beat_ticks = max(1, 10000 // self.period_us)
        self._beat = self.beat_ticks
        self.tasks = []
        self.events = []         # (ms, kind, detail), newest last, for tests and the display
        self._faults_seen = 0
        self.ui = None
        if ui:
            auto_off = settings.values["auto_off_s"] if settings else 300
            self.ui = UI(core, auto_off_s=auto_off, on_event=self.event)
            self.every(SAMPLE_MS, self._ui_task)
        self.service = None              # pen.service.Service, after boot()
        self.protocol = None
        if link is not None:
            from pen.protocol import Protocol
            self.protocol = Protocol(self, link.write, settings, log)
            self.every(10, self._link_task)
        self.every(10, self._fault_task)
        self.every(10, self._watchdog_task)
        if settings is not None or log is not None:
            self.every(1000, self._store_task)
        self.heap_live_max = -1          # most heap in use after a collection (-1: not measured)
        self.every(1000, self._memory_task)

    # ---- boot ------------------------------------------------------------------
    def boot(self, integrity_problem=None):
        """Before the loop: motor off, settings, log, reset cause, watchdog."""
        hal, core, m = self.hal, self.core, self.m
        hal.off()
        hal.read(m)                      # cartridge state for the settings
        cause = hal.reset_cause()
        if self.log is not None:
            self.log.open()
        self.event("boot", "reset={} board={}".format(cause, self.board["name"]))
        key = None
        if self.settings is not None:
            from pen.service import load_key
            key = load_key()
            if not self.settings.load():
                core.raise_fault(T.F_SETTINGS)
                self.event("settings", "; ".join(self.settings.problems)[:100] or "invalid")
            problem = self.settings.apply(core, key)
            if problem:
                core.raise_fault(T.F_SETTINGS)
                self.event("settings", problem[:100])
            if self.settings.values["latched"]:
                self.event("restored", ",".join(faults.names(self.settings.values["latched"])))
        if cause == "watchdog":
            core.raise_fault(T.F_WATCHDOG)
        if self.settings is not None:
            self._service_boot(core, key)
        if integrity_problem:
            core.hold_fault(T.F_INTEGRITY)
            self.event("integrity", integrity_problem)
        hal.start_watchdog(WATCHDOG_MS)

    def _service_boot(self, core, key):
        # The device key (service unlock, signatures) and a signed hard-limit
        # override written by a service function, if any.
        from pen.service import Service, load_limits
        self.service = Service(key, self.now_ms)
        lo, hi, problem = load_limits(key)
        if problem:
            core.hold_fault(T.F_INTEGRITY)
            self.event("integrity", problem)
        elif lo is not None:
            self.m[T.P_HARD_LO_UM] = lo
            self.m[T.P_HARD_HI_UM] = hi
            self.event("limits", "service override {}..{} um".format(lo, hi))

    # ---- background ----------------------------------------------------------
    def every(self, ms, fn):
        """Run fn() in the background every `ms` milliseconds (10 ms steps)."""
        n = max(1, ms // 10)
        self.tasks.append([n, n, fn])

    def now_ms(self):
        return self.m[T.S_TICKS] * self.period_us // 1000

    def event(self, kind, detail=""):
        ms = self.now_ms()
        self.events.append((ms, kind, detail))
        if len(self.events) > 64:
            self.events.pop(0)
        if self.log is not None:
            self.log.add(ms, kind, detail)

    def _ui_task(self):
        ui = self.ui
        assert ui is not None
        ui.update(self.hal.buttons())
        self.hal.show(ui.view)

    def _link_task(self):
        proto = self.protocol
        assert proto is not None and self.link is not None
        data = self.link.read()
        if data:
            proto.feed(data)
        proto.beat()

    def _fault_task(self):
        # Log each fault once, when it latches (the tick has already stopped
        # the motor; this is only the record), and store the latched set as
        # soon as it changes (a clear followed by a reset must not bring an
        # old fault back; a new fault must survive one).
        f = self.m[T.S_FAULTS]
        if f == self._faults_seen:
            return
        new = f & ~self._faults_seen
        self._faults_seen = f
        if new:
            self.event("fault", ",".join(faults.names(new)))
        if self.settings is not None or self.log is not None:
            self._store_task()

    def _store_task(self):
        # Flash writes stall the chip for milliseconds: only with the motor off.
        if self.core.running():
            return
        if self.settings is not None:
            self.settings.capture(self.core, self.ui.auto_off_ms // 1000 if self.ui else None)
            if self.settings.save():
                self.event("saved", "settings")
        if self.log is not None:
            self.log.flush()

    def _memory_task(self):
        # MicroPython: collect at a time we choose (right after a tick, once
        # a second) rather than whenever the heap runs out, and note the live
        # heap.  (CPython, the simulator, manages its own memory.)
        alloc = getattr(gc, "mem_alloc", None)
        if alloc is not None:
            gc.collect()
            live = alloc()
            if live > self.heap_live_max:
                self.heap_live_max = live

    def _watchdog_task(self):
        # Fed from the loop, and only while the loop keeps its period.
        if self.sched.healthy():
            self.hal.feed()

    def background(self, deadline):
        m = self.m
        m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & 0x3FFFFFFF
        self._beat -= 1
        if self._beat > 0:
            return
        self._beat = self.beat_ticks
        for t in self.tasks:
            t[1] -= 1
            if t[1] <= 0:
                t[1] = t[0]
                t[2]()

    def run(self, ticks=0):
        return self.sched.run(ticks)
