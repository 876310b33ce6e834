# Start the pen: the HAL for the board's port (its constructor turns every
# output off), storage, the serial link, the App; then the loop.  However the
# loop ends, the motor is off.
#
#   maintenance boot (the protocol's `maintenance`, which `needlepen deploy`
#       sends, or speed-down held at power-on): motor off, no loop, the
#       watchdog never armed, the REPL free for mpremote.  `reset` (or
#       mpremote's reset) boots normally again.
#   normal operation: the console is locked (hal.lock_console): Ctrl-C is
#       data, which the protocol drops, so no host reaches the REPL.
#       (Ctrl-C before that, during the boot: the tick stops, motor off, and
#       the HAL stops the watchdog or keeps it fed, for the REPL session.)
#   any other exception: motor off, logged; the pen halts (hal.halt, never
#       the REPL) and the unfed watchdog resets it; it boots with the motor
#       off and the watchdog and internal faults latched.
import gc
import sys

from pen.hal import B_SPEED_DOWN
from pen.tick import F_INTERNAL


def hal_class(board):
    port = board["port"]
    if port == "rp2":
        from hal.rp2 import RP2HAL
        return RP2HAL
    if port == "esp32":
        from hal.esp32 import ESP32HAL
        return ESP32HAL
    if port == "sim":
        from sim.virtual import VirtualHAL
        return VirtualHAL
    raise ValueError("board port '{}' has no HAL (rp2, esp32, sim)".format(port))


# Oldest MicroPython each port needs: rp2 for machine.Timer(hard=True), esp32
# for esp32.PCNT (both first in 1.26.0).
MIN_VERSION = {"rp2": (1, 26), "esp32": (1, 26)}


def version_problem(port, version=None):
    """Why this MicroPython cannot run the pen (None: it can)."""
    need = MIN_VERSION.get(port)
    if need is None:
        return None
    have = tuple(version or sys.implementation.version)[:2]
    if have >= need:
        return None
    return "MicroPython {}.{} is too old for the {} pen: flash {}.{} or newer".format(
        have[0], have[1], port, need[0], need[1])


def run(board, ticks=0):
    # Import first, build the HAL after: compiling from source needs heap,
    # most for the largest modules, so they come first with a collection
    # between (until the HAL exists the outputs stay as boot.py left them: off).
    # The serial link's 1 KB output ring first, while the heap is whole
    # (compiling the modules below from source fragments it).
    from pen.link import StdioLink
    link = StdioLink(budget=board.get("serial_bytes_per_beat", 256), chunk=board.get("serial_chunk", 256))
    HAL = hal_class(board)
    gc.collect()
    from pen.protocol import Protocol  # noqa: F401  (App loads it)
    gc.collect()
    from pen.app import App
    gc.collect()
    from pen import service as _service  # noqa: F401  (boot and protocol use it)
    gc.collect()
    from pen import board as _boardlib  # noqa: F401  (boot-only, dropped after boot)
    gc.collect()
    from pen.eventlog import EventLog
    from pen.integrity import check_manifest
    from pen.settings import Settings
    gc.collect()
    hal = None
    app = None
    try:
        hal = HAL(board)
        why = None
        too_old = version_problem(board["port"])
        if too_old:
            hal.off()
            print("needlepen: stopped: " + too_old + " (motor disabled)")
            return None
        if hal.buttons() & B_SPEED_DOWN:
            why = "needlepen: speed-down held at power-on: maintenance mode"
        elif hal.reset_cause() == "maintenance":
            why = "needlepen: maintenance mode (asked for over the serial link)"
        if why:
            hal.maintenance()
            print(why + ": motor disabled, no watchdog; machine.reset() or a power cycle to run")
            return None
        app = App(board, hal, hal.clock, settings=Settings(), log=EventLog(), link=link)
        app.boot(integrity_problem=check_manifest(required=board["port"] != "sim"))
        sys.modules.pop("pen.board", None)          # boot-only code
        sys.modules.pop("pen.integrity", None)
        gc.collect()
        print("needlepen: running on {} ({} us period); send 'help'".format(board["name"], app.period_us))
        hal.lock_console()          # from here Ctrl-C is data: the REPL needs the maintenance boot
        app.run(ticks)
        return app
    except KeyboardInterrupt:
        if hal is not None:
            hal.stop_ticker()
            hal.off()
            hal.maintenance()
        print("needlepen: stopped by Ctrl-C: motor off, maintenance mode (reset to run)")
    except Exception as e:
        if hal is not None:
            hal.off()
        print("needlepen: stopped by an error: motor off; the watchdog will reset the pen")
        sys.print_exception(e)
        if app is not None:
            try:
                if app.log is not None:
                    app.event("crash", "{}: {}".format(type(e).__name__, e))
                    app.log.flush()
                if app.settings is not None:
                    # latched again after the reset: acknowledged by a clear
                    app.settings.values["latched"] |= F_INTERNAL
                    app.settings.save()
            except Exception:
                pass
        if hal is not None:
            hal.halt()              # never the REPL: the watchdog resets the pen
    finally:
        if hal is not None:
            hal.off()
    return app
