"""The needlepen simulator: the pen's own firmware core on modelled physics.

plant, clock and hal are portable (they also run inside MicroPython for the
virtual pen); the rest is CPython tooling (scenarios, runs, plots).
"""
import sys

if sys.implementation.name != "micropython":
    # the compiled hot path, when built for these sources (sim/accel.py)
    from sim import accel as _accel
    _accel.activate()
