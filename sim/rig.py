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
        self.core_kw = core_kw
        self.boots = 0
        self._build()

    def _build(self) -> None:
        self.app = App(self.board, self.hal, self.clock, **self.core_kw)
        self.core = self.app.core
        self.m = self.core.m

    def hang(self, ms: int) -> int:
        """The loop stands still for `ms` (a hung tick): only the plant and
        the hardware watchdog go on.  If the watchdog fires, the chip resets
        (outputs off at once) and boots again.  Returns how long the motor
        ran unsupervised, us."""
        hal, clock, plant = self.hal, self.clock, self.plant
        end = clock.now_us + ms * 1000
        fire = hal.fed_at_us + hal.watchdog_ms * 1000 if hal.watchdog_ms else end + 1
        if fire >= end:
            plant.advance(end)
            clock.now_us = end
            return ms * 1000
        fire = max(fire, clock.now_us)
        plant.advance(fire)
        unsupervised = fire - (end - ms * 1000)
        clock.now_us = fire
        self.reboot("watchdog")
        return unsupervised

    def reboot(self, cause: str = "power") -> None:
        """Reset and boot again on the same flash (settings and log kept)."""
        self.hal.off()
        self.hal.cause = cause
        self.hal.watchdog_ms = 0
        kw = dict(self.core_kw)
        for key in ("settings", "log"):
            old = kw.get(key)
            if old is not None:
                kw[key] = type(old)(old.store.path if key == "settings" else old.path,
                                    old.store.fs if key == "settings" else old.fs)
        self.core_kw = kw
        self._build()
        self.boots += 1
        self.app.boot()

    def run_ms(self, ms: int) -> None:
        """Run for `ms` milliseconds of virtual time (whole control periods)."""
        self.app.run(ms * 1000 // self.board["control_period_us"])

    def settle(self, ms: int = 300) -> None:
        """Let filters and the depth actuator settle with the motor off."""
        self.run_ms(ms)
