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
if os.getenv("VPEN_BOOT") != "raw":   # a soft reset from the raw REPL skips main.py
    _vpen_run("main.py")
del _vpen_run, _vpen_ready
