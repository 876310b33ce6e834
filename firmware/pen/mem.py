# The pen's one preallocated block of state (see pen.tick for the layout).
import sys
from array import array

from pen import tick as T


def words(n, fast=False):
    """n zeroed int32 words: an array, or on CPython with fast=True a list."""
    if fast and sys.implementation.name != "micropython":
        return [0] * n
    return array("i", bytes(4 * n))


def new_memory(fast=False):
    """A zeroed int32 array of the tick's size.

    fast=True on CPython gives a list instead: the same tick code runs 2.3x
    faster on it there (the simulator's choice).  Tests keep the array,
    which raises on any value outside int32, as the pen's words would wrap.
    MicroPython always gets the array (viper needs a buffer).
    """
    return words(T.MEM_WORDS, fast)
