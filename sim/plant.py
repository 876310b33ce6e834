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
from array import array

TWO_PI = 2 * math.pi


class Noise:
    """Standard normal samples from a seeded table: fast and identical on
    CPython and MicroPython for the same seed."""

    SIZE = 1024

    def __init__(self, seed: int) -> None:
        s = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1
        table = array("f", bytes(4 * self.SIZE))
        for i in range(0, self.SIZE, 2):
            s, u1 = _xorshift(s)
            s, u2 = _xorshift(s)
            r = math.sqrt(-2.0 * math.log(u1))
            table[i] = r * math.cos(TWO_PI * u2)
            table[i + 1] = r * math.sin(TWO_PI * u2)
        self.table = table
        self.state = s
        self.i = 0

    def normal(self) -> float:
        self.i = (self.i + 617) % self.SIZE    # 617 is prime: visits all entries
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


# Tissue stiffness (N/m of needle penetration) by kind: thin skin over bone
# resists more than cheek; scar tissue most.
TISSUES = {"none": 0.0, "cheek": 450.0, "forehead": 650.0, "nose": 600.0,
           "chin": 550.0, "neck": 400.0, "scar": 1300.0, "body": 500.0}

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
        self.tach_sigma_us = kw.get("tach_sigma_us", 4.0)
        self.current_sigma_ma = kw.get("current_sigma_ma", 8.0)
        self.depth_sigma_um = kw.get("depth_sigma_um", 3.0)
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
        self.current_offset_ma = 0.0
        self.current_stuck = None              # a constant reading, mA
        self.depth_a_stuck = None              # um
        self.depth_b_stuck = None
        self.act_stuck = False
        self.extra_r_int = 0.0
        self.extra_heat_w = 0.0
        # tach: times of recent pulses (us), newest last
        self.pulses = [0] * (ppr + 1)
        self.pulse_count = 0
        self._disc: dict = {}

    # ---- discretisation ---------------------------------------------------
    def _matrices(self, dt_us: int) -> tuple:
        d = self._disc.get(dt_us)
        if d is None:
            dt = dt_us * 1e-6
            R, L, K, J, b = self.R, self.L, self.Ke, self.J, self.b
            m = [[-R / L, -K / L, 1 / L, 0.0],
                 [K / J, -b / J, 0.0, -1 / J],
                 [0.0, 0.0, 0.0, 0.0],
                 [0.0, 0.0, 0.0, 0.0]]
            e = _expm([[x * dt for x in row] for row in m])
            d = (e[0][0], e[0][1], e[0][2], e[0][3], e[1][0], e[1][1], e[1][2], e[1][3],
                 math.exp(-b / J * dt), (1 - math.exp(-b / J * dt)) / b)
            if len(self._disc) > 512:
                self._disc.clear()
            self._disc[dt_us] = d
        return d

    # ---- models -------------------------------------------------------------
    def ocv(self) -> float:
        s = self.soc
        prev = OCV_2S[0]
        for pt in OCV_2S:
            if s <= pt[0]:
                span = pt[0] - prev[0]
                if span <= 0:
                    return pt[1]
                return prev[1] + (pt[1] - prev[1]) * (s - prev[0]) / span
            prev = pt
        return OCV_2S[-1][1]

    def load_torque(self, theta: float) -> float:
        """Cam torque at shaft angle theta: return spring (conservative),
        skin (resists both ways while the needles are in tissue), jam."""
        half = 0.5 * self.stroke_m
        c = math.cos(theta)
        s = math.sin(theta)
        y = half * (1 - c)                     # needle travel 0..stroke
        tau = self.k_spring * y * half * s
        if self.tissue > 0:
            pen = y - (self.stroke_m - self.depth_um * 1e-6)
            if pen > 0:
                tau += self.tissue * pen * half * (s if s > 0 else -s)
        return tau + self.jam_torque

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
        w0 = self.w
        theta_mid = self.theta + 0.5 * w0 * dt
        tau = self.load_torque(theta_mid)
        if w0 > 1e-3:
            tau += self.tau_c
        elif tau < 0:
            tau = 0.0

        # battery terminal voltage sags with the current drawn last step
        i_bat = self.i_idle + (self.duty * self.i if self.i > 0 else 0.0)
        v_bat = self.ocv() - (self.r_int + self.extra_r_int) * i_bat
        self.v_bat = v_bat
        d = self._matrices(dt_us)
        if self.enable:
            v = self.duty * v_bat if not (self.brake and self.duty == 0) else 0.0
            i1 = d[0] * self.i + d[1] * w0 + d[2] * v + d[3] * tau
            w1 = d[4] * self.i + d[5] * w0 + d[6] * v + d[7] * tau
        else:                                   # coasting: no current path
            i1 = 0.0
            w1 = w0 * d[8] - tau * d[9]
        if w1 < 0:                              # the cam does not run backwards
            w1 = 0.0
        i_mean = 0.5 * (self.i + i1)
        self.i = i1
        self.w = w1
        theta0 = self.theta
        self.theta = theta0 + 0.5 * (w0 + w1) * dt
        self._pulses(theta0, self.theta, t_us - dt_us, dt_us)

        # winding temperature: first-order, exact step
        p_heat = i_mean * i_mean * self.R + self.extra_heat_w
        t_ss = self.t_amb + p_heat * self.r_th
        self.temp = t_ss + (self.temp - t_ss) * math.exp(-dt / (self.r_th * self.c_th))

        # battery charge and energy
        self.soc -= i_bat * dt / self.capacity_as
        if self.soc < 0:
            self.soc = 0.0
        self.energy_j += v_bat * i_bat * dt

        # depth actuator: lead screw, speed proportional to duty
        if not self.act_stuck:
            x = self.depth_um + self.act_duty * self.act_speed_um_s * dt
            self.depth_um = min(self.act_range_um, max(0.0, x))

    def _pulses(self, th0: float, th1: float, t0_us: int, dt_us: int) -> None:
        step = TWO_PI / self.ppr
        k0 = int(th0 / step)
        k1 = int(th1 / step)
        if k1 == k0 or self.tach_dead:
            return
        span = th1 - th0
        pulses = self.pulses
        for k in range(k0 + 1, k1 + 1):
            if self.tach_drop > 0 and self.noise.uniform() < self.tach_drop:
                continue
            frac = (k * step - th0) / span
            t = t0_us + int(frac * dt_us + self.noise.normal() * self.tach_sigma_us)
            pulses.pop(0)
            pulses.append(t)
            self.pulse_count += 1

    # ---- what sensors see ---------------------------------------------------
    def rate_sps(self) -> float:
        return self.w / TWO_PI

    def tach(self, now_us: int) -> tuple:
        """(pulse count, period of the last revolution us, age of last pulse us)."""
        p = self.pulses
        if self.pulse_count <= self.ppr:
            period = 0
        else:
            period = p[-1] - p[0]
        age = now_us - p[-1] if self.pulse_count else now_us
        return self.pulse_count, period, age

    def current_ma(self) -> float:
        if self.current_stuck is not None:
            return self.current_stuck
        return self.i * 1000.0 + self.current_offset_ma + self.noise.normal() * self.current_sigma_ma

    def depth_a_um(self) -> float:
        if self.depth_a_stuck is not None:
            return self.depth_a_stuck
        return self.depth_um + self.noise.normal() * self.depth_sigma_um

    def depth_b_um(self) -> float:
        if self.depth_b_stuck is not None:
            return self.depth_b_stuck
        return self.depth_um + self.noise.normal() * self.depth_sigma_um
