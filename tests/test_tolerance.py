"""Pens across the spread of their parts (issue 13): no false fault for any
pen inside the board's declared tolerances (boards/parts.py), every real
fault still caught on off-spec pens, the stroke-rate shortfall warned within
its bound, the battery check caught hovering just below critical.

The held-out cases of the issue run as load_steps sessions (every level,
skin steps); the sweep exercises corner and random pens from
sim.population; bench/tolerance.py runs the bigger sweep."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from boards.virtual import BOARD
from pen import faults
from pen import tick as T
from sim import campaign, population, runner, scenario, summary
from sim.rig import SimPen


def load_steps(**plant: float) -> tuple[dict[str, Any], list[float]]:
    """The load_steps session (levels 1-6, cheek, forehead and scar steps)
    on a pen with these plant parameters: (summary, times the shortfall
    warning came on)."""
    s = runner.Session(scenario.load("load_steps"))
    for k, v in plant.items():
        setattr(s.pen.plant, k, v)
    s.pen.plant._disc.clear()
    m, pen = s.pen.m, s.pen
    warned: list[float] = []
    step = pen.app.sched.step
    was = [0]

    def watched() -> None:
        step()
        w = m[T.S_WARN] & T.W_SHORTFALL
        if w and not was[0]:
            warned.append(pen.clock.now_us / 1e6)
        was[0] = w

    pen.app.sched.step = watched
    return summary.summarize(s.run()), warned


# ---- the held-out cases --------------------------------------------------------------------------

HELD_OUT = {
    # back-EMF (= torque) constant 20 % low: false tach_mismatch at level 6 before
    "Ke -20%": {"Ke": 0.0032},
    "Ke -20%, friction +50%": {"Ke": 0.0032, "tau_c": 6e-4, "b": 3e-7},
    # rotor inertia x3: false current_sensor 1.7 s after the start (coasting after the overshoot)
    "inertia x3": {"J": 3e-6},
}


@pytest.mark.parametrize("case", sorted(HELD_OUT))
def test_held_out_off_spec_pens_run_without_false_faults(case: str) -> None:
    s, warned = load_steps(**HELD_OUT[case])
    assert s["faults"] == [], s["faults"]
    assert warned == []                                   # they deliver: no shortfall either
    worst = max(st["p95_abs_pct"] for row in s["stroke_rate"].values() for st in row.values())
    assert worst < 2.0, worst


@pytest.mark.parametrize("level", [1, 6])
def test_heavy_rotor_starts_without_overcurrent(level: int) -> None:
    # inertia x3 with the torque constant 20 % low: the acceleration current
    # tripped overcurrent at level 6; now the duty holds at the current limit
    pen = SimPen(seed=2, level=level, depth_um=800, zone="cheeks", profile="professional",
                 plant_kw={"J": 3e-6, "Ke": 0.0032})
    pen.settle()
    pen.core.start()
    peak = 0
    for _ in range(400):
        pen.run_ms(10)
        peak = max(peak, pen.m[T.S_CURRENT_MA])
    assert pen.m[T.S_FAULTS] == 0, faults.names(pen.m[T.S_FAULTS])
    assert peak < pen.m[T.P_OC_MA], peak
    assert abs(pen.m[T.S_RATE_CHZ] - pen.m[T.S_TARGET_CHZ]) * 100 < 2 * pen.m[T.S_TARGET_CHZ]
    assert pen.m[T.S_KE_N] == pen.m[T.P_KE_N]             # its constant learned
    assert abs(pen.m[T.S_KE_Q10] / pen.m[T.P_FF_Q10] - 0.8) < 0.04


@pytest.mark.parametrize("case", ["skin x2", "battery 7 %", "battery 15 %"])
def test_shortfall_warned_when_the_pen_cannot_deliver(case: str) -> None:
    plant = {"skin x2": {"skin_k": 2.0}, "battery 7 %": {"soc": 0.07}, "battery 15 %": {"soc": 0.15}}[case]
    s, warned = load_steps(**plant)
    assert warned, "no shortfall warning"
    assert s["faults"] == [], s["faults"]                 # a warning, not the fault
    assert min(warned) > 120                              # in the level 6 passes, where the duty saturates


def test_no_shortfall_warning_with_normal_skin() -> None:
    s, warned = load_steps()
    assert warned == [] and s["faults"] == []


# ---- the sweep -----------------------------------------------------------------------------------

def sweep_pens() -> list[dict[str, float]]:
    rng = random.Random(13)
    return population.corners(BOARD, rng, 6) + [population.sample(BOARD, rng) for _ in range(6)]


@pytest.mark.parametrize("i", range(12))
def test_sweep_no_false_faults(i: int) -> None:
    kw = sweep_pens()[i]
    rng = random.Random(100 + i)
    level, to = ((1, 6), (6, 3), (3, 1), (5, 2))[i % 4]
    tissue = rng.choice(population.FACE)
    depth = population.depth_within_design(tissue, kw["skin_k"], rng.choice(range(500, 1550, 50)))
    r = population.exercise(BOARD, kw, seed=i + 1, level=level, to_level=to, tissue=tissue, depth_um=depth,
                            soc=rng.uniform(0.2, 0.95), contacts=2)
    # no fault but a shortfall the plant's own stroke rate backs (the pen unable to deliver)
    assert population.false_faults(r) == [], (population.describe(kw, BOARD), level, to, tissue, depth, r)
    assert r["learned"] is not None
    assert abs(r["learned"] / (kw["Ke"] / 0.004) - 1) < 0.08, (r["learned"], kw["Ke"])


# ---- real faults on off-spec pens ----------------------------------------------------------------

# Detection bounds where an off-spec pen is slower than the campaign's
# nominal one: a rotor of x3 inertia takes longer to be stopped by a jam.
OFF_SPEC_BOUND_MS = {"jam": 200.0}
REAL_FAULTS = ("jam", "tach_dead", "output_short", "battery_empty", "current_sensor_dead", "missing_pulses",
               "current_sensor_short")


@pytest.mark.parametrize("kind", REAL_FAULTS)
def test_real_faults_caught_on_off_spec_pens(kind: str) -> None:
    pens = population.corners(BOARD, random.Random(2), 6)
    caught = 0
    for i, kw in enumerate(pens):
        r = campaign.run_one(kind, 7000 + 10 * i, kw)
        bound = OFF_SPEC_BOUND_MS.get(kind, r.bound_ms)
        problems = [v for v in r.violations if not (v.startswith("detected after") and (r.detect_ms or 0) <= bound)]
        assert not problems, (population.describe(kw, BOARD), r)
        caught += r.detect_ms is not None
    assert caught >= len(pens) - 2, caught                # (missing pulses may not provoke a 15 % error)


# ---- the shortfall's bound -----------------------------------------------------------------------

def true_rate(pen: SimPen, ms: int = 50) -> float:
    th = pen.plant.theta
    pen.run_ms(ms)
    return (pen.plant.theta - th) / (2 * math.pi) / (ms / 1000)


@pytest.mark.parametrize("plant", [{}, {"Ke": 0.0048, "J": 3e-6, "soc": 0.4}])
def test_shortfall_warning_and_fault_within_their_bounds(plant: dict[str, float]) -> None:
    # a drag on the cam the motor cannot carry at level 6: >15 % short
    pen = SimPen(seed=4, level=6, depth_um=800, zone="cheeks", profile="professional",
                 plant_kw=dict({"soc": 0.6}, **plant))
    pen.settle()
    pen.core.start()
    pen.run_ms(2000)
    assert pen.m[T.S_FAULTS] == 0 and not pen.m[T.S_WARN] & T.W_SHORTFALL
    pen.plant.jam_torque = 0.0045
    t = 0
    warned = None
    shorts = []
    while t < 5000 and not pen.m[T.S_FAULTS]:
        shorts.append(1 - true_rate(pen) / 200)
        t += 50
        if warned is None and pen.m[T.S_WARN] & T.W_SHORTFALL:
            warned = t
            assert "shortfall" in pen.core.status()["warnings"]
            assert pen.app.ui is not None and pen.app.ui.view.warning == "shortfall"   # the display, the LEDs
    assert min(shorts[4:]) > 0.15                           # short by more than 15 % throughout
    assert warned is not None and warned <= 1500, warned    # warning within 1.5 s
    assert faults.names(pen.m[T.S_FAULTS]) == ["shortfall"] and t <= 3500, (t, pen.m[T.S_FAULTS])
    logged = [e for e in pen.app.events if e[1] in ("warning", "fault")]
    assert [e[1] for e in logged] == ["warning", "fault"], logged     # the log has both
    assert logged[0][2].startswith("shortfall: ") and logged[1][2] == "shortfall"


# ---- the battery, hovering -----------------------------------------------------------------------

def test_battery_hovering_just_below_critical_is_caught() -> None:
    # true 6.180-6.199 V under load, read about 10 mV high with 5 mV noise
    pen = SimPen(seed=5, level=3, depth_um=800, zone="cheeks", profile="professional",
                 plant_kw={"soc": 0.5, "vbat_offset_mv": 10.0, "vbat_sigma_mv": 5.0})
    pen.settle()
    pen.core.start()
    pen.run_ms(1500)
    pen.plant.soc = 0.0168                       # open-circuit 6.20 V: 6.18-6.20 V under the running load
    t_below = None
    t = 0
    while t < 4000 and not pen.m[T.S_FAULTS]:
        pen.run_ms(10)
        t += 10
        v = pen.plant.v_bat
        if v < 6.2 and t_below is None:
            t_below = t
        if t_below is not None:
            assert 6.17 < v < 6.2, v
    assert t_below is not None
    assert pen.m[T.S_FAULTS] & T.F_BATT_CRITICAL, faults.names(pen.m[T.S_FAULTS])
    assert t - t_below <= 1000, t - t_below          # (measured: 0.70 s)
