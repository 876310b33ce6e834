"""Fault-injection campaign: every fault of the interlock, injected into a
running simulated pen at random times, speeds, depths and load states.

For every run it checks, tick by tick:

* the fault latches within its documented detection time, counted from the
  onset of the detectable condition on the plant (the true current above the
  limit, the true winding temperature above 70 C, ...), or from the injection
  where the fault itself is the condition (a dead sensor);
* the PWM duty written in the latching tick is 0, and no tick ever drives the
  motor while a fault is latched;
* it stays latched (300 ms more, cause still present);
* clearing works only as documented: refused while the cause is present,
  granted once it is gone, and the motor does not start by itself.

A run is fully determined by its RunSpec (fault kind, seed, pen, speed
level, depth, tissue, injection time); a campaign's Plan (seed, faults,
population) gives the spec of its run number i, so any run of any campaign
can be run again bit for bit (`needlepen campaign replay`).

    needlepen campaign run --runs 3400          (docs/campaign.md)
    python bench/campaign.py --runs 3000        (tests/test_campaign.py runs a small one)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from boards.virtual import BOARD as VIRTUAL
from pen import faults as fault_names
from pen import tick as T
from sim.plant import TISSUES
from sim.rig import SimPen

Pen = SimPen


@dataclass(frozen=True)
class Spec:
    """One fault type of the campaign."""
    hazard: str
    inject: Callable[[Pen, random.Random], None]
    expect: tuple[str, ...]                     # the first latched fault is one of these
    bound_ms: Callable[[Pen], float]            # documented detection time, onset to latch
    onset: Callable[[Pen], bool] | None = None  # None: the injection is the onset
    heal: Callable[[Pen], None] = lambda pen: None
    persists: bool = False                      # the cause stays after the motor stops
    heal_ms: int = 50                           # let the healed cause go away


def _period_ms(pen: Pen) -> float:
    return 1000.0 / max(1.0, pen.m[T.S_TARGET_CHZ] / 100)


def _current_ma(pen: Pen) -> float:
    p = pen.plant
    return (p.i + p.i_short) * 1000


def _rate_off(pen: Pen) -> float:
    """How far the true stroke rate is from the target (fraction); the hazard
    of a lying tachometer.  Below 15 % a lost-pulse fault is harmless."""
    target = pen.m[T.S_TARGET_CHZ] / 100
    return abs(pen.plant.rate_sps() / target - 1) if target > 0 else 0.0


def _limit(pen: Pen) -> int:
    return pen.m[T.S_LIMIT_HI] + pen.m[T.P_DEPTH_TOL_UM]


def _move_depth(pen: Pen, rng: random.Random) -> None:
    # the practitioner changes the depth by 0.3-0.5 mm while sensor A is stuck
    lo, hi = pen.core.limits()
    cur = pen.m[T.C_DEPTH_UM]
    want = cur + 350 if cur + 350 <= hi else cur - 350
    pen.core.set_depth(max(lo, min(hi, want // 50 * 50)))


def _set(attr: str, value: Any) -> Callable[[Pen, random.Random], None]:
    def inject(pen: Pen, rng: random.Random) -> None:
        setattr(pen.plant, attr, value(rng) if callable(value) else value)
    return inject


def _heal(**attrs: Any) -> Callable[[Pen], None]:
    def heal(pen: Pen) -> None:
        for k, v in attrs.items():
            setattr(pen.plant, k, v)
    return heal


def _stuck_depth(pen: Pen, rng: random.Random) -> None:
    pen.plant.depth_a_stuck = pen.plant.depth_um  # type: ignore[assignment]
    _move_depth(pen, rng)


def _new_cartridge(pen: Pen) -> None:
    # a new cartridge of the used-up type: seated, then confirmed new (the
    # type stays locked until then, docs/safety.md H6)
    pen.plant.cart_present = False
    pen.run_ms(5)
    pen.plant.cart_present = True
    pen.run_ms(5)
    pen.core.confirm_new_cartridge()


def _cool(pen: Pen) -> None:
    pen.plant.extra_heat_w = 0.0
    pen.plant.temp = 40.0


def _hang(pen: Pen, rng: random.Random) -> None:
    pen.app.sched.background = None


def _unhang(pen: Pen) -> None:
    pen.app.sched.background = pen.app.background


def _clock_back(pen: Pen, rng: random.Random) -> None:
    pen.clock.jump(-rng.randint(5000, 500000))


def _worn_battery(pen: Pen, rng: random.Random) -> None:
    pen.plant.soc = rng.uniform(0.08, 0.15)
    pen.plant.extra_r_int = rng.uniform(5.0, 10.0)


def _used(pen: Pen, rng: random.Random) -> None:
    pen.m[T.S_CART_USE_S] = 3600


J_NOMINAL = 1.0e-6                     # the plant's nominal rotor inertia (sim/plant.py)


def _off_spec(pen: SimPen, nominal_ms: float, heavy_ms: float) -> float:
    """Detection bound: `nominal_ms` for a nominal rotor; a heavier one
    (inside the declared tolerance, up to x3) coasts on a jam and settles
    more slowly after a speed change, so its checks take up to `heavy_ms`
    (docs/faults.md, "Tolerances").  The current check waits for the rate
    to settle: a x2.6 rotor's overshoot in scar tissue took 600 ms."""
    return nominal_ms if pen.plant.J <= J_NOMINAL * 1.05 else heavy_ms


