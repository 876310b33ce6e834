# Board-like boot for the MicroPython unix port, run by the virtual pen's
# supervisor as  `micropython -i vpen_boot.py`  with the pen's filesystem as
# the working directory.  -i: the REPL follows when main.py ends (Ctrl-C from
# mpremote), as on a board.
import os
import sys


def _vpen_ready():
    # Tell the supervisor the script runs (Ctrl-C -> KeyboardInterrupt from
    # now on): termios cc[VEOL2] (unused: ICANON is off) set to 0xfe.
    try:
        import termios
        a = termios.tcgetattr(0)
        a[6][16] = b"\xfe"
        termios.tcsetattr(0, termios.TCSANOW, a)
    except Exception:
        pass


def _vpen_run(f):
    try:
        os.stat(f)
    except OSError:
        return
    exec(open(f).read(), globals())


_vpen_ready()
# modules from the pen's filesystem first, then vpen_lib (machine.reset)
sys.path[0] = ""
sys.path.insert(1, __file__.rpartition("/")[0] + "/vpen_lib")
_vpen_run("boot.py")


def _vpen_watchdog():
    # The chip's watchdog outlives main.py: if the firmware armed it and
    # main.py has ended (a crash), nothing feeds it any more, and it resets
    # the pen into a normal boot instead of leaving a REPL that would run
    # the host's protocol lines as Python.  Ctrl-C and maintenance mode
    # stop it first (sim.virtual.WATCHDOG), so mpremote keeps its REPL.
    v = sys.modules.get("sim.virtual")
    ms = v.WATCHDOG[0] if v else 0
    if ms:
        import time
        time.sleep_ms(ms)
        print("needlepen: watchdog reset (the firmware stopped feeding it)")
        v.watchdog_reset()


if os.getenv("VPEN_BOOT") != "raw":   # a soft reset from the raw REPL skips main.py
    try:
        _vpen_run("main.py")
    except Exception as e:
        sys.print_exception(e)
    _vpen_watchdog()
del _vpen_run, _vpen_ready, _vpen_watchdog
