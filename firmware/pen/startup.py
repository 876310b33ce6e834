# Start the pen: the HAL for the board's port (its constructor turns every
# output off), storage, the serial link, the App; then the loop.  However the
# loop ends, the motor is off.
#
#   Ctrl-C (mpremote, a host): motor off, maintenance mode: the HAL keeps
#       the watchdog fed from a timer so that a deploy is not cut short.
#   any other exception: motor off, logged; the watchdog is no longer fed,
#       so it resets the pen, which boots with the motor off and the
#       watchdog fault latched.
#   speed-down held at power-on: maintenance mode straight away (no loop,
#       no watchdog) to recover a pen whose firmware misbehaves.
import sys

from pen.hal import B_SPEED_DOWN


def make_hal(board):
    port = board["port"]
    if port == "rp2":
        from pen.hal_rp2 import RP2HAL as HAL
    elif port == "esp32":
        from pen.hal_esp32 import ESP32HAL as HAL
    elif port == "sim":
        from sim.virtual import VirtualHAL as HAL
    else:
        raise ValueError("board port '{}' has no HAL (rp2, esp32, sim)".format(port))
    return HAL(board)


def run(board, ticks=0):
    hal = make_hal(board)
    app = None
    try:
        if hal.buttons() & B_SPEED_DOWN:
            hal.maintenance()
            print("needlepen: speed-down held at power-on: maintenance mode, motor disabled")
            return None
        from pen.app import App
        from pen.eventlog import EventLog
        from pen.integrity import check_manifest
        from pen.link import StdioLink
        from pen.settings import Settings
        settings = Settings()
        log = EventLog()
        app = App(board, hal, hal.clock, settings=settings, log=log, link=StdioLink())
        app.boot(integrity_problem=check_manifest(required=board["port"] != "sim"))
        print("needlepen: running on {} ({} us period); send 'help'".format(board["name"], app.period_us))
        app.run(ticks)
        return app
    except KeyboardInterrupt:
        hal.off()
        hal.maintenance()
        print("needlepen: stopped by Ctrl-C: motor off, maintenance mode (reset to run)")
    except Exception as e:
        hal.off()
        print("needlepen: stopped by an error: motor off; the watchdog will restart the pen")
        sys.print_exception(e)
        if app is not None and app.log is not None:
            try:
                app.event("crash", "{}: {}".format(type(e).__name__, e))
                app.log.flush()
            except Exception:
                pass
    finally:
        hal.off()
    return app
