# Wiring: one pen = core + HAL + scheduler (+ UI, protocol, storage as they
# are attached).  The same wiring runs on the pen (main.py), in the simulator
# and in the virtual pen.
from pen import tick as T
from pen.core import Core
from pen.scheduler import Scheduler


class App:
    def __init__(self, board, hal, clock, **core_kw):
        self.board = board
        self.hal = hal
        self.clock = clock
        self.core = core = Core(board, **core_kw)
        self.m = m = core.m
        read = hal.read
        write = hal.write
        tick = T.tick

        def step():
            read(m)
            tick(m)
            write(m)

        self.sched = Scheduler(clock, board["control_period_us"], step, m,
                               background=self.background)
        self.tasks = []          # callables run in the slack, each (app, deadline)

    def background(self, deadline):
        m = self.m
        m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & 0x3FFFFFFF
        for task in self.tasks:
            task(self, deadline)
        if self.sched.healthy():
            self.hal.feed()

    def run(self, ticks=0):
        return self.sched.run(ticks)
