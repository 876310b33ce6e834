"""Scenario files: a TOML description of a session as timed events.

    [scenario]              name, description, seed, board
    [pen]                   state at power-on: cartridge, zone, profile, level,
                            depth_mm, battery (state of charge 0..1), ambient_c
    [expect]                optional: faults (names), detect_within_ms, no_faults
    [[event]]               at = "m:ss" (absolute) or after = "m:ss" (after the
                            previous event ends), do = one of EVENT_KINDS, and
                            the arguments of that kind (see docs/simulator.md)

Errors name the file, the line and what is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pen import zones
from sim import faults as fault_catalogue
from sim.plant import TISSUES

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
BUTTONS = ("power", "speed_up", "speed_down", "depth_up", "depth_down")

# kind -> (required args, optional args)
EVENT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "press": (("button",), ("hold", "times", "gap", "with")),
    "pass": (("tissue", "duration"), ("contact", "lift")),
    "skin": (("tissue",), ()),
    "set": ((), ("level", "depth_mm", "zone", "profile")),
    "start": ((), ()),
    "stop": ((), ()),
    "clear": ((), ()),
    "cartridge": (("type",), ("used",)),
    "fault": (("kind",), ("for", "value")),
    "heal": (("kind",), ()),
    "end": ((), ()),
}


# [expect]: faults (the first latched fault is one of these), detect_within_ms
# (injection to latch), no_faults (nothing latches), max_rate_error_pct
# (steady-state p95 stroke-rate error, every level).
EXPECT_KEYS = ("faults", "detect_within_ms", "no_faults", "max_rate_error_pct")


class ScenarioError(ValueError):
    pass


@dataclass
class Event:
    t_us: int
    kind: str
    args: dict[str, Any]
    line: int
    end_us: int = 0          # when the event's own activity is over


@dataclass
class Scenario:
    name: str
    description: str
    seed: int
    board: str
    pen: dict[str, Any]
    events: list[Event]
    expect: dict[str, Any]
    path: str
    duration_us: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def parse_time(value: Any) -> float:
    """'m:ss', 'h:mm:ss', 'ss.s' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a time, not true/false")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("times are not negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"a time like '1:30' or 90, not {value!r}")
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"bad time {value!r}")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"bad time {value!r}: use m:ss, h:mm:ss or seconds") from None
    secs = 0.0
    for n in nums:
        secs = secs * 60 + n
    if secs < 0:
        raise ValueError("times are not negative")
    return secs


