"""Run a scenario: the pen's firmware core on the plant, events on a timeline,
a decimated trace, and the safety record for the summary."""

from __future__ import annotations

import importlib
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from pen import faults as fault_names
from pen import tick as T
from pen.core import Refused
from pen.hal import B_DEPTH_DOWN, B_DEPTH_UP, B_POWER, B_SPEED_DOWN, B_SPEED_UP
from sim import faults as fault_catalogue
from sim.plant import TISSUES
from sim.rig import SimPen
from sim.scenario import Scenario

BUTTON_BITS = {"power": B_POWER, "speed_up": B_SPEED_UP, "speed_down": B_SPEED_DOWN,
               "depth_up": B_DEPTH_UP, "depth_down": B_DEPTH_DOWN}

TRACE_COLUMNS = ("t_s", "state", "level", "target_sps", "rate_sps", "stroke_sps", "duty", "current_ma",
                 "depth_um", "depth_target_um", "limit_um", "battery_mv", "temp_c", "faults", "tissue")


def append_sample(tr: dict[str, list], pen: Any, strokes_sps: float) -> None:
    """One row of a trace (TRACE_COLUMNS) from the pen's memory and plant now."""
    m = pen.m
    tr["t_s"].append(pen.clock.now_us / 1e6)
    tr["state"].append(m[T.S_STATE])
    tr["level"].append(m[T.C_LEVEL] + 1)
    tr["target_sps"].append(m[T.S_TARGET_CHZ] / 100 if m[T.S_STATE] == T.ST_RUNNING else 0.0)
    tr["rate_sps"].append(m[T.S_RATE_CHZ] / 100)
    tr["stroke_sps"].append(strokes_sps)
    tr["duty"].append(m[T.O_DUTY])
    tr["current_ma"].append(m[T.S_CURRENT_MA])
    tr["depth_um"].append(m[T.S_DEPTH_UM])
    tr["depth_target_um"].append(m[T.S_DEPTH_TARGET])
    tr["limit_um"].append(m[T.S_LIMIT_HI])
    tr["battery_mv"].append(m[T.S_VBAT_MV])
    tr["temp_c"].append(m[T.S_TEMP_DC] / 10)
    tr["faults"].append(m[T.S_FAULTS])
    tr["tissue"].append(pen.plant.tissue)

CONTROLLERS = ("closed-loop", "open-loop")


@dataclass
class Injection:
    t_us: int
    kind: str
    caught_by: tuple[str, ...]
    healed_us: int | None = None


@dataclass
class RunResult:
    scenario: Scenario
    controller: str
    trace: dict[str, list]
    injections: list[Injection]
    fault_log: list[tuple[int, int, int, int]]
    violations: int
    notes: list[tuple[int, str]]
    pen: SimPen
    wall_s: float
    sim_s: float
    refusals: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return self.sim_s / self.wall_s if self.wall_s > 0 else float("inf")


def load_board(name: str) -> dict[str, Any]:
    try:
        return importlib.import_module(f"boards.{name}").BOARD
    except ModuleNotFoundError:
        raise ValueError(f"no board '{name}' in boards/") from None


def _open_loop(pen: SimPen) -> None:
    """Replace the stroke PI by fixed duty per level, as inexpensive pens do:
    calibrated for the nominal 7.4 V pack with no load.  Everything else
    (interlock, limits, soft start) stays the firmware's."""
    m = pen.m
    mot = pen.board["motor"]
    table = [int(65535 * (mot["ff_mv_per_sps"] * sps + mot["ff_offset_mv"]) / 7400)
             for sps in mot["speed_levels_sps"]]
    read, write, tick = pen.hal.read, pen.hal.write, T.tick
    slew = m[T.P_DUTY_SLEW]
    prev = [0]

    def step() -> None:
        read(m)
        tick(m)
        if m[T.O_DUTY] > 0:                 # running and no fault: our duty instead
            m[T.O_DUTY] = min(table[m[T.C_LEVEL]], prev[0] + slew)
        prev[0] = m[T.O_DUTY]
        write(m)

    pen.app.sched.step = step


