"""Simulated pens drawn from a board's declared tolerances.

A real pen is not the nominal one: its motor constant, winding, friction and
rotor inertia, its battery and its sensors each sit somewhere inside the
spread its parts are declared with (the board's "tolerances", from
boards/parts.py).  `sample(board, rng)` draws one such pen as keyword
arguments for sim.plant.Plant (SimPen's plant_kw); `corners(board)` gives
the extreme pens; `describe(kw)` says how a pen differs from nominal.

    from sim.population import sample
    pen = SimPen(board, plant_kw=sample(board, random.Random(3)) | {"soc": 0.5})

Used by tests/test_tolerance.py and bench/tolerance.py (no false fault for any
pen inside the tolerances), and meant for population campaigns.
"""

from __future__ import annotations

import math
import random
from typing import Any

# Board tolerance entry -> the plant's keyword (sim.plant.Plant), per part.
PLANT_KW = {
    ("motor", "ke_v_s"): "Ke",
    ("motor", "resistance_ohm"): "R",
    ("motor", "friction_nm"): "tau_c",
    ("motor", "viscous_nm_s"): "b",
    ("motor", "inertia_kg_m2"): "J",
    ("battery", "r_int_ohm"): "r_int",
    ("battery", "capacity_mah"): "capacity_mah",
    ("sensors", "current_gain"): "current_gain",
    ("sensors", "current_offset_ma"): "current_offset_ma",
    ("skin", "load"): "skin_k",
}


def tolerances(board: dict[str, Any]) -> dict[str, Any]:
    tol = board.get("tolerances")
    if not isinstance(tol, dict):
        raise ValueError(f"board '{board.get('name', '?')}' declares no tolerances")
    return tol


def nominal(board: dict[str, Any]) -> dict[str, float]:
    """The nominal pen's plant keywords (battery reading exact, no noise)."""
    tol = tolerances(board)
    kw = {name: float(tol[part][key][0]) for (part, key), name in PLANT_KW.items()}
    kw.update(vbat_gain=1.0, vbat_offset_mv=0.0, vbat_sigma_mv=0.0)
    return kw


def _battery_reading(tol: dict[str, Any], rng: random.Random) -> dict[str, float]:
    # gain and offset together stay within the declared accuracy around the
    # critical level (6.2 V): half of it as gain, the rest as offset
    acc = float(tol["sensors"]["battery_accuracy_mv"])
    gain = rng.uniform(-1.0, 1.0) * acc / 2 / 6200.0
    offset = rng.uniform(-1.0, 1.0) * (acc - abs(gain) * 6200.0)
    return {"vbat_gain": 1.0 + gain, "vbat_offset_mv": offset,
            "vbat_sigma_mv": float(tol["sensors"]["battery_noise_mv"])}


def sample(board: dict[str, Any], rng: random.Random, skin: bool = True) -> dict[str, float]:
    """One pen from the board's tolerances, as sim.plant.Plant keywords.

    Every entry uniform in [min, max]; the battery reading's error uniform
    within the declared accuracy, with the declared noise.  skin=False keeps
    the skin load at its nominal (a population of pens, not of patients)."""
    tol = tolerances(board)
    kw: dict[str, float] = {}
    for (part, key), name in PLANT_KW.items():
        nom, lo, hi = tol[part][key]
        kw[name] = float(rng.uniform(lo, hi)) if (skin or part != "skin") else float(nom)
    kw.update(_battery_reading(tol, rng))
    return kw


def corners(board: dict[str, Any], rng: random.Random | None = None, n: int = 8) -> list[dict[str, float]]:
    """Extreme pens: the corners that stress the fault checks (low and high
    motor constant with high and low friction, heavy rotor, high winding
    resistance), then random corners of the whole box up to `n`."""
    tol = tolerances(board)
    rng = rng or random.Random(1)

    def pen(**ends: str) -> dict[str, float]:
        kw = nominal(board)
        for (part, key), name in PLANT_KW.items():
            end = ends.get(name)
            if end is not None:
                kw[name] = float(tol[part][key][1 if end == "min" else 2])
        return kw

    out = [
        pen(Ke="min", tau_c="max", b="max", J="max"),
        pen(Ke="min", tau_c="min", b="min", J="max", R="max"),
        pen(Ke="max", tau_c="max", b="max", J="min", R="min"),
        pen(Ke="max", tau_c="min", b="min", J="max", R="max"),
        pen(Ke="min", R="max", current_gain="min", current_offset_ma="min"),
        pen(Ke="max", R="min", current_gain="max", current_offset_ma="max", J="min"),
    ]
    while len(out) < n:
        out.append(pen(**{name: rng.choice(("min", "max")) for name in PLANT_KW.values() if name != "skin_k"}))
    for kw in out:
        kw.update(_battery_reading(tol, rng))
    return out[:n]


def describe(kw: dict[str, float], board: dict[str, Any]) -> str:
    """How a pen differs from nominal, e.g. 'Ke -20% J x3.0'."""
    nom = nominal(board)
    parts = []
    for name in ("Ke", "R", "tau_c", "b", "J", "r_int", "capacity_mah", "current_gain", "skin_k"):
        if name in kw and nom[name] and abs(kw[name] / nom[name] - 1) > 0.005:
            f = kw[name] / nom[name]
            parts.append(f"{name} x{f:.2f}" if name in ("J", "skin_k") else f"{name} {100 * (f - 1):+.0f}%")
    if abs(kw.get("current_offset_ma", 0.0)) >= 1:
        parts.append(f"Iofs {kw['current_offset_ma']:+.0f}mA")
    if "vbat_gain" in kw:
        err = (kw["vbat_gain"] - 1) * 6200 + kw.get("vbat_offset_mv", 0.0)
        if abs(err) >= 1:
            parts.append(f"Vbat {err:+.0f}mV")
    return " ".join(parts) or "nominal"


