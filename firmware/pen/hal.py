# The hardware abstraction every port implements (hal.rp2, hal.esp32 in
# firmware/hal/, sim.hal).  Adapters translate between pins and the tick's memory words;
# they decide nothing.  This base class documents the interface and gives
# the safe defaults.

# Button bits returned by buttons()
B_POWER = 0x01
B_SPEED_UP = 0x02
B_SPEED_DOWN = 0x04
B_DEPTH_UP = 0x08
B_DEPTH_DOWN = 0x10


class HAL:
    name = "none"
    ticker = False          # True: start_ticker() runs the tick from a hardware timer

    def start_ticker(self, period_us, fn):
        """Call fn() every period_us from a hard timer interrupt (fn allocates
        nothing).  Only where `ticker` is True."""
        raise NotImplementedError

    def stop_ticker(self):
        """Stop calling the tick (before Ctrl-C maintenance, on the way out)."""

    def read(self, m):
        """Fill the tick's input words (pen.tick I_*) from the hardware."""

    def write(self, m):
        """Apply the tick's output words (O_*) to the motor and actuator."""

    def off(self):
        """Motor and depth actuator off now, whatever state we are in."""

    def buttons(self):
        """Bitmask of the buttons held now (B_*)."""
        return 0

    def show(self, view):
        """Render the UI view (a pen.ui.View) on LEDs or the display."""

    def start_watchdog(self, timeout_ms):
        """Arm the hardware watchdog (cannot be stopped once armed)."""

    def feed(self):
        """Feed the hardware watchdog."""

    def lock_console(self):
        """Normal operation: the serial port is the protocol's alone.  Ctrl-C
        no longer interrupts the firmware, so no host reaches the REPL; the
        REPL, file access and deploy need the maintenance boot."""

    def halt(self):
        """After a crash, motor off: wait for the watchdog's reset (never
        return to a REPL that would run a host's lines as Python)."""
        while True:
            pass

    def reset_cause(self):
        """Why we booted: 'planned' or 'maintenance' (a reset(kind) by the
        firmware, read once), else 'power', 'watchdog' or 'other'."""
        return "power"

    def reset(self, kind):
        """Reset the pen now, leaving `kind` ('planned' or 'maintenance') for
        reset_cause() at the next boot."""

    def pen_id(self):
        """This pen's unique id (hex), for its key on the workstation."""
        return "unknown"
