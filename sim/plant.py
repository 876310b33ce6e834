# Plant models of the pen: DC motor turning the needle cam, skin load,
# tachometer, current sense, depth actuator and sensors, battery, motor
# temperature.  Pure Python that also runs inside MicroPython (the virtual
# pen), deterministic for a seed on both.
#
# The motor is linear between control ticks, so it is stepped with the exact
# discretisation of  d[i, w]/dt = A [i, w] + B [V, load]  (zero-order hold on
# the PWM voltage and the load torque), computed once per step length.
# Everything nonlinear (cam and skin torque, friction, battery sag) is
# evaluated at the start of the step.
import math
import sys
from array import array

TWO_PI = 2 * math.pi
_CPYTHON = sys.implementation.name != "micropython"


class Noise:
    """Standard normal samples from a seeded table: fast and identical on
    CPython and MicroPython for the same seed."""

    SIZE = 256

    def __init__(self, seed: int) -> None:
        s = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1
        table = array("f", bytes(4 * self.SIZE))
        for i in range(0, self.SIZE, 2):
            s, u1 = _xorshift(s)
            s, u2 = _xorshift(s)
            r = math.sqrt(-2.0 * math.log(u1))
            table[i] = r * math.cos(TWO_PI * u2)
            table[i + 1] = r * math.sin(TWO_PI * u2)
        # CPython indexes a list of floats faster than an array('f'); the
        # values are the same float32-rounded numbers either way.
        self.table = list(table) if _CPYTHON else table
        self.state = s
        self.i = 0

    def normal(self) -> float:
        self.i = (self.i + 97) & 255           # 97 is odd: visits all 256 entries
        return self.table[self.i]

    def uniform(self) -> float:
        self.state, u = _xorshift(self.state)
        return u


def _xorshift(s: int) -> tuple:
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    return s, (s + 0.5) / 4294967296.0


def _expm(a: list) -> list:
    """Matrix exponential (small square list-of-lists), scaling and squaring."""
    n = len(a)
    norm = max(sum(abs(x) for x in row) for row in a)
    k = 0
    while norm > 0.5:
        norm /= 2
        k += 1
    scale = 1.0 / (1 << k)
    a = [[x * scale for x in row] for row in a]
    result = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    term = [row[:] for row in result]
    for m in range(1, 14):
        term = _matmul(term, a)
        term = [[x / m for x in row] for row in term]
        result = [[result[i][j] + term[i][j] for j in range(n)] for i in range(n)]
    for _ in range(k):
        result = _matmul(result, result)
    return result


def _matmul(a: list, b: list) -> list:
    n, p = len(a), len(b[0])
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(p)] for i in range(n)]


# Tissue stiffness (N/m of needle penetration, whole cartridge): thin skin
# over bone resists more than cheek; scar tissue most.  A 12-needle cartridge
# meets 2-5 N at working depth (published insertion forces of 0.1-0.5 N per
# needle).  Mean cam torque = k * (depth)^2 / (2 pi) at full engagement:
# scar at 1.5 mm is 3.2 mN m, near what the motor gives at 200 strokes/s.
TISSUES = {"none": 0.0, "cheek": 5000.0, "forehead": 8000.0, "nose": 7000.0,
           "chin": 6000.0, "neck": 4500.0, "scalp": 6500.0, "scar": 9000.0, "body": 5500.0}

# Open-circuit voltage of the 2S Li-ion pack against state of charge.
OCV_2S = ((0.0, 6.00), (0.05, 6.60), (0.10, 6.90), (0.20, 7.20), (0.50, 7.50),
          (0.80, 7.90), (1.00, 8.40))