def _overrun_bound(pen: SimPen) -> float:
    """loop_overrun: the trip's overruns in a row and the tick that latches
    it, each as long as a step of exec_us takes in whole periods (a 3.0 ms
    step: 4 ms; it was a flat 20 ms, which a 3.0 ms step exceeds)."""
    period_ms = pen.board["control_period_us"] / 1000
    step_periods = pen.clock.exec_us // pen.board["control_period_us"] + 1
    return (pen.board.get("overrun_trip", 5) + 1) * step_periods * period_ms


SPECS: dict[str, Spec] = {
    "output_short": Spec(
        "motor leads short: overheating wiring, burns", _set("short_ohm", lambda r: r.uniform(0.3, 1.0)),
        ("overcurrent",), lambda pen: 22, onset=lambda pen: _current_ma(pen) > 2000,
        heal=_heal(short_ohm=0.0)),
    "current_sensor_short": Spec(
        "current sensor fails high", _set("current_stuck", 5000.0), ("overcurrent",), lambda pen: 22,
        heal=_heal(current_stuck=None), persists=True),
    "jam": Spec(
        "needles or cam jam in tissue", _set("jam_torque", lambda r: r.uniform(0.015, 0.05)),
        ("overcurrent", "stall"), lambda pen: _off_spec(pen, 150, 300), heal=_heal(jam_torque=0.0)),
    "tach_dead": Spec(
        "tachometer lost: speed unsupervised", _set("tach_dead", True), ("stall", "tach_mismatch"),
        lambda pen: max(20.0, 4 * _period_ms(pen)) + 2, heal=_heal(tach_dead=False)),
    "missing_pulses": Spec(
        "tachometer loses pulses: wrong stroke rate (the PI chases a wrong speed)",
        _set("tach_drop", lambda r: r.uniform(0.1, 0.7)),
        # the PI chasing a rate read low over-drives the motor (overcurrent) and
        # then brakes it to no current while the rate reads steady
        # (current_sensor): either stops it in time, by another check's name
        ("tach_mismatch", "stall", "overcurrent", "current_sensor"), lambda pen: 2500,
        onset=lambda pen: _rate_off(pen) > 0.15, heal=_heal(tach_drop=0.0)),
    "current_sensor_dead": Spec(
        "current sensor reads zero: over-current protection blind", _set("current_stuck", 0.0),
        ("current_sensor",), lambda pen: _off_spec(pen, 202, 700),
        # detectable (and a hazard) while current flows: a motor the PI brakes
        # after an overshoot coasts and draws none, as the dead sensor says
        onset=lambda pen: _current_ma(pen) > pen.board["motor"]["min_running_ma"],
        heal=_heal(current_stuck=None)),
    "overheat": Spec(
        "motor winding overheats: burns, hot pen", _set("extra_heat_w", lambda r: r.uniform(20, 40)),
        ("overtemp",), lambda pen: 300, onset=lambda pen: pen.plant.temp > 70.0, heal=_cool, persists=True,
        heal_ms=300),
    "battery_empty": Spec(
        "battery runs empty: erratic stroke", _set("soc", 0.0), ("battery_critical",), lambda pen: 750,
        onset=lambda pen: pen.plant.v_bat < 6.2, heal=_heal(soc=0.9), persists=True, heal_ms=300),
    "battery_sag": Spec(
        "worn, low battery sags under load", _worn_battery, ("battery_critical", "stall", "tach_mismatch"),
        lambda pen: 750,
        onset=lambda pen: pen.plant.v_bat < 6.2, heal=_heal(extra_r_int=0.0, soc=0.9), heal_ms=300),
    "cartridge_out": Spec(
        "cartridge pulled while the needles run", _set("cart_present", False), ("cartridge_missing",),
        lambda pen: 2, heal=_heal(cart_present=True), persists=True),
    "cartridge_used": Spec(
        "cartridge used beyond its single use: infection", _used, ("cartridge_used",), lambda pen: 2,
        heal=_new_cartridge, persists=True),
    "depth_sensor_open": Spec(
        "depth sensor fails: depth unsupervised", _set("depth_a_stuck", -2000.0), ("depth_disagree",),
        lambda pen: 22, heal=_heal(depth_a_stuck=None), persists=True),
    "depth_sensor_stuck": Spec(
        "depth sensor stuck at a plausible value, then the depth moves", _stuck_depth, ("depth_disagree",),
        # detectable once the difference is past the threshold by more than
        # the other sensor's noise (3 sigma): before, noise resets the count
        lambda pen: 25, onset=lambda pen: abs((pen.plant.depth_a_stuck or 0) - pen.plant.depth_um)
        > 150 + 3 * pen.plant.depth_sigma_um,
        heal=_heal(depth_a_stuck=None), persists=True, heal_ms=100),
    "actuator_runaway": Spec(
        "depth actuator drives deeper than the limit: too deep", _set("act_force", lambda r: r.uniform(0.3, 1.0)),
        # in stiff skin the deeper needles load the motor past 2 A first:
        # overcurrent stops it (and the needles retract) before the limit
        ("over_depth", "depth_disagree", "overcurrent"), lambda pen: 10,
        onset=lambda pen: pen.plant.depth_um > _limit(pen),
        heal=_heal(act_force=None), heal_ms=1000),
    "loop_overrun": Spec(
        "control step too slow: control and supervision late",
        lambda pen, rng: setattr(pen.clock, "exec_us", rng.randint(1100, 3000)), ("loop_overrun",),
        _overrun_bound, heal=lambda pen: setattr(pen.clock, "exec_us", 0), persists=True, heal_ms=300),
    "background_hang": Spec(
        "UI and protocol stop (the pen cannot be stopped by its button)", _hang, ("watchdog",),
        lambda pen: 502, heal=_unhang, persists=True),
    "clock_back": Spec(
        "the control clock jumps backwards (timing supervision lost)", _clock_back, ("clock",), lambda pen: 2),
}


