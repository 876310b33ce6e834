# Wiring: one pen = core + HAL + scheduler, plus the background tasks that
# run in the slack between ticks (UI, protocol, storage).  The same wiring
# runs on the pen (main.py), in the simulator and in the virtual pen.
from pen import tick as T
from pen.core import Core
from pen.scheduler import Scheduler
from pen.ui import SAMPLE_MS, UI


class App:
    def __init__(self, board, hal, clock, ui=True, **core_kw):
        self.board = board
        self.hal = hal
        self.clock = clock
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
        self.sched = Scheduler(clock, self.period_us, step, m, background=self.background)
        # Background tasks run on a 10 ms beat so that a tick with nothing due
        # costs one decrement; each task: [period in beats, beats left, fn].
        self.beat_ticks = max(1, 10000 // self.period_us)
        self._beat = self.beat_ticks
        self.tasks = []
        self.events = []         # (ticks, kind, detail) for the log, newest last
        self.ui = None
        if ui:
            self.ui = UI(core, on_event=self.event)
            self.every(SAMPLE_MS, self._ui_task)
        self.every(10, self._watchdog_task)

    def every(self, ms, fn):
        """Run fn() in the background every `ms` milliseconds (10 ms steps)."""
        n = max(1, ms // 10)
        self.tasks.append([n, n, fn])

    def event(self, kind, detail=""):
        self.events.append((self.m[T.S_TICKS], kind, detail))
        if len(self.events) > 64:
            self.events.pop(0)

    def _ui_task(self):
        ui = self.ui
        ui.update(self.hal.buttons())
        self.hal.show(ui.view)

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