class Session:
    """One run of a scenario."""

    def __init__(self, scenario: Scenario, controller: str = "closed-loop", trace_ms: int = 10,
                 plant_kw: dict[str, float] | None = None) -> None:
        if controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}")
        self.sc = scenario
        self.controller = controller
        board = load_board(scenario.board)
        p = scenario.pen
        # the scenario's battery and room; plant_kw: a pen of a population (sim.population)
        plant_kw = {"soc": float(p.get("battery", 0.95)), "t_amb": float(p.get("ambient_c", 25.0)),
                    **(plant_kw or {})}
        depth_um = int(round(float(p.get("depth_mm", 0.25)) * 1000))
        self.pen = pen = SimPen(board, seed=scenario.seed, plant_kw=plant_kw, fast_memory=True,
                                level=int(p.get("level", 1)), depth_um=depth_um,
                                zone=p.get("zone", "forehead"), profile=p.get("profile", "professional"))
        self._fit_cartridge(p.get("cartridge", "12-pin"))
        if controller == "open-loop":
            _open_loop(pen)
        if pen.app.ui is not None and not p.get("awake", True):
            pen.app.ui.awake = False
        self.period = board["control_period_us"]
        self.trace_us = trace_ms * 1000
        self.trace: dict[str, list] = {c: [] for c in TRACE_COLUMNS}
        self.injections: list[Injection] = []
        self.notes: list[tuple[int, str]] = []
        self.refusals: list[tuple[int, str]] = []
        self.rng = random.Random(scenario.seed)
        self.timeline: list[tuple[int, int, Callable[[], None], str]] = []
        self._seq = 0
        self._theta_prev = 0.0
        self._plan()

    # ---- timeline ----------------------------------------------------------------
    def _at(self, t_us: int, fn: Callable[[], None], label: str = "") -> None:
        self._seq += 1
        self.timeline.append((t_us, self._seq, fn, label))

    def _plan(self) -> None:
        for ev in self.sc.events:
            getattr(self, "_plan_" + ev.kind)(ev.t_us, ev.args)
        self.timeline.sort(key=lambda x: (x[0], x[1]))

    def _plan_press(self, t: int, a: dict[str, Any]) -> None:
        bits = BUTTON_BITS[a["button"]] | (BUTTON_BITS[a["with"]] if "with" in a else 0)
        hold, gap = int(a["hold"] * 1e6), int(a["gap"] * 1e6)
        hal = self.pen.hal
        for i in range(a["times"]):
            t0 = t + i * (hold + gap)

            def down(bits: int = bits) -> None:
                hal.held |= bits

            def up(bits: int = bits) -> None:
                hal.held &= ~bits

            self._at(t0, down, f"press {a['button']}" if i == 0 else "")
            self._at(t0 + hold, up)

    def _plan_pass(self, t: int, a: dict[str, Any]) -> None:
        end = t + int(a["duration"] * 1e6)
        stiff = TISSUES[a["tissue"]]
        (c0, c1), (l0, l1) = a["contact"], a["lift"]
        now = t
        first = True
        while now < end:
            on = min(end, now + int(self.rng.uniform(c0, c1) * 1e6))
            self._at(now, self._tissue(stiff), f"pass {a['tissue']}" if first else "")
            self._at(on, self._tissue(0.0))
            now = on + int(self.rng.uniform(l0, l1) * 1e6)
            first = False

    def _tissue(self, stiffness: float) -> Callable[[], None]:
        def contact() -> None:
            self.pen.plant.tissue = stiffness
        return contact

    def _plan_skin(self, t: int, a: dict[str, Any]) -> None:
        self._at(t, self._tissue(TISSUES[a["tissue"]]), f"skin {a['tissue']}")

    def _command(self, t: int, what: str, fn: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                fn()
            except Refused as e:
                self.refusals.append((self.pen.clock.now_us, f"{what}: {e.text}"))
        self._at(t, run, what)

    def _plan_set(self, t: int, a: dict[str, Any]) -> None:
        core = self.pen.core
        if "zone" in a or "profile" in a:
            self._command(t, f"zone {a.get('zone', core.zone)}",
                          lambda: core.set_zone(a.get("zone", core.zone), a.get("profile")))
        if "level" in a:
            self._command(t, f"level {a['level']}", lambda: core.set_level(int(a["level"])))
        if "depth_mm" in a:
            self._command(t, f"depth {a['depth_mm']} mm", lambda: core.set_depth(int(round(a["depth_mm"] * 1000))))

    def _plan_start(self, t: int, a: dict[str, Any]) -> None:
        self._command(t, "start", self.pen.core.start)

    def _plan_stop(self, t: int, a: dict[str, Any]) -> None:
        self._command(t, "stop", self.pen.core.stop)

    def _plan_clear(self, t: int, a: dict[str, Any]) -> None:
        self._command(t, "clear", self.pen.core.clear)

    def _plan_end(self, t: int, a: dict[str, Any]) -> None:
        pass

    def _fit_cartridge(self, name: str) -> None:
        plant = self.pen.plant
        if name == "none":
            plant.cart_present = False
            return
        names = [c["name"] for c in self.pen.board["cartridges"]]
        if name not in names:
            raise ValueError(f"unknown cartridge '{name}' (one of: none, {', '.join(names)})")
        plant.cart_present = True
        plant.cart_type = names.index(name) + 1

    def _plan_cartridge(self, t: int, a: dict[str, Any]) -> None:
        def swap() -> None:
            self._fit_cartridge(a["type"])

        # a swap: out for 0.5 s, then the new one in (the core resets usage)
        self._at(t, lambda: setattr(self.pen.plant, "cart_present", False), f"cartridge {a['type']}")
        if a["type"] != "none":
            self._at(t + 500_000, swap)
            if "used" in a:
                self._at(t + 520_000, lambda: self.pen.m.__setitem__(T.S_CART_USE_S, int(a["used"])))

    def _plan_fault(self, t: int, a: dict[str, Any]) -> None:
        kind = fault_catalogue.KINDS[a["kind"]]
        try:
            value = kind.check(a.get("value"))
        except ValueError as e:
            raise ValueError(f"fault {a['kind']}: {e}") from None

        def inject() -> None:
            kind.inject(self.pen, value)
            self.injections.append(Injection(self.pen.clock.now_us, a["kind"], kind.caught_by))

        self._at(t, inject, f"fault {a['kind']}")
        if "for" in a:
            self._plan_heal(t + int(a["for"] * 1e6), {"kind": a["kind"]})

    def _plan_heal(self, t: int, a: dict[str, Any]) -> None:
        def heal() -> None:
            fault_catalogue.KINDS[a["kind"]].heal(self.pen)
            for inj in reversed(self.injections):
                if inj.kind == a["kind"] and inj.healed_us is None:
                    inj.healed_us = self.pen.clock.now_us
                    break

        self._at(t, heal, f"heal {a['kind']}")

    # ---- running -------------------------------------------------------------------
    def _sample(self) -> None:
        pen = self.pen
        theta = pen.plant.theta
        strokes = (theta - self._theta_prev) / (2 * math.pi) / (self.trace_us / 1e6)
        self._theta_prev = theta
        append_sample(self.trace, pen, strokes)

    def run(self, progress: TextIO | None = None) -> RunResult:
        pen, clock, app = self.pen, self.pen.clock, self.pen.app
        pen.settle(300)                        # filters and actuator at rest first
        start_us = clock.now_us
        for i, (t, seq, fn, label) in enumerate(self.timeline):
            self.timeline[i] = (t + start_us, seq, fn, label)
        end_us = start_us + self.sc.duration_us
        next_sample = clock.now_us
        self._theta_prev = pen.plant.theta
        ti = 0
        timeline = self.timeline
        wall0 = time.perf_counter()
        shown = wall0
        while clock.now_us < end_us:
            while ti < len(timeline) and timeline[ti][0] <= clock.now_us:
                _, _, fn, label = timeline[ti]
                fn()
                if label:
                    self.notes.append((clock.now_us - start_us, label))
                ti += 1
            if next_sample <= clock.now_us:
                self._sample()
                next_sample += self.trace_us
            until = min(next_sample, end_us, timeline[ti][0] if ti < len(timeline) else end_us)
            app.run(max(1, -(-(until - clock.now_us) // self.period)))
            if progress is not None and time.perf_counter() - shown > 0.25:
                shown = time.perf_counter()
                _progress(progress, clock.now_us - start_us, self.sc.duration_us, shown - wall0)
        wall = time.perf_counter() - wall0
        if progress is not None:
            _progress(progress, self.sc.duration_us, self.sc.duration_us, wall, done=True)
        # times relative to the scenario start
        for inj in self.injections:
            inj.t_us -= start_us
            if inj.healed_us is not None:
                inj.healed_us -= start_us
        t0 = self.trace["t_s"][0] if self.trace["t_s"] else 0.0
        self.trace["t_s"] = [t - t0 for t in self.trace["t_s"]]
        log = [(t - start_us, bits, duty, tk) for t, bits, duty, tk in pen.hal.fault_log if t >= start_us]
        return RunResult(self.sc, self.controller, self.trace, self.injections, log, pen.hal.violations,
                         self.notes, pen, wall, self.sc.duration_us / 1e6, self.refusals)


def _progress(out: TextIO, done_us: int, total_us: int, wall: float, done: bool = False) -> None:
    frac = min(1.0, done_us / total_us) if total_us else 1.0
    width = 30
    bar = "#" * int(frac * width) + "." * (width - int(frac * width))
    rtf = done_us / 1e6 / wall if wall > 0 else 0.0
    end = "\n" if done else "\r"
    out.write(f"\r[{bar}] {_mmss(done_us / 1e6)} / {_mmss(total_us / 1e6)} simulated  {rtf:6.0f}x real time{end}")
    out.flush()


def _mmss(s: float) -> str:
    return f"{int(s // 60):d}:{int(s % 60):02d}"


def run(scenario: Scenario, controller: str = "closed-loop", trace_ms: int = 10,
        progress: bool = False, plant_kw: dict[str, float] | None = None) -> RunResult:
    return Session(scenario, controller, trace_ms, plant_kw).run(sys.stderr if progress else None)


def fault_name_list(bits: int) -> list[str]:
    return fault_names.names(bits)
