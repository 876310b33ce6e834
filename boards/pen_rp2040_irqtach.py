# The RP2040 pen board with its tachometer timed by pin interrupts instead
# of PIO: for a board whose PIO blocks are taken, and for the emulated
# RP2040 (../shared/rp2040-emulator), whose PIO does not run in step with
# simulated time.  Everything else is boards/pen_rp2040.py.
from boards.pen_rp2040 import BOARD as _RP2040

BOARD = dict(_RP2040, name="pen-rp2040-irqtach",
             description="RP2040 pen controller, rev A, tachometer on pin interrupts (no PIO)",
             tach_input="irq")
