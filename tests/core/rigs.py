# Test rigs shared by the portable core tests (CPython and MicroPython).
from boards.virtual import BOARD
from pen import tick as T
from pen.core import Core
from sim.rig import SimPen

ADC = BOARD["adc"]


def counts(value, key):
    a = ADC[key]
    return int(value * 65536 / a["full_scale"]) + a["offset"]


class Bench:
    """A bare core with hand-set inputs: one tick at a time, no physics.

    Inputs start healthy: 12-pin cartridge, 7.6 V, 30 C, both depth sensors at
    `depth_um`, tach at the target rate of the level.
    """

    def __init__(self, level=1, depth_um=500, zone="cheeks", profile="professional"):
        self.core = Core(BOARD, level=level, depth_um=depth_um, zone=zone, profile=profile)
        self.m = self.core.m
        self.set_sensors(depth_um=depth_um)
        self.tach_sps(0)
        self.tick()

    def set_sensors(self, vbat_mv=7600, temp_c=30, current_ma=150, depth_um=500, depth_b_um=None):
        m = self.m
        m[T.I_VBAT_RAW] = counts(vbat_mv, "battery")
        m[T.I_TEMP_RAW] = counts(temp_c * 10, "temperature")
        m[T.I_CURRENT_RAW] = counts(current_ma, "current")
        m[T.I_DEPTH_A_RAW] = counts(depth_um, "depth_a")
        m[T.I_DEPTH_B_RAW] = counts(depth_um if depth_b_um is None else depth_b_um, "depth_b")
        m[T.I_CART_PRESENT] = 1
        m[T.I_CART_TYPE] = 2

    def tach_sps(self, sps, age_us=100):
        m = self.m
        m[T.I_TACH_PERIOD_US] = 1000000 // sps if sps else 0
        m[T.I_TACH_AGE_US] = age_us

    def tick(self, n=1):
        m = self.m
        r = 0
        for _ in range(n):
            m[T.I_HEARTBEAT] = (m[T.I_HEARTBEAT] + 1) & 0x3FFFFFFF
            r = T.tick(m)
        return r

    def run_at_level(self, ticks=400):
        """Start and run with the tach following the setpoint exactly."""
        self.core.start()
        m = self.m
        for _ in range(ticks):
            ramp = m[T.S_RAMP_CHZ]
            self.tach_sps(ramp // 100 if ramp >= 100 else 0)
            self.tick()


def ready_pen(level=4, depth_um=500, zone="cheeks", seed=1, **kw):
    """A simulated pen, settled, cartridge fitted, ready to start."""
    p = SimPen(seed=seed, level=level, depth_um=depth_um, zone=zone, profile="professional", **kw)
    p.settle()
    return p


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("{} not raised by {}".format(exc.__name__, getattr(fn, "__name__", fn)))


class PowerCut(Exception):
    pass


class FakeFS:
    """An in-memory flash whose power can fail after `budget` units of work:
    each byte written is one unit, each rename or remove one more.  A write
    cut short leaves exactly the bytes written so far."""

    def __init__(self, files=None, budget=None):
        self.files = dict(files or {})
        self.budget = budget

    def _spend(self, n):
        if self.budget is None:
            return n
        if self.budget <= 0:
            raise PowerCut()
        done = min(n, self.budget)
        self.budget -= done
        return done

    def read(self, path):
        return self.files.get(path)

    def size(self, path):
        return len(self.files[path]) if path in self.files else -1

    def write(self, path, data):
        self.files[path] = b""
        done = self._spend(len(data))
        self.files[path] = bytes(data[:done])
        if done < len(data):
            raise PowerCut()

    def append(self, path, data):
        old = self.files.get(path, b"")
        done = self._spend(len(data))
        self.files[path] = old + bytes(data[:done])
        if done < len(data):
            raise PowerCut()

    def rename(self, old, new):
        self._spend(1)
        self.files[new] = self.files.pop(old)

    def remove(self, path):
        if path in self.files:
            self._spend(1)
            del self.files[path]


class FakeLink:
    """The serial link of a simulated pen: bytes in, lines out, to a host
    that reads everything at once."""

    def __init__(self, budget=None, chunk=None):
        self.inbox = b""
        self.lines = []
        self.dropped = 0

    def read(self):
        data, self.inbox = self.inbox, b""
        return data

    def write(self, line):
        self.lines.append(line)
        return True

    def room(self):
        return 2048

    def pending(self):
        return 0

    def pump(self):
        return 0


def linked_pen(level=4, depth_um=500, zone="cheeks", fs=None, **kw):
    """A settled simulated pen with a serial link, settings and a log."""
    from pen.eventlog import EventLog
    from pen.settings import Settings
    link = FakeLink()
    fs = fs or FakeFS()
    settings = Settings("settings.rec", fs)           # what the pen remembers
    settings.load()
    for key, value in (("level", level), ("depth_um", depth_um), ("zone", zone), ("profile", "professional")):
        settings.set(key, value)
    settings.save()
    p = SimPen(link=link, settings=settings, log=EventLog("events.log", fs), **kw)
    p.link = link
    p.app.boot()
    p.settle()
    return p


def ask(pen, line, ms=20):
    """Send one command line; returns the answer lines it produced."""
    n = len(pen.link.lines)
    pen.link.inbox += line.encode() + b"\n" if isinstance(line, str) else line
    pen.run_ms(ms)
    return [x for x in pen.link.lines[n:] if not x.startswith("T ")]
