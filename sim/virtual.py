# The virtual pen's hardware: the plant on a real-time clock, behind the
# simulated HAL, for firmware running in the MicroPython unix port (and on
# CPython).  Adds "sim ..." commands to the serial protocol so that a host
# can press buttons, touch skin and inject faults over the same link.
import time

from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP
from sim.hal import SimHAL
from sim.plant import TISSUES, Plant

BUTTONS = {"power": B_POWER, "speed_up": B_SPEED_UP, "speed_down": B_SPEED_DOWN,
           "depth_up": B_DEPTH_UP, "depth_down": B_DEPTH_DOWN}

SIM_HELP = ("sim press <button> [ms] | sim hold <button> | sim release | sim skin <tissue> | "
            "sim cartridge <type>|none | sim fault <kind> [value] | sim heal <kind> | sim plant")


class RealtimeClock:
    """Wall-clock ticks for the scheduler; waits sleep instead of spinning
    (a virtual pen should not eat a core).  now_us is unbounded, for the plant."""

    def __init__(self):
        self.ticks_diff = time.ticks_diff
        self.ticks_add = time.ticks_add
        self._last = time.ticks_us()
        self.now_us = 0
        self.exec_us = 0                 # SimHAL adds this; real time needs none
        self.wake_jitter_us = 0

    def ticks_us(self):
        t = time.ticks_us()
        self.now_us += time.ticks_diff(t, self._last)
        self._last = t
        return t

    def wait_until(self, deadline, max_us):
        d = time.ticks_diff(deadline, self.ticks_us())
        if 0 < d <= max_us:
            time.sleep_us(d)


def mark_reset(kind):
    """Mark the next reset as `kind` (what hal.rp2/hal.esp32 offer a host)."""
    with open(VirtualHAL.MARK, "w") as f:
        f.write(kind)


class VirtualHAL(SimHAL):
    name = "virtual"

    def __init__(self, board, seed=1):
        clock = RealtimeClock()
        plant = Plant(seed=seed, ppr=board["motor"]["tach_pulses_per_rev"])
        plant.precompute()
        SimHAL.__init__(self, plant, board, clock)
        self.board = board
        self.cartridges = [c["name"] for c in board["cartridges"]]
        self._release_at = None
        self.pen = self                  # sim.faults injects through pen.plant / pen.clock
        self.app = None                  # set when a fault needs the App (hang)

    def buttons(self):
        if self._release_at is not None and self.clock.now_us >= self._release_at:
            self.held = 0
            self._release_at = None
        return self.held

    def maintenance(self):
        self.off()

    MARK = "boot.mark"

    def reset(self, kind):
        # A file stands in for the chip's reset-surviving register.
        import machine
        mark_reset(kind)
        machine.reset()

    def reset_cause(self):
        import os
        try:                             # read once, then remembered for this boot
            with open(self.MARK) as f:
                self.cause = f.read().strip() or self.cause
            os.remove(self.MARK)
        except OSError:
            pass
        return self.cause

    def pen_id(self):
        try:
            with open("pen.id") as f:
                return f.read().strip()
        except OSError:
            return "virtual"

    # ---- "sim ..." protocol commands ----------------------------------------------
    def sim_command(self, args, app):
        """Answer text for 'sim <args>'; raise ValueError with the reason."""
        if not args:
            raise ValueError("usage: " + SIM_HELP)
        what, rest = args[0], args[1:]
        if what in ("press", "hold"):
            if not rest or rest[0] not in BUTTONS:
                raise ValueError("buttons: " + ", ".join(BUTTONS))
            self.held |= BUTTONS[rest[0]]
            if what == "press":
                ms = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 100
                self._release_at = self.clock.now_us + ms * 1000
            return "{} {}".format(what, rest[0])
        if what == "release":
            self.held = 0
            return "release"
        if what == "skin":
            if not rest or rest[0] not in TISSUES:
                raise ValueError("tissues: " + ", ".join(TISSUES))
            self.plant.tissue = TISSUES[rest[0]]
            return "skin " + rest[0]
        if what == "cartridge":
            if not rest or (rest[0] != "none" and rest[0] not in self.cartridges):
                raise ValueError("cartridges: none, " + ", ".join(self.cartridges))
            self.plant.cart_present = rest[0] != "none"
            if rest[0] != "none":
                self.plant.cart_type = self.cartridges.index(rest[0]) + 1
            return "cartridge " + rest[0]
        if what in ("fault", "heal"):
            from sim import faults  # only when asked: 15 KB of heap
            if not rest or rest[0] not in faults.KINDS:
                raise ValueError("faults: " + ", ".join(faults.KINDS))
            kind = faults.KINDS[rest[0]]
            self.app = app
            if what == "heal":
                kind.heal(self)
            else:
                value = float(rest[1]) if len(rest) > 1 else kind.default
                kind.inject(self, value)
            return "{} {}".format(what, rest[0])
        if what == "plant":
            p = self.plant
            return "rate {:.1f}/s current {:.0f} mA depth {:.0f} um battery {:.2f} V temp {:.1f} C".format(
                p.rate_sps(), (p.i + p.i_short) * 1000, p.depth_um, p.v_bat, p.temp)
        raise ValueError("usage: " + SIM_HELP)

    @property
    def m(self):
        return self.app.m if self.app else None