@dataclass
class RunResult:
    kind: str
    level: int
    depth_um: int
    tissue: str
    inject_s: float
    first: str | None = None
    all_faults: list[str] = field(default_factory=list)
    detect_ms: float | None = None
    bound_ms: float = 0.0
    reaction_ticks: int | None = None
    not_provoked: bool = False
    violations: list[str] = field(default_factory=list)
    # what happened when, for a trace's plot (virtual us, label); not an outcome
    events: list[tuple[int, str]] = field(default_factory=list, compare=False, repr=False)


# ---- runs and campaigns ------------------------------------------------------------

PlantKw = dict[str, float]
# A population of pens: a function from (board, rng) to the plant's keywords
# (sim.plant.Plant; None: the simulator's nominal pen).
Population = Callable[[dict[str, Any], random.Random], "PlantKw | None"]


def _nominal(board: dict[str, Any], rng: random.Random) -> PlantKw | None:
    return None


def _spread(board: dict[str, Any], rng: random.Random) -> PlantKw | None:
    from sim import population
    return population.sample(board, rng)


POPULATIONS: dict[str, Population] = {"nominal": _nominal, "spread": _spread}


@dataclass(frozen=True)
class RunSpec:
    """Everything a run depends on: the fault, the run's seed (the plant's
    noise and the injection's own draws), the pen (its plant keywords; None
    for the nominal pen), the speed level, depth, tissue and when the fault
    is injected (seconds after the needles meet the skin)."""
    kind: str
    seed: int
    level: int
    depth_um: int
    tissue: str
    inject_s: float
    plant_kw: tuple[tuple[str, float], ...] | None = None
    index: int = -1                  # the run's number in its campaign
    pen: int = -1                    # the pen's number in its population

    @staticmethod
    def make(kind: str, seed: int, plant_kw: PlantKw | None = None, index: int = -1, pen: int = -1) -> RunSpec:
        """The spec drawn from the run's seed (level, depth, tissue, time)."""
        if kind not in SPECS:
            raise ValueError(f"unknown fault kind '{kind}'")
        level, depth, tissue, inject_at = _draw(random.Random(seed), kind, plant_kw)
        kw = tuple(sorted(plant_kw.items())) if plant_kw else None
        return RunSpec(kind, seed, level, depth, tissue, inject_at, kw, index, pen)