def parse_range(value: Any, what: str) -> tuple[float, float]:
    """'3-6' or 4 -> (3.0, 6.0) seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), float(value)
    if isinstance(value, str) and "-" in value:
        a, b = value.split("-", 1)
        lo, hi = parse_time(a), parse_time(b)
        if lo > hi:
            raise ValueError(f"{what}: range {value!r} runs backwards")
        return lo, hi
    t = parse_time(value)
    return t, t


def _event_lines(text: str) -> list[int]:
    """Line numbers of the [[event]] headers, in order."""
    return [i + 1 for i, line in enumerate(text.splitlines()) if line.strip().startswith("[[event]]")]


def resolve(name_or_path: str) -> Path:
    """A scenario by path, or by name from the shipped set."""
    p = Path(name_or_path)
    if p.exists():
        return p
    for cand in (SCENARIO_DIR / f"{name_or_path}.toml", SCENARIO_DIR / "faults" / f"{name_or_path}.toml"):
        if cand.exists():
            return cand
    raise ScenarioError(f"{name_or_path}: no such scenario file, and no shipped scenario of that name "
                        f"(try: needlepen sim --list)")


def shipped() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml")) + sorted((SCENARIO_DIR / "faults").glob("*.toml"))


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    return build(data, text, str(path))


def build(data: dict[str, Any], text: str, where: str) -> Scenario:
    def fail(line: int | None, msg: str) -> ScenarioError:
        return ScenarioError(f"{where}:{line}: {msg}" if line else f"{where}: {msg}")

    known = {"scenario", "pen", "expect", "event"}
    for key in data:
        if key not in known:
            return_line = next((i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip().startswith(f"[{key}")),
                               None)
            raise fail(return_line, f"unknown section [{key}] (expected one of: {', '.join(sorted(known))})")
    head = data.get("scenario", {})
    pen = dict(data.get("pen", {}))
    _check_pen(pen, lambda m: fail(None, "[pen] " + m))
    lines = _event_lines(text)
    raw_events = data.get("event", [])
    if not isinstance(raw_events, list):
        raise fail(None, "events are written as [[event]] tables")
    events: list[Event] = []
    t_end = 0.0
    for idx, ev in enumerate(raw_events):
        line = lines[idx] if idx < len(lines) else None
        try:
            events.append(_event(ev, t_end))
        except ValueError as e:
            raise fail(line, f"event {idx + 1}: {e}") from None
        events[-1].line = line or 0
        t_end = events[-1].end_us / 1e6
    events.sort(key=lambda e: e.t_us)
    expect = dict(data.get("expect", {}))
    for key in expect:
        if key not in EXPECT_KEYS:
            raise fail(None, f"[expect] unknown key '{key}' (one of: {', '.join(EXPECT_KEYS)})")
    for name in expect.get("faults", []):
        from pen import faults

        try:
            faults.bit_of(name)
        except ValueError:
            raise fail(None, f"[expect] unknown fault '{name}' "
                             f"(one of: {', '.join(n for _, n, _ in faults.FAULTS)})") from None
    sc = Scenario(
        name=str(head.get("name", Path(where).stem)),
        description=str(head.get("description", "")),
        seed=int(head.get("seed", 1)),
        board=str(head.get("board", "virtual")),
        pen=pen,
        events=events,
        expect=expect,
        path=where,
    )
    ends = [e for e in events if e.kind == "end"]
    last = max((e.end_us for e in events), default=0)
    sc.duration_us = ends[0].t_us if ends else last + 5_000_000
    return sc


def _check_pen(pen: dict[str, Any], fail: Any) -> None:
    allowed = {"cartridge", "zone", "profile", "level", "depth_mm", "battery", "ambient_c", "awake"}
    for k in pen:
        if k not in allowed:
            raise fail(f"unknown key '{k}' (one of: {', '.join(sorted(allowed))})")
    if "zone" in pen and pen["zone"] not in zones.zone_names():
        raise fail(f"unknown zone '{pen['zone']}' (one of: {', '.join(zones.zone_names())})")
    if "profile" in pen and pen["profile"] not in zones.profile_names():
        raise fail(f"unknown profile '{pen['profile']}'")
    if "battery" in pen and not 0 <= float(pen["battery"]) <= 1:
        raise fail("battery is a state of charge from 0 to 1")


def _event(ev: Any, prev_end_s: float) -> Event:
    if not isinstance(ev, dict):
        raise ValueError("an event is a table")
    kind = ev.get("do")
    if kind not in EVENT_KINDS:
        raise ValueError(f"'do' must be one of: {', '.join(EVENT_KINDS)} (got {kind!r})")
    if ("at" in ev) == ("after" in ev):
        raise ValueError("give exactly one of 'at' (absolute time) or 'after' (after the previous event)")
    t = parse_time(ev["at"]) if "at" in ev else prev_end_s + parse_time(ev["after"])
    need, opt = EVENT_KINDS[kind]
    args = {k: v for k, v in ev.items() if k not in ("do", "at", "after")}
    for k in need:
        if k not in args:
            raise ValueError(f"'{kind}' needs '{k}'")
    for k in args:
        if k not in need and k not in opt:
            raise ValueError(f"'{kind}' does not take '{k}' (it takes: {', '.join(need + opt) or 'nothing'})")
    end = t
    if kind == "press":
        for b in [args["button"], *([args["with"]] if "with" in args else [])]:
            if b not in BUTTONS:
                raise ValueError(f"unknown button '{b}' (one of: {', '.join(BUTTONS)})")
        hold = parse_time(args.get("hold", 0.1))
        gap = parse_time(args.get("gap", 0.15))
        times = int(args.get("times", 1))
        if not 1 <= times <= 1000:
            raise ValueError("times must be 1..1000")
        args.update(hold=hold, gap=gap, times=times)
        end = t + times * (hold + gap)
    elif kind in ("pass", "skin"):
        if args["tissue"] not in TISSUES:
            raise ValueError(f"unknown tissue '{args['tissue']}' (one of: {', '.join(TISSUES)})")
        if kind == "pass":
            args["duration"] = parse_time(args["duration"])
            args["contact"] = parse_range(args.get("contact", "3-6"), "contact")
            args["lift"] = parse_range(args.get("lift", "0.5-1.5"), "lift")
            if args["contact"][0] <= 0:
                raise ValueError("contact times must be positive")
            end = t + args["duration"]
    elif kind == "set":
        if not args:
            raise ValueError("'set' needs at least one of level, depth_mm, zone, profile")
        if "depth_mm" in args:
            d = args["depth_mm"]
            if isinstance(d, bool) or not isinstance(d, int | float):
                raise ValueError("depth_mm must be a number of millimetres")
    elif kind == "fault":
        if args["kind"] not in fault_catalogue.KINDS:
            raise ValueError(f"unknown fault '{args['kind']}' (one of: {', '.join(fault_catalogue.KINDS)})")
        if "for" in args:
            args["for"] = parse_time(args["for"])
    elif kind == "heal":
        if args["kind"] not in fault_catalogue.KINDS:
            raise ValueError(f"unknown fault '{args['kind']}'")
    elif kind == "cartridge":
        if "used" in args:
            args["used"] = parse_time(args["used"])
    return Event(t_us=int(round(t * 1e6)), kind=kind, args=args, line=0, end_us=int(round(end * 1e6)))
