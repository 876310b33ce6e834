# The unix port's built-in machine module (extensible), plus reset().  A
# hard reset of the virtual pen: tell the supervisor (RESET_MARK on the
# output; it kills and restarts this process), and exit with 121 for when
# the mark is not seen.  Needed because under `micropython -i` a SystemExit
# raised by the running script (main.py) lands at the REPL instead of
# ending the process.
import sys

from umachine import *  # noqa: F401,F403

RESET_MARK = b"\x1b[vpen-reset]"


def reset():
    try:
        sys.stdout.buffer.write(RESET_MARK)
        sys.stdout.flush()
    except Exception:
        pass
    sys.exit(121)