class Plant:
    """The pen's physics.  Inputs: drive(), environment attributes; outputs:
    the attributes the simulated HAL reads (tach pulse times, current, ...)."""

    def __init__(self, seed: int = 1, ppr: int = 2, **kw: float) -> None:
        # motor
        self.R = kw.get("R", 2.5)              # ohm
        self.L = kw.get("L", 100e-6)           # H
        self.Ke = kw.get("Ke", 0.004)          # V/(rad/s) = Kt in N m/A
        self.J = kw.get("J", 1.0e-6)           # kg m^2, rotor + cam
        self.b = kw.get("b", 2.0e-7)           # N m/(rad/s) viscous
        self.tau_c = kw.get("tau_c", 4.0e-4)   # N m Coulomb friction
        # cam and needles
        self.stroke_m = kw.get("stroke_m", 3.0e-3)
        self.k_spring = kw.get("k_spring", 150.0)   # needle return spring, N/m
        # battery
        self.capacity_as = kw.get("capacity_mah", 800.0) * 3.6
        self.r_int = kw.get("r_int", 0.15)
        self.soc = kw.get("soc", 0.95)
        self.i_idle = kw.get("i_idle", 0.03)
        # thermal
        self.t_amb = kw.get("t_amb", 25.0)
        self.r_th = kw.get("r_th", 20.0)       # K/W winding to ambient
        self.c_th = kw.get("c_th", 6.0)        # J/K
        # depth actuator
        self.act_speed_um_s = kw.get("act_speed_um_s", 5000.0)
        self.act_range_um = kw.get("act_range_um", 3000.0)
        # sensors
        self.ppr = ppr
        # tachometer edges: timing jitter (sigma, us) on every edge; ringing:
        # with probability tach_ring an edge is followed by 1-3 more rising
        # edges within tach_ring_us (a slow, noisy edge on a long lead; the
        # default 1 % keeps the decoder's glitch merge at work in every run);
        # spurious pulses (interference) somewhere in the next period with
        # probability tach_extra per edge; lost pulses: tach_drop below.
        self.tach_sigma_us = kw.get("tach_sigma_us", 4.0)
        self.tach_ring = kw.get("tach_ring", 0.01)
        self.tach_ring_us = kw.get("tach_ring_us", 6.0)
        self.tach_extra = kw.get("tach_extra", 0.0)
        self.current_sigma_ma = kw.get("current_sigma_ma", 8.0)
        self.depth_sigma_um = kw.get("depth_sigma_um", 3.0)
        # a real pen's spread (sim.population draws these from the board's
        # declared tolerances): skin load against sim.plant.TISSUES, the
        # current sensor's gain and offset, the battery reading's gain,
        # offset and noise (sigma) as the ADC sees it
        self.skin_k = kw.get("skin_k", 1.0)
        self.current_gain = kw.get("current_gain", 1.0)
        self.vbat_gain = kw.get("vbat_gain", 1.0)
        self.vbat_offset_mv = kw.get("vbat_offset_mv", 0.0)
        self.vbat_sigma_mv = kw.get("vbat_sigma_mv", 0.0)
        self.noise = Noise(seed)

        # state
        self.t_us = 0
        self.i = 0.0
        self.w = 0.0
        self.theta = 0.0
        self.temp = self.t_amb
        self.depth_um = kw.get("depth_um", 200.0)
        self.energy_j = 0.0
        self.v_bat = self.ocv()
        # drive (set by the HAL from the tick's outputs)
        self.duty = 0.0
        self.brake = True
        self.enable = False
        self.act_duty = 0.0
        # environment
        self.tissue = 0.0                      # stiffness while in contact
        self.cart_present = True
        self.cart_type = 2
        # injected faults (sim.faults sets these)
        self.jam_torque = 0.0                  # extra load, N m
        self.tach_drop = 0.0                   # probability a pulse is lost
        self.tach_dead = False
        self.current_offset_ma = kw.get("current_offset_ma", 0.0)
        self.current_stuck = None              # a constant reading, mA
        self.depth_a_stuck = None              # um
        self.depth_b_stuck = None
        self.act_stuck = False
        self.act_force = None                  # actuator driven at this duty whatever is asked
        self.extra_r_int = 0.0
        self.short_ohm = 0.0                   # a short across the motor terminals
        self.extra_heat_w = 0.0
        self.i_short = 0.0                     # through the short, A
        # tach: rising edges (us, in time order) the HAL has not taken yet,
        # ringing and spurious ones included; true pulses counted
        self.edges: list = []
        self.pulse_count = 0
        self._disc: dict = {}
        self._dt_us = 0
        self._d: tuple | None = ()
        self._parts: list | None = None
        self._cool = 1.0                       # winding cooling factor for the step
        self._ocv_soc = -1.0
        self._ocv = 0.0
        self._per_rad = ppr / TWO_PI

    # ---- discretisation ---------------------------------------------------
    def _matrices(self, dt_us: int, force: bool = False) -> tuple | None:
        """Exact discretisation for a step of dt_us: (A 2x2, B 2x2 for V and
        load, coasting decay and gain, cooling factor).  Cached for the first
        few lengths (the simulator's fixed period); None past that unless
        forced (power-of-two parts)."""
        d = self._disc.get(dt_us)
        if d is None:
            if len(self._disc) >= 4 and not force:
                return None
            dt = dt_us * 1e-6
            R, L, K, J, b = self.R, self.L, self.Ke, self.J, self.b
            m = [[-R / L, -K / L, 1 / L, 0.0],
                 [K / J, -b / J, 0.0, -1 / J],
                 [0.0, 0.0, 0.0, 0.0],
                 [0.0, 0.0, 0.0, 0.0]]
            e = _expm([[x * dt for x in row] for row in m])
            d = (e[0][0], e[0][1], e[0][2], e[0][3], e[1][0], e[1][1], e[1][2], e[1][3],
                 math.exp(-b / J * dt), (1 - math.exp(-b / J * dt)) / b)
            self._disc[dt_us] = d
        return d

    def _binary(self, dt_us: int) -> list:
        """Steps of 2**k us (k <= 13) adding up to dt_us: exact, and few
        matrices to keep (see precompute())."""
        parts = []
        for _ in range(dt_us >> 13):
            parts.append(self._matrices(8192, force=True))
        bit = 4096
        while bit:
            if dt_us & bit:
                parts.append(self._matrices(bit, force=True))
            bit >>= 1
        return parts

    def precompute(self) -> None:
        """Compute the power-of-two steps now, while the heap is fresh (the
        virtual pen, whose step lengths follow the wall clock)."""
        for k in range(14):
            self._matrices(1 << k, force=True)

    # ---- models -------------------------------------------------------------
    def ocv(self) -> float:
        s = self.soc if self.soc > 0 else 0.0
        prev = OCV_2S[0]
        for pt in OCV_2S:
            if s <= pt[0]:
                span = pt[0] - prev[0]
                if span <= 0:
                    return pt[1]
                return prev[1] + (pt[1] - prev[1]) * (s - prev[0]) / span
            prev = pt
        return OCV_2S[-1][1]

    def drive(self, duty: float, brake: bool, enable: bool, act_duty: float) -> None:
        self.duty = duty
        self.brake = brake
        self.enable = enable
        self.act_duty = act_duty

    def advance(self, t_us: int) -> None:
        """Run the physics from self.t_us up to t_us."""
        dt_us = t_us - self.t_us
        if dt_us <= 0:
            return
        self.t_us = t_us
        dt = dt_us * 1e-6
        if dt_us != self._dt_us:
            self._dt_us = dt_us
            self._d = self._matrices(dt_us)
            # a step length not seen before (the virtual pen runs on wall
            # time): composed exactly from power-of-two steps, cached
            self._parts = None if self._d is not None else self._binary(dt_us)
            self._cool = math.exp(-dt / (self.r_th * self.c_th))
        d = self._d if self._d is not None else self._parts[0]  # type: ignore[index]
        w0 = self.w
        i0 = self.i
        duty = self.duty
        if w0 == 0.0 and i0 == 0.0 and not self.enable and self.jam_torque == 0.0 and self.i_short == 0.0:
            self._rest(dt, d)                 # motor at rest: nothing turns
            return
        # Cam torque at mid-step: the needle return spring (conservative), skin
        # (resisting both ways while the needles are in tissue), a jam.
        th = self.theta + 0.5 * w0 * dt
        half = 0.5 * self.stroke_m
        c = math.cos(th)
        sn = math.sin(th)
        y = half * (1 - c)
        tau = self.k_spring * y * half * sn + self.jam_torque
        if self.tissue > 0:
            pen = y - (self.stroke_m - self.depth_um * 1e-6)
            if pen > 0:
                tau += self.tissue * self.skin_k * pen * half * (sn if sn > 0 else -sn)
        if w0 > 1e-3:
            tau += self.tau_c
        elif tau < 0:
            tau = 0.0

        if self.enable:
            # Battery and motor solved together for the step: the terminal
            # voltage V = OCV - Rb * Ibat depends on the motor current, which
            # is linear in the applied voltage duty*V over the exact step:
            # i_mean = a + b * duty * V.  (Explicitly, with last step's
            # current, a large Rb makes V and I oscillate tick by tick.)
            drive = duty if not (self.brake and duty == 0) else 0.0
            if self._parts is None:
                a = 0.5 * (i0 + d[0] * i0 + d[1] * w0 + d[3] * tau)
                b = 0.5 * d[2]
            else:
                a, b = i0, 0.0                  # (wall-clock steps: explicit)
            rb = self.r_int + self.extra_r_int
            if self.soc - self._ocv_soc > 1e-4 or self._ocv_soc - self.soc > 1e-4:
                self._ocv_now()
            ocv = self._ocv
            i_idle = self.i_idle
            if self.short_ohm > 0:
                g = 1.0 / self.short_ohm
                v_bat = (ocv - rb * (i_idle + drive * a)) / (1.0 + rb * drive * drive * (b + g))
            else:
                g = 0.0
                v_bat = (ocv - rb * (i_idle + drive * a)) / (1.0 + rb * drive * drive * b)
            i_mot = a + b * drive * v_bat
            if i_mot < 0:                       # regenerating: the pack does not charge
                i_mot = 0.0
                v_bat = (ocv - rb * i_idle) / (1.0 + rb * drive * drive * g)
            self.i_short = i_short = drive * v_bat * g
            i_bat = i_idle + drive * (i_mot + i_short)
            # the pack delivers i_bat at v_bat for dt (_battery(), inlined)
            self.v_bat = v_bat
            self.soc -= i_bat * dt / self.capacity_as
            self.energy_j += v_bat * i_bat * dt
            v = drive * v_bat
            if self._parts is None:
                i1 = d[0] * i0 + d[1] * w0 + d[2] * v + d[3] * tau
                w1 = d[4] * i0 + d[5] * w0 + d[6] * v + d[7] * tau
            else:
                i1, w1 = i0, w0
                for dp in self._parts:
                    i1, w1 = (dp[0] * i1 + dp[1] * w1 + dp[2] * v + dp[3] * tau,
                              dp[4] * i1 + dp[5] * w1 + dp[6] * v + dp[7] * tau)
        else:                                   # coasting: no current path
            i1 = 0.0
            self.i_short = 0.0
            self._battery(self.i_idle, self._ocv_now() - (self.r_int + self.extra_r_int) * self.i_idle, dt)
            w1 = w0
            for dp in self._parts or (d,):
                w1 = w1 * dp[8] - tau * dp[9]
        if w1 < 0:                              # the cam does not run backwards
            w1 = 0.0
        i_mean = 0.5 * (i0 + i1)
        self.i = i1
        self.w = w1
        theta0 = self.theta
        theta1 = theta0 + 0.5 * (w0 + w1) * dt
        self.theta = theta1
        if int(theta1 * self._per_rad) != int(theta0 * self._per_rad):
            self._pulses(theta0, theta1, t_us - dt_us, dt_us)

        # winding temperature: first-order, exact step
        t_ss = self.t_amb + (i_mean * i_mean * self.R + self.extra_heat_w) * self.r_th
        self.temp = t_ss + (self.temp - t_ss) * self._cool

        if self.act_duty != 0 or self.act_force is not None:
            self._actuate(dt)

    def _rest(self, dt: float, d: tuple | None) -> None:
        """advance() with the motor stopped and unpowered: cooling, idle
        drain and the depth actuator only."""
        self._battery(self.i_idle, self._ocv_now() - (self.r_int + self.extra_r_int) * self.i_idle, dt)
        t_ss = self.t_amb + self.extra_heat_w * self.r_th
        self.temp = t_ss + (self.temp - t_ss) * self._cool
        self._actuate(dt)

    def _ocv_now(self) -> float:
        # looked up again only when the charge has moved
        if abs(self.soc - self._ocv_soc) > 1e-4:
            self._ocv_soc = self.soc
            self._ocv = self.ocv()
        return self._ocv

    def _battery(self, i_bat: float, v_bat: float, dt: float) -> None:
        """The pack delivers i_bat at terminal voltage v_bat for dt."""
        self.v_bat = v_bat
        self.soc -= i_bat * dt / self.capacity_as
        self.energy_j += v_bat * i_bat * dt

    def _actuate(self, dt: float) -> None:
        # depth actuator: lead screw, speed proportional to duty
        a = self.act_duty if self.act_force is None else self.act_force
        if a != 0 and not self.act_stuck:
            x = self.depth_um + a * self.act_speed_um_s * dt
            self.depth_um = self.act_range_um if x > self.act_range_um else 0.0 if x < 0 else x

    def _pulses(self, th0: float, th1: float, t0_us: int, dt_us: int) -> None:
        step = TWO_PI / self.ppr
        k0 = int(th0 / step)
        k1 = int(th1 / step)
        if k1 == k0 or self.tach_dead:
            return
        span = th1 - th0
        nz = self.noise
        for k in range(k0 + 1, k1 + 1):
            if self.tach_drop > 0 and nz.uniform() < self.tach_drop:
                continue
            frac = (k * step - th0) / span
            t = t0_us + int(frac * dt_us + nz.normal() * self.tach_sigma_us)
            self._edge(t)
            self.pulse_count += 1
            if self.tach_ring > 0 and nz.uniform() < self.tach_ring:
                for _ in range(1 + int(nz.uniform() * 3)):
                    self._edge(t + 1 + int(nz.uniform() * self.tach_ring_us))
            if self.tach_extra > 0 and nz.uniform() < self.tach_extra and self.w > 1.0:
                self._edge(t + int(nz.uniform() * step / self.w * 1e6))

    def _edge(self, t: int) -> None:
        # into the pending edges, keeping them in time order
        edges = self.edges
        i = len(edges)
        while i > 0 and edges[i - 1] > t:
            i -= 1
        edges.insert(i, t)

    # ---- what sensors see ---------------------------------------------------
    def rate_sps(self) -> float:
        return self.w / TWO_PI

    def sense(self) -> tuple:
        """(current mA, depth A um, depth B um) as the sensors read them now:
        noise and injected faults included.  One call per tick."""
        nz = self.noise
        tab = nz.table
        i = nz.i
        i1 = (i + 97) & 255
        i2 = (i1 + 97) & 255
        i3 = (i2 + 97) & 255
        nz.i = i3
        cur = self.current_stuck
        if cur is None:
            cur = ((self.i + self.i_short) * 1000.0 * self.current_gain + self.current_offset_ma
                   + tab[i1] * self.current_sigma_ma)
        da = self.depth_a_stuck
        if da is None:
            da = self.depth_um + tab[i2] * self.depth_sigma_um
        db = self.depth_b_stuck
        if db is None:
            db = self.depth_um + tab[i3] * self.depth_sigma_um
        return cur, da, db

    def vbat_sense_mv(self) -> float:
        """The battery voltage as the ADC reads it (mV): gain, offset and
        noise of the reading included.  One call per battery sample."""
        v = self.v_bat * 1000.0 * self.vbat_gain + self.vbat_offset_mv
        if self.vbat_sigma_mv:
            v += self.noise.normal() * self.vbat_sigma_mv
        return v
