# A simulated pen: the firmware's App on the virtual board, with a plant,
# a virtual clock and the simulated HAL.  Portable (runs on MicroPython too).
from boards.virtual import BOARD as VIRTUAL
from pen.app import App
from sim.clock import VirtualClock
from sim.hal import SimHAL
from sim.plant import Plant


class SimPen:
    def __init__(self, board: dict = VIRTUAL, seed: int = 1, tick_origin: int = 0,
                 plant_kw: dict | None = None, **core_kw) -> None:
        self.board = board
        self.clock = VirtualClock(tick_origin=tick_origin)
        self.plant = Plant(seed=seed, ppr=board["motor"]["tach_pulses_per_rev"], **(plant_kw or {}))
        self.hal = SimHAL(self.plant, board, self.clock)
        self.app = App(board, self.hal, self.clock, **core_kw)
        self.core = self.app.core
        self.m = self.core.m

    def run_ms(self, ms: int) -> None:
        """Run for `ms` milliseconds of virtual time (whole control periods)."""
        self.app.run(ms * 1000 // self.board["control_period_us"])

    def settle(self, ms: int = 300) -> None:
        """Let filters and the depth actuator settle with the motor off."""
        self.run_ms(ms)