def _draw(rng: random.Random, kind: str, plant_kw: PlantKw | None) -> tuple[int, int, str, float]:
    """The run's conditions, the first draws of its seed's generator (run()
    draws them again, then the injection goes on with the same generator)."""
    level = rng.randint(1, 6)
    depth = rng.choice(range(250, 1550, 50))
    tissue = rng.choice(["none", "cheek", "forehead", "scar"])
    if kind == "actuator_runaway":
        depth = min(depth, 1200)               # room for the runaway to show
    inject_at = rng.uniform(0.2, 2.0)
    if plant_kw and tissue != "none" and "skin_k" in plant_kw:
        # a stiffer skin than nominal: no deeper than the pen's design load
        from sim.population import depth_within_design
        depth = depth_within_design(tissue, plant_kw["skin_k"], depth)
    return level, depth, tissue, inject_at


@dataclass(frozen=True)
class Plan:
    """A campaign: run number i is fully determined by these and i.  Fault
    kinds in turn (i mod the number of kinds), so pen number i // kinds of
    the population meets every fault once; the run's seed is
    seed * 1000003 + i (the same runs as before populations existed)."""
    seed: int = 1
    faults: tuple[str, ...] = tuple(sorted(SPECS))
    population: str = "nominal"
    board: str = "virtual"

    def __post_init__(self) -> None:
        unknown = [k for k in self.faults if k not in SPECS]
        if unknown or not self.faults:
            raise ValueError(f"unknown fault kind '{unknown[0] if unknown else ''}'")
        if self.population not in POPULATIONS:
            raise ValueError(f"unknown population '{self.population}'")
        if self.board != "virtual":
            raise ValueError(f"campaigns run on the virtual board, not '{self.board}'")

    def pen_kw(self, pen: int) -> PlantKw | None:
        """Pen number `pen` of the population, the same in every process."""
        return POPULATIONS[self.population](VIRTUAL, random.Random(f"needlepen pen {self.seed} {pen}"))

    def spec(self, index: int) -> RunSpec:
        kinds = sorted(self.faults)
        pen = index // len(kinds)
        return RunSpec.make(kinds[index % len(kinds)], self.seed * 1_000_003 + index, self.pen_kw(pen), index, pen)


