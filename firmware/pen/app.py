# Wiring: one pen = core + HAL + scheduler, plus the background tasks (UI,
# protocol, storage, memory).  The same wiring runs on the pen (main.py), in
# the simulator and in the virtual pen.
#
# Two real-time contexts (docs/control.md):
#   the tick: HAL read + pen.tick + HAL write every period, called by the
#     scheduler: from a hardware timer interrupt where the HAL has one (rp2),
#     else from the scheduler's loop.  Allocation-free; it alone drives the
#     motor and feeds the hardware watchdog.
#   the background: the tasks below on a 10 ms beat.  They may allocate,
#     collect garbage and wait on the serial port or the flash; the tick
#     interrupts them whenever it is due.  Flash writes only with the motor
#     stopped, and a failed write is the `storage` fault, never an exception.
import gc

from pen import faults
from pen import tick as T
from pen.core import Core
from pen.scheduler import Scheduler
from pen.ui import SAMPLE_MS, UI

# Hardware watchdog timeout: how long the motor can run unsupervised if the
# tick stops.  Fed every 10 ms by the tick while the loop and the background
# are healthy.  Longer than the longest stop with interrupts off, a flash
# sector erase (45 ms typical, 400 ms worst case on the W25Q16 of an RP2040
# board), which only happens with the motor stopped.
WATCHDOG_MS = 500
BEAT_MS = 10
STORE_MS = 1000          # settings and log are written at most once a second...
SETTLE_MS = 2000         # ...once the actuator is at rest, or this long after a stop
RESET_WAIT_MS = 300      # a planned reset waits this long at most for its answer to go out
# Cartridge use recorded ahead of a start: a power cut while running then
# loses none (it counts up to this much too much).  A run that reaches its
# reservation is stopped to record it (continuous running that long is rare:
# a zone takes a minute or two).
RESERVE_S = 300


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
                               trip=20 * board.get("overrun_trip", 5), feed=hal.feed)  # weight 20 per overrun
        # Background tasks run on a 10 ms beat so that a tick with nothing due
        # costs one decrement; each task: [period in beats, beats left, fn].
        self.beat_ticks = max(1, BEAT_MS * 1000 // self.period_us)
        self._beat = self.beat_ticks
        self.tasks = []
        self.events = []         # (ms, kind, detail), the last 16, newest last, for tests (the log keeps all)
        self._faults_seen = 0
        self._warned = 0         # the shortfall warning, last seen (logged when it comes on)
        self._store_now = False  # a latched-set change waits for the next safe moment
        self._store_left = 0
        self._stopped_ms = None  # when the motor was last seen stopped
        self.storage_problem = None
        self.reset_kind = None   # a planned reset waiting for its answer to go out
        self._reset_left = 0
        self.reserved_s = 0      # cartridge use recorded for the run under way (0: settled)
        if settings is not None:
            core.before_start = self._reserve_cartridge_use
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
            self.every(BEAT_MS, self._link_task)
        self.every(BEAT_MS, self._fault_task)
        self.heap_live_max = -1          # most heap in use after a collection (-1: not measured)
        self.every(1000, self._memory_task)

    # ---- boot ------------------------------------------------------------------
    def boot(self, integrity_problem=None):
        """Before the loop: motor off, settings, log, reset cause, watchdog."""
        hal, core = self.hal, self.core
        hal.off()
        hal.read(self.m)                 # cartridge state for the settings
        cause = hal.reset_cause()
        if self.log is not None:
            try:
                self.log.open()
            except Exception as e:       # a damaged filesystem: run, and say so
                self._storage_failed(e)
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
            for note in self.settings.notes:
                self.event("cartridge", note[:100])
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

    # ---- running -------------------------------------------------------------
    def run(self, ticks=0):
        """Run the pen.  ticks=0: forever, the tick on the HAL's hardware timer
        if it has one (then this loop is the background alone); otherwise, or
        for a given number of ticks (simulator, tests), the scheduler's loop."""
        if ticks == 0 and self.hal.ticker:
            self.sched.start(irq=True)
            self.hal.start_ticker(self.period_us, self.sched.tick)
            try:
                self._serve()
            finally:
                self.hal.stop_ticker()
                self.hal.off()
            return 0
        return self.sched.run(ticks)

    def _serve(self):
        # The background loop beside an interrupt-driven tick: a pass per
        # tick seen (several if a task took longer than a period).
        m = self.m
        background = self.background
        seen = m[T.S_TICKS]
        while True:
            n = m[T.S_TICKS]
            if n != seen:
                background(None, (n - seen) & 0x3FFFFFFF)
                seen = n

    def background(self, deadline=None, ticks=1):
        """After `ticks` periods: the heartbeat the tick's software watchdog
        checks, then every 10 ms the due tasks."""
        m = self.m
        m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & 0x3FFFFFFF
        self._beat -= ticks
        if self._beat > 0:
            return
        self._beat = self.beat_ticks
        for t in self.tasks:
            t[1] -= 1
            if t[1] <= 0:
                t[1] = t[0]
                t[2]()

    def every(self, ms, fn):
        """Run fn() in the background every `ms` milliseconds (10 ms steps)."""
        n = max(1, ms // BEAT_MS)
        self.tasks.append([n, n, fn])

    def now_ms(self):
        return self.m[T.S_TICKS] * self.period_us // 1000

    def event(self, kind, detail=""):
        ms = self.now_ms()
        self.events.append((ms, kind, detail))
        if len(self.events) > 16:
            self.events.pop(0)
        if self.log is not None:
            self.log.add(ms, kind, detail)

    # ---- tasks ---------------------------------------------------------------
    def _ui_task(self):
        ui = self.ui
        assert ui is not None
        ui.update(self.hal.buttons())
        self.hal.show(ui.view)

    def _link_task(self):
        proto = self.protocol
        link = self.link
        assert proto is not None and link is not None
        if not proto.busy():             # a streamed answer finishes first
            data = link.read()
            if data:
                proto.feed(data)
        proto.beat()
        link.pump()
        if self.reset_kind is not None:
            self._reset_left -= 1
            if link.pending() == 0 or self._reset_left <= 0:
                self._reset_now()

    def _fault_task(self):
        # Log each fault once, when it latches (the tick has already stopped
        # the motor; this is only the record), and store the latched set at
        # the first safe moment after it changed (a clear followed by a reset
        # must not bring an old fault back; a new fault must survive one).
        m = self.m
        if self.reserved_s:
            if m[T.S_STATE] == T.ST_RUNNING or m[T.C_RUN]:
                if m[T.S_CART_USE_S] >= self.reserved_s:
                    self.core.stop()     # before the use outruns what is recorded
                    self.event("cartridge", "use checkpoint at {} s: stopped to record it; start again".format(
                        m[T.S_CART_USE_S]))
            elif self.flash_ok():
                self.reserved_s = 0      # stopped: settle the use (the save below)
                self._store_now = True
        ct = self.core.lock_used_cartridge()
        if ct:
            self.event("cartridge", "{} used up: one put back counts as used up until a new one is confirmed".format(
                self.core.cartridges[ct - 1]))
            self._store_now = True
        f = m[T.S_FAULTS]
        if f != self._faults_seen:
            new = f & ~self._faults_seen
            self._faults_seen = f
            if new:
                self.event("fault", ",".join(faults.names(new)))
            self._store_now = True
        w = m[T.S_WARN] & T.W_SHORTFALL  # the pen cannot deliver the level's stroke rate
        if w != self._warned:
            self._warned = w
            if w:
                self.event("warning", "shortfall: {} of {} strokes/s".format(
                    m[T.S_RATE_CHZ] // 100, m[T.S_TARGET_CHZ] // 100))
        self._store_left -= 1
        if (self._store_now or self._store_left <= 0) and self.flash_ok():
            self._store_now = False
            self._store_left = STORE_MS // BEAT_MS
            self.save()

    def flash_ok(self):
        """Whether a flash write may stall the chip now: the motor stopped
        and the depth actuator at rest (or SETTLE_MS after the stop, should
        it hunt).  An RP2040 sector erase runs with interrupts off."""
        m = self.m
        if m[T.S_STATE] == T.ST_RUNNING or m[T.O_DUTY] != 0 or m[T.C_RUN]:
            self._stopped_ms = None
            return False
        now = self.now_ms()
        if self._stopped_ms is None:
            self._stopped_ms = now
        return m[T.O_ACT_DUTY] == 0 or now - self._stopped_ms >= SETTLE_MS

    def save(self):
        """Write the settings (if changed) and the queued log events now.
        Returns True if storage works; a failure becomes the storage fault."""
        if self.settings is None and self.log is None:
            return True
        try:
            if self.settings is not None:
                self.settings.capture(self.core, self.ui.auto_off_ms // 1000 if self.ui else None, self.reserved_s)
                if self.settings.save():
                    self.event("saved", "settings")
            if self.log is not None:
                self.log.flush()
        except Exception as e:           # OSError (full, damaged, read-only), MemoryError
            self._storage_failed(e)
            return False
        if self.storage_problem is not None:
            self.storage_problem = None
            self.core.set_present(0)
            self.event("storage", "writes work again")
        return True

    def _reserve_cartridge_use(self):
        # Core.start(), motor stopped: the use this run may reach is on flash
        # before the motor runs, or the start is refused.
        from pen.core import Refused
        self.reserved_s = self.m[T.S_CART_USE_S] + RESERVE_S
        if not self.save():
            self.reserved_s = 0
            raise Refused("storage", "start refused: the cartridge's use could not be recorded ({})".format(
                self.storage_problem))

    def _storage_failed(self, e):
        problem = "{}: {}".format(type(e).__name__, e)[:100]
        if problem != self.storage_problem:
            self.storage_problem = problem
            self.event("storage", problem)
        self.core.set_present(T.F_STORAGE)

    def _memory_task(self):
        # MicroPython: collect at a time we choose rather than whenever the
        # heap runs out, and note the live heap.  (CPython, the simulator,
        # manages its own memory.)
        alloc = getattr(gc, "mem_alloc", None)
        if alloc is not None:
            gc.collect()
            live = alloc()
            if live > self.heap_live_max:
                self.heap_live_max = live

    # ---- planned resets ------------------------------------------------------
    def request_reset(self, kind):
        """Reset once the answer has gone out: 'planned' (boots normally, not
        taken for a watchdog reset) or 'maintenance' (boots with the motor
        disabled and no watchdog, for a deploy).  Motor stopped only."""
        if self.core.running():
            from pen.core import Refused
            raise Refused("refused", "stop the motor first")
        self.reset_kind = kind
        self._reset_left = RESET_WAIT_MS // BEAT_MS

    def _reset_now(self):
        kind = self.reset_kind
        self.reset_kind = None
        self.core.stop()
        self.hal.off()
        if self.flash_ok():
            self.save()                  # queued events, latched set
        self.hal.reset(kind)