# ---- exercising a pen --------------------------------------------------------
# The design load: the stiffest skin and deepest depth the pen is specified
# to run in at every level, as tissue stiffness x depth^2 (N/m mm^2): scar
# at 1.5 mm (sim.plant.TISSUES).  Skin x2 is inside it on the face.
DESIGN_LOAD = 9000.0 * 1.5 ** 2
FACE = ("forehead", "cheek", "nose", "chin", "neck", "scalp", "scar")


def depth_within_design(tissue: str, skin_k: float, want_um: int) -> int:
    """The deepest 50 um step up to want_um whose skin load is inside the
    design load."""
    from sim.plant import TISSUES
    k = TISSUES[tissue] * skin_k
    um = want_um
    while um > 250 and k * (um / 1000) ** 2 > DESIGN_LOAD:
        um -= 50
    return um


def exercise(board: dict[str, Any], plant_kw: dict[str, float], seed: int = 1, level: int = 1,
             to_level: int = 6, tissue: str = "cheek", depth_um: int = 1000, contacts: int = 3,
             soc: float = 0.9) -> dict[str, Any]:
    """A pen through a stretch of treatment: start at `level` in the air
    (1.5 s), `contacts` passes in `tissue` (2.5 s in, 0.7 s out), a level
    change to `to_level`, more passes, a stop and an immediate restart (the
    rotor still coasting).  About 12 s + 3.2 s per contact of pen time.

    Returns {"faults": [(t_s, [names])], "warnings": [(t_s, name)],
    "shortfall_s": seconds the shortfall warning was shown, "learned": the
    back-EMF constant learned (fraction of nominal, or None), "short_ms":
    for each fault, the shortfall fault's own leaky count (+10 ms per 10 ms
    with the true stroke rate, the plant's, more than 15 % short of the
    level's, -10 ms otherwise) run on the true rate}.  A `shortfall` fault
    that count backs is the pen unable to deliver, not a false fault (see
    false_faults())."""
    from pen import faults as names
    from pen import tick as T
    from sim.plant import TISSUES
    from sim.rig import SimPen

    kw = dict(plant_kw)
    kw["soc"] = soc
    pen = SimPen(board, seed=seed, plant_kw=kw, level=level, depth_um=depth_um, zone="scars",
                 profile="professional")
    m = pen.m
    out: dict[str, Any] = {"faults": [], "warnings": [], "shortfall_s": 0.0, "learned": None, "short_ms": []}
    seen = {"f": 0, "w": 0}
    t0 = pen.clock.now_us
    short = [0]                                # the true rate's leaky shortfall count, ms

    def run(ms: int) -> None:
        for _ in range(ms // 10):
            th = pen.plant.theta
            pen.run_ms(10)
            f, w = m[T.S_FAULTS], m[T.S_WARN]
            t = (pen.clock.now_us - t0) / 1e6
            if m[T.S_STATE] == T.ST_RUNNING and m[T.S_TARGET_CHZ] > 0:
                true = (pen.plant.theta - th) / (2 * math.pi) / 0.01
                if true < 0.85 * m[T.S_TARGET_CHZ] / 100:
                    short[0] += 10
                elif short[0] > 0:
                    short[0] -= 10
            if f & ~seen["f"]:
                out["faults"].append((t, names.names(f & ~seen["f"])))
                out["short_ms"].append(short[0])
            for n in names.names(w & ~seen["w"], names.WARNINGS):
                out["warnings"].append((t, n))
            if w & getattr(T, "W_SHORTFALL", 0):
                out["shortfall_s"] += 0.01
            seen["f"], seen["w"] = f, w

    def passes(n: int) -> None:
        for _ in range(n):
            pen.plant.tissue = TISSUES[tissue]
            run(2500)
            pen.plant.tissue = 0.0
            run(700)

    run(300)
    pen.core.start()
    run(1500)
    passes(contacts)
    pen.core.set_level(to_level)
    run(1500)
    passes(max(1, contacts // 2))
    pen.core.stop()
    run(150)
    if not m[T.S_FAULTS]:
        pen.core.start()
        run(1500)
        pen.core.stop()
        run(200)
    if hasattr(T, "S_KE_N") and m[T.S_KE_N] >= m[T.P_KE_N]:     # (an older tick learns nothing)
        out["learned"] = m[T.S_KE_Q10] / m[T.P_FF_Q10]
    return out


def false_faults(result: dict[str, Any], real_ms: int = 2500) -> list[tuple[float, list[str]]]:
    """The faults of an exercise() that were not the pen's real state: all
    but a `shortfall` fault whose count run on the true stroke rate had
    reached real_ms (of the 3 s the tick's count needs: the tach's rate is
    filtered, the true one sampled every 10 ms)."""
    return [(t, f) for (t, f), ms in zip(result["faults"], result["short_ms"])
            if not (f == ["shortfall"] and ms >= real_ms)]
