# The pen's portable core. On CPython, install the stand-ins for what
# MicroPython has built in, so the same files run unchanged on both.
import sys

if sys.implementation.name != "micropython":
    from pen import _cpython  # noqa: F401
