# The virtual pen's hardware: the plant on a paced virtual clock, behind the
# simulated HAL, for firmware running in the MicroPython unix port (and on
# CPython).  Adds "sim ..." commands to the serial protocol so that a host
# can press buttons, touch skin and inject faults over the same link.
import time

from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP
from sim.clock import VirtualClock
from sim.hal import SimHAL
from sim.plant import TISSUES, Plant

BUTTONS = {"power": B_POWER, "speed_up": B_SPEED_UP, "speed_down": B_SPEED_DOWN,
           "depth_up": B_DEPTH_UP, "depth_down": B_DEPTH_DOWN}

SIM_HELP = ("sim press <button> [ms] | sim hold <button> | sim release | sim skin <tissue> | "
            "sim cartridge <type>|none | sim fault <kind> [value] | sim heal <kind> | sim plant | sim crash")


class SimulatedCrash(Exception):
    """`sim crash`: the firmware dies of an unexpected error in its loop."""


class PacedClock(VirtualClock):
    """The virtual pen's clock: virtual time, as in the simulator (waits jump
    to the deadline; the step takes exec_us, 0 unless a fault injects it), so
    its control timing and timing faults come from the model, never from how
    busy the host is.  Paced to the wall clock for the people watching: it
    sleeps while virtual time is ahead.  A host that falls behind only slows
    the pen down: debt beyond SLIP_US is forgotten (counted in `slips`)."""

    SLIP_US = 20000
    NAP_US = 2000                        # sleep in naps of at least this (fewer syscalls)

    def __init__(self):
        VirtualClock.__init__(self)
        self._wall = time.ticks_us()
        self._virt = 0
        self.lead_us = 0                 # virtual time ahead of the wall clock
        self.slips = 0

    def wait_until(self, deadline, max_us):
        VirtualClock.wait_until(self, deadline, max_us)
        w = time.ticks_us()
        wall = time.ticks_diff(w, self._wall)
        if wall < 0:                     # the host stood still for half the ticks period
            wall = self.SLIP_US << 1
        lead = self.lead_us + (self.now_us - self._virt) - wall
        self._wall = w
        self._virt = self.now_us
        if lead < -self.SLIP_US:
            lead = -self.SLIP_US
            self.slips += 1
        elif lead >= self.NAP_US:
            time.sleep_us(lead)          # the next wait counts the nap as wall time
        self.lead_us = lead


# The chip's watchdog, outside the firmware: armed by the HAL, stopped by
# maintenance() (Ctrl-C, as hal/rp2.py stops the RP2040's).  vpen_boot.py
# reads it when main.py ends: an armed watchdog resets the pen then.
WATCHDOG = [0]                           # timeout ms, 0: not running


_ISIG = 1                                # Linux termios.h (MicroPython's termios lacks the name)


def _console_signals(on):
    """Ctrl-C on the virtual pen's pty: a signal (KeyboardInterrupt) or data."""
    try:
        import termios
    except ImportError:                  # CPython tests without a tty
        return
    try:
        a = termios.tcgetattr(0)
        a[3] = (a[3] | _ISIG) if on else (a[3] & ~_ISIG)
        termios.tcsetattr(0, termios.TCSANOW, a)
    except Exception:
        pass                             # stdin is no tty (tests): nothing to lock


def watchdog_reset():
    """What the chip's watchdog does when it fires: a reset it will report."""
    import machine
    mark_reset("watchdog")
    machine.reset()


def mark_reset(kind):
    """Mark the next reset as `kind` (what hal.rp2/hal.esp32 offer a host)."""
    with open(VirtualHAL.MARK, "w") as f:
        f.write(kind)


class VirtualHAL(SimHAL):
    name = "virtual"

    def __init__(self, board, seed=1):
        clock = PacedClock()
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
        self.watchdog_ms = WATCHDOG[0] = 0
        _console_signals(True)

    def lock_console(self):
        # The unix port's kbd_intr(-1) would leave SIGINT to kill the process:
        # instead the pty stops making 0x03 a signal (it reaches the protocol).
        _console_signals(False)

    def halt(self):
        self.off()
        if WATCHDOG[0]:
            return                       # vpen_boot.py: the watchdog resets the pen
        while True:                      # no watchdog yet: halted until restarted
            time.sleep(1)

    def start_watchdog(self, timeout_ms):
        SimHAL.start_watchdog(self, timeout_ms)
        WATCHDOG[0] = timeout_ms

    crash = False

    def read(self, m):
        if self.crash:
            self.crash = False
            raise SimulatedCrash("sim crash: the firmware's loop died")
        SimHAL.read(self, m)
        if self.watchdog_expired():      # not fed: the tick or the background hangs
            self.off()
            print("needlepen: watchdog reset (not fed for {} ms)".format(self.watchdog_ms))
            watchdog_reset()

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
                ms = 100
                if len(rest) > 1:
                    if not rest[1].isdigit() or not 1 <= int(rest[1]) <= 60000:
                        raise ValueError("sim press <button> [ms]: ms is a whole number from 1 to 60000")
                    ms = int(rest[1])
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
                try:
                    value = kind.check(rest[1] if len(rest) > 1 else None)
                except ValueError as e:
                    raise ValueError("sim fault {}: {}".format(rest[0], e)) from None
                kind.inject(self, value)
            return "{} {}".format(what, rest[0])
        if what == "crash":
            self.crash = True            # raised in the next tick, outside this command
            return "crash"
        if what == "plant":
            p = self.plant
            return "rate {:.1f}/s current {:.0f} mA depth {:.0f} um battery {:.2f} V temp {:.1f} C".format(
                p.rate_sps(), (p.i + p.i_short) * 1000, p.depth_um, p.v_bat, p.temp)
        raise ValueError("usage: " + SIM_HELP)

    @property
    def m(self):
        return self.app.m if self.app else None
