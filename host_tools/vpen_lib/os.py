# The unix port's built-in os, plus what a board's VFS does and the unix
# port does not: os.stat("") is the current directory (the pen's root).
# mpremote's `fs cp FILES :` stats ":" -> "" to see that the destination
# exists.
import uos
from uos import *  # noqa: F401,F403


def stat(path):
    return uos.stat(path or ".")