def run(spec: RunSpec, probe: Callable[[SimPen], None] | None = None) -> RunResult:
    """One run.  probe: called with the pen after every control tick (for a
    trace); it must only look."""
    kind = spec.kind
    fault = SPECS[kind]
    rng = random.Random(spec.seed)
    plant_kw = dict(spec.plant_kw) if spec.plant_kw else None
    _draw(rng, kind, plant_kw)                 # the conditions' draws (in the spec); the injection's follow
    level, depth, tissue, inject_at = spec.level, spec.depth_um, spec.tissue, spec.inject_s
    pen = SimPen(VIRTUAL, seed=spec.seed, level=level, depth_um=depth, zone="cheeks", profile="professional",
                 plant_kw=plant_kw)
    if probe is not None:
        _attach(pen, probe)
    res = RunResult(kind, level, depth, tissue, inject_at)
    ev = res.events
    pen.settle(400)
    pen.core.start()
    ev.append((pen.clock.now_us, "start"))
    pen.run_ms(400)                            # needles meet skin after the soft start
    pen.plant.tissue = TISSUES[tissue]
    ev.append((pen.clock.now_us, f"skin {tissue}"))
    pen.run_ms(int(inject_at * 1000))
    if pen.m[T.S_FAULTS]:
        res.violations.append("faulted before the injection: " + ",".join(fault_names.names(pen.m[T.S_FAULTS])))
        return res
    log_before = len(pen.hal.fault_log)
    fault.inject(pen, rng)
    t_inject = pen.clock.now_us
    ev.append((t_inject, f"inject {kind}"))
    # onset: the start of the period, still going on, in which the detectable
    # condition holds (a battery dip that recovers is not the condition)
    t_onset = t_inject if fault.onset is None else None
    bound = fault.bound_ms(pen)
    latch = None
    while pen.clock.now_us - t_inject < 60_000_000:
        pen.app.run(1 if t_onset is not None or pen.m[T.S_FAULTS] else 5)
        if fault.onset is not None:
            if fault.onset(pen):
                if t_onset is None:
                    t_onset = pen.clock.now_us
            else:
                t_onset = None
        if len(pen.hal.fault_log) > log_before:
            latch = pen.hal.fault_log[log_before]
            break
        if t_onset is not None and pen.clock.now_us - t_onset > (bound + 50) * 1000:
            break
    res.bound_ms = bound
    if t_onset is not None and fault.onset is not None:
        ev.append((t_onset, "onset"))
    if latch is None:
        held_ms = 0.0 if t_onset is None else (pen.clock.now_us - t_onset) / 1000
        if held_ms <= bound + 50:
            # the condition never held as long as its bound (only brief
            # excursions, perhaps one going on when the 60 s ran out):
            # nothing to detect
            res.not_provoked = True
        else:
            res.violations.append(f"condition held {bound + 50:.0f} ms without detection")
        return res
    t_latch, bits, duty, _tick = latch
    names = fault_names.names(bits)
    res.first = names[0]
    res.all_faults = names
    res.reaction_ticks = 0 if duty == 0 else None
    # latched while the condition did not hold (yet): caught before the
    # hazard, detection time 0
    res.detect_ms = 0.0 if t_onset is None else max(0.0, (t_latch - t_onset) / 1000)
    if not set(names) & set(fault.expect):
        res.violations.append(f"latched {names}, expected one of {fault.expect}")
    if res.detect_ms > bound:
        res.violations.append(f"detected after {res.detect_ms:.1f} ms > {bound:.1f} ms")
    if duty != 0:
        res.violations.append(f"duty {duty} in the latching tick")
    # stays latched, motor off
    bit = bits
    pen.run_ms(300)
    if not pen.m[T.S_FAULTS] & bit:
        res.violations.append("unlatched by itself")
    if pen.hal.violations:
        res.violations.append(f"{pen.hal.violations} ticks driven with a fault latched")
    # clearing: refused while the cause is present ...
    if fault.persists:
        pen.core.clear()
        ev.append((pen.clock.now_us, "clear (cause present)"))
        pen.run_ms(20)
        if not pen.m[T.S_FAULTS] & bit:
            res.violations.append("cleared while the cause was present")
    # ... granted once it is gone; no restart by itself
    fault.heal(pen)
    ev.append((pen.clock.now_us, f"heal {kind}"))
    pen.run_ms(fault.heal_ms)
    if pen.core.m[T.C_RUN]:
        res.violations.append("run commanded after a fault")
    pen.core.clear()
    ev.append((pen.clock.now_us, "clear"))
    pen.run_ms(30)
    if pen.m[T.S_FAULTS]:
        left = ",".join(fault_names.names(pen.m[T.S_FAULTS]))
        res.violations.append("clear refused after the cause was gone: " + left)
    pen.run_ms(200)
    if pen.core.running() or pen.m[T.O_DUTY]:
        res.violations.append("the motor started by itself after the clear")
    if pen.hal.violations:
        res.violations.append(f"{pen.hal.violations} ticks driven with a fault latched")
    return res


