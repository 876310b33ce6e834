# The pen's one preallocated block of state (see pen.tick for the layout).
from array import array

from pen import tick as T


def new_memory():
    """A zeroed int32 array of the tick's size."""
    return array("i", bytes(4 * T.MEM_WORDS))
