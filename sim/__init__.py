"""The needlepen simulator: the pen's own firmware core on modelled physics.

plant, clock and hal are portable (they also run inside MicroPython for the
virtual pen); the rest is CPython tooling (scenarios, runs, plots).
"""
