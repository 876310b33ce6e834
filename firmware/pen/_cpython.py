# CPython stand-ins for MicroPython built-ins used by the core.
# Imported only on CPython (see pen/__init__.py); never deployed to a pen.
import builtins
import sys
import time
import types

_TICKS_PERIOD = 1 << 30  # the pen's ticks wrap here; use the same on CPython
_TICKS_HALF = _TICKS_PERIOD >> 1


def _identity(f):
    return f


def _ticks_us():
    return (time.perf_counter_ns() // 1000) & (_TICKS_PERIOD - 1)


def _ticks_ms():
    return (time.perf_counter_ns() // 1000000) & (_TICKS_PERIOD - 1)


def _ticks_add(t, delta):
    return (t + delta) & (_TICKS_PERIOD - 1)


def _ticks_diff(a, b):
    return ((a - b + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


def _install():
    mp = types.ModuleType("micropython")
    mp.const = _identity
    mp.native = _identity
    mp.viper = _identity
    mp.heap_lock = lambda: 0
    mp.heap_unlock = lambda: 0
    mp.alloc_emergency_exception_buf = lambda n: None
    mp.schedule = lambda f, a: f(a)
    sys.modules.setdefault("micropython", mp)
    # Viper's pointer types are built-in names on MicroPython (the stubs say so too).
    for name in ("ptr8", "ptr16", "ptr32", "uint"):
        if not hasattr(builtins, name):
            setattr(builtins, name, object)
    for name, fn in (("ticks_us", _ticks_us), ("ticks_ms", _ticks_ms),
                     ("ticks_add", _ticks_add), ("ticks_diff", _ticks_diff)):
        if not hasattr(time, name):
            setattr(time, name, fn)
    if not hasattr(time, "sleep_us"):
        time.sleep_us = lambda us: time.sleep(us / 1e6)
        time.sleep_ms = lambda ms: time.sleep(ms / 1e3)
    if not hasattr(sys, "print_exception"):
        import traceback
        sys.print_exception = lambda e, file=None: traceback.print_exception(e, file=file)


_install()