def _attach(pen: SimPen, probe: Callable[[SimPen], None]) -> None:
    """Call probe after every tick: the pen runs the same ticks one by one."""
    inner = pen.app.run

    def stepped(ticks: int = 0) -> int:
        for _ in range(ticks):
            inner(1)
            probe(pen)
        return ticks

    pen.app.run = stepped  # type: ignore[method-assign]


def run_one(kind: str, seed: int, plant_kw: PlantKw | None = None) -> RunResult:
    """One run drawn from its seed; plant_kw: the simulated pen's own parts
    (sim.population), nominal if None."""
    return run(RunSpec.make(kind, seed, plant_kw))


ROW_COLUMNS = ("idx", "kind", "pen", "seed", "level", "depth_um", "tissue", "inject_s", "first", "all_faults",
               "detect_ms", "bound_ms", "reaction_ticks", "not_provoked", "violations")


def row(spec: RunSpec, r: RunResult) -> dict[str, Any]:
    """A run's outcome as a flat record (the results file's row)."""
    return {"idx": spec.index, "kind": spec.kind, "pen": spec.pen, "seed": spec.seed, "level": r.level,
            "depth_um": r.depth_um, "tissue": r.tissue, "inject_s": r.inject_s, "first": r.first,
            "all_faults": ",".join(r.all_faults), "detect_ms": r.detect_ms, "bound_ms": r.bound_ms,
            "reaction_ticks": r.reaction_ticks, "not_provoked": int(r.not_provoked),
            "violations": "; ".join(r.violations)}


def run_rows(plan: Plan, indexes: list[int]) -> list[dict[str, Any]]:
    """Runs of a plan by number, as rows: what a worker process does."""
    import pen  # noqa: F401  (the MicroPython stand-ins, in a fresh worker too)
    out = []
    for i in indexes:
        spec = plan.spec(i)
        out.append(row(spec, run(spec)))
    return out


# The code a run's outcome depends on: the firmware's core, the boards and
# the simulator's modules except these, which a campaign run does not use
# (a new module counts until it is listed here).
NOT_IN_RUNS = ("__init__", "accel", "faults", "loop_spread", "plot", "runner", "scenario", "summary", "virtual")


def code_fingerprint() -> str:
    """A hash of the code a run depends on: two campaigns, or a campaign and
    its replay, with the same fingerprint ran the same code."""
    import hashlib
    from pathlib import Path

    import boards
    import pen
    sim_dir = Path(__file__).resolve().parent
    files = [f for f in sorted(sim_dir.glob("*.py")) if f.stem not in NOT_IN_RUNS]
    for pkg in (pen, boards):
        # the package's own folder: its __path__ may lead with sim/accel.py's build
        files += sorted(Path(str(pkg.__file__)).parent.glob("*.py"))
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.parent.name}/{f.name}\n".encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def campaign(runs: int, seed: int = 1, progress: Callable[[int, int], None] | None = None) -> list[RunResult]:
    plan = Plan(seed)
    out = []
    for i in range(runs):
        out.append(run(plan.spec(i)))
        if progress:
            progress(i + 1, runs)
    return out


def table(results: list[RunResult]) -> list[dict[str, Any]]:
    rows = []
    for kind in sorted(SPECS):
        rs = [r for r in results if r.kind == kind]
        if not rs:
            continue
        det = [r.detect_ms for r in rs if r.detect_ms is not None]
        rows.append({
            "fault": kind,
            "hazard": SPECS[kind].hazard,
            "caught_by": sorted({r.first for r in rs if r.first}),
            "runs": len(rs),
            "not_provoked": sum(r.not_provoked for r in rs),
            "detected": len(det),
            "worst_detect_ms": max(det) if det else None,
            "bound_ms": max(r.bound_ms for r in rs),
            "worst_reaction_ticks": max((r.reaction_ticks for r in rs if r.reaction_ticks is not None), default=None),
            "violations": sum(len(r.violations) for r in rs),
        })
    return rows
