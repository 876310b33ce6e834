"""Faults the simulator can inject, and how each is undone ("healed").

Each entry: what it models, inject(pen, value), heal(pen), and the interlock
fault(s) expected to catch it (empty: shown harmless, or a warning only).
`pen` is a sim.rig.SimPen, or the virtual pen's HAL (same attributes: plant,
clock, app, m).  Portable: the virtual pen injects faults on MicroPython.
"""

try:
    from collections.abc import Callable
    from typing import Any
except ImportError:          # MicroPython: annotations are not evaluated there
    pass

from pen import tick as T


class FaultKind:
    """`lo`..`hi`: the values inject() takes, in its unit; `integer`: whole
    numbers only; `flag`: 0 or 1.  check() turns a lever's text or number
    into that value, or raises ValueError saying what is allowed."""

    def __init__(self, text: str, inject: "Callable[[Any, float | None], None]", heal: "Callable[[Any], None]",
                 caught_by: tuple = (), default: float | None = None, lo: float = 0, hi: float = 0,
                 unit: str = "", integer: bool = False) -> None:
        self.text = text
        self.inject = inject
        self.heal = heal
        self.caught_by = caught_by
        self.default = default
        self.lo = lo
        self.hi = hi
        self.unit = unit
        self.integer = integer

    def takes_value(self) -> bool:
        return self.lo < self.hi

    def allowed(self) -> str:
        if not self.takes_value():
            return "takes no value"
        if self.integer and self.lo == 0 and self.hi == 1:
            return "0 or 1"
        return "{} to {}{}{}".format(self.lo, self.hi, " " if self.unit else "", self.unit)

    def check(self, value: "Any") -> "Any":
        """The value to inject: `value` (text, number or None for the default) checked."""
        if value is None:
            return self.default
        if not self.takes_value():
            raise ValueError("takes no value")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError("{!r} is not a number ({})".format(value, self.allowed())) from None
        if not self.lo <= v <= self.hi:                  # also refuses nan and inf
            raise ValueError("{} is out of range ({})".format(value, self.allowed()))
        if self.integer:
            if v != int(v):
                raise ValueError("{} is not a whole number ({})".format(value, self.allowed()))
            return int(v)
        return v


def _set(obj: str, attr: str, healed: "Any") -> tuple:
    def target(pen: "Any") -> "Any":
        return pen if obj == "pen" else getattr(pen, obj)

    def inject(pen: "Any", value: float | None) -> None:
        setattr(target(pen), attr, value)

    def heal(pen: "Any") -> None:
        setattr(target(pen), attr, healed)

    return inject, heal


def _hang(pen: "Any", _: float | None) -> None:
    pen.app.sched.background = None          # the background loop stops beating


def _unhang(pen: "Any") -> None:
    pen.app.sched.background = pen.app.background


def _used(pen: "Any", seconds: float | None) -> None:
    pen.m[T.S_CART_USE_S] = int(seconds or 0)


def _depth_a_stuck(pen: "Any", um: float | None) -> None:
    pen.plant.depth_a_stuck = pen.plant.depth_um if um is None else um


def _pair(obj: str, attr: str, healed: "Any") -> dict:
    inject, heal = _set(obj, attr, healed)
    return {"inject": inject, "heal": heal}


KINDS = {
    "jam": FaultKind("needle cam jammed: extra load torque (N m)", **_pair("plant", "jam_torque", 0.0),
                     caught_by=("overcurrent", "stall"), default=0.02, lo=0, hi=0.5, unit="N m"),
    "output_short": FaultKind("motor leads shorted through `value` ohm (chafed wire)",
                              **_pair("plant", "short_ohm", 0.0), caught_by=("overcurrent",), default=0.5,
                              lo=0, hi=1000, unit="ohm"),
    "tach_open": FaultKind("tachometer signal lost", **_pair("plant", "tach_dead", False),
                           caught_by=("stall",), default=1, lo=0, hi=1, integer=True),
    "missing_pulses": FaultKind("tachometer loses a fraction `value` of its pulses",
                                **_pair("plant", "tach_drop", 0.0), caught_by=("tach_mismatch", "stall"), default=0.4,
                                lo=0, hi=1),
    "tach_noise": FaultKind("tachometer timing noise of `value` us (sigma)", **_pair("plant", "tach_sigma_us", 4.0),
                            caught_by=(), default=150.0, lo=0, hi=10000, unit="us"),
    "current_open": FaultKind("current sensor reads `value` mA whatever flows (open: 0)",
                              **_pair("plant", "current_stuck", None), caught_by=("current_sensor",), default=0.0,
                              lo=0, hi=10000, unit="mA"),
    "current_short": FaultKind("current sensor stuck at full scale", **_pair("plant", "current_stuck", None),
                               caught_by=("overcurrent",), default=5000.0, lo=0, hi=10000, unit="mA"),
    "overheat": FaultKind("motor cooling blocked: `value` W of extra heat", **_pair("plant", "extra_heat_w", 0.0),
                          caught_by=("overtemp",), default=12.0, lo=0, hi=100, unit="W"),
    "battery_sag": FaultKind("worn battery: `value` ohm more internal resistance",
                             **_pair("plant", "extra_r_int", 0.0),
                             caught_by=("battery_critical", "stall", "tach_mismatch"), default=4.0, lo=0,
                             hi=100, unit="ohm"),
    "battery_empty": FaultKind("battery nearly empty: state of charge `value`", **_pair("plant", "soc", 0.5),
                               caught_by=("battery_critical",), default=0.0, lo=0, hi=1),
    "depth_stuck": FaultKind("depth sensor A stuck at `value` um (default: where it is now)",
                             _depth_a_stuck, _set("plant", "depth_a_stuck", None)[1],
                             caught_by=("depth_disagree",), lo=-5000, hi=5000, unit="um"),
    "depth_open": FaultKind("depth sensor A wire open (reads 0 counts)", **_pair("plant", "depth_a_stuck", None),
                            caught_by=("depth_disagree",), default=-2000.0, lo=-5000, hi=5000,
                            unit="um"),
    "actuator_runaway": FaultKind("depth actuator driver stuck driving deeper at `value` of full speed",
                                  **_pair("plant", "act_force", None), caught_by=("over_depth",), default=1.0,
                                  lo=-1, hi=1),
    "cartridge_out": FaultKind("cartridge pulled out", **_pair("plant", "cart_present", True),
                               caught_by=("cartridge_missing",), default=0, lo=0, hi=1, integer=True),
    "cartridge_used": FaultKind("cartridge usage counter at `value` s", _used, lambda pen: None,
                                caught_by=("cartridge_used",), default=3600, lo=0, hi=100000, unit="s",
                                integer=True),
    "loop_overrun": FaultKind("the control step takes `value` us", **_pair("clock", "exec_us", 0),
                              caught_by=("loop_overrun",), default=1500, lo=0, hi=100000, unit="us",
                              integer=True),
    "jitter": FaultKind("scheduler wakes `value` us late every period", **_pair("clock", "wake_jitter_us", 0),
                        caught_by=(), default=150, lo=0, hi=100000, unit="us", integer=True),
    "hang": FaultKind("the background loop hangs (UI/protocol stop)", _hang, _unhang, caught_by=("watchdog",)),
}
