"""Scenario files: a TOML description of a session as timed events.

    [scenario]              name, description, seed, board
    [pen]                   state at power-on: cartridge, zone, profile, level,
                            depth_mm, battery (state of charge 0..1), ambient_c, awake
    [expect]                optional: faults (names), detect_within_ms, no_faults,
                            max_rate_error_pct; `needlepen sim` checks them after the run
    [[event]]               at = "m:ss" (absolute) or after = "m:ss" (after the
                            previous event ends), do = one of EVENT_KINDS, and
                            the arguments of that kind (see docs/simulator.md)

Everything is checked when the file is loaded, before anything runs: an error
names the file, the line of the key (TOML parsers give no positions, so
_Lines finds them), the section or event, the key, its value and what is
valid.  Values are never clamped into range silently.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pen import faults as pen_faults
from pen import zones
from pen.core import DEPTH_STEP_UM
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

SCENARIO_KEYS = ("name", "description", "seed", "board")
PEN_KEYS = ("cartridge", "zone", "profile", "level", "depth_mm", "battery", "ambient_c", "awake")
# [expect]: faults (the first latched fault is one of these), detect_within_ms
# (injection to latch), no_faults (nothing latches), max_rate_error_pct
# (steady-state p95 stroke-rate error, every level).  sim.summary.check_expect.
EXPECT_KEYS = ("faults", "detect_within_ms", "no_faults", "max_rate_error_pct")
SECTIONS = ("scenario", "pen", "expect", "event")

# What the runner assumes when [pen] leaves a key out (sim/runner.py).
PEN_DEFAULTS: dict[str, Any] = {"cartridge": "12-pin", "zone": "forehead", "profile": "professional",
                                "level": 1, "depth_mm": 0.25, "battery": 0.95, "ambient_c": 25.0, "awake": True}

# Bounds.  A scenario's trace is kept in memory (one row per 10 ms by
# default: 2 h are 720 000 rows, about 0.3 GB), so a scenario is at most
# 2 hours of pen time; the default full-face session is 40 minutes.
MAX_DURATION_S = 2 * 3600
MAX_FILE_BYTES = 1_000_000
MAX_EVENTS = 10_000
MAX_ACTIONS = 2_000_000          # timed actions a scenario plans (press: 2 per press, pass: 2 per contact)
MAX_PRESSES = 1000
MIN_CONTACT_S = 0.05             # a pass's shortest contact: 5 trace rows at 10 ms
MAX_SEED = 2**32 - 1
AMBIENT_C = (-20.0, 60.0)
MAX_RATE_ERROR_PCT = 1000.0


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


# ---- values ----------------------------------------------------------------------

def show(value: Any) -> str:
    """A value as the scenario file would spell it, on one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, float):
        text = "nan" if math.isnan(value) else ("inf" if value == math.inf else
                                                 "-inf" if value == -math.inf else repr(value))
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, dict):
        text = "{...} (a table)"
    elif isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = f"{value} (a TOML {type(value).__name__}; quote it)"
    return text if len(text) <= 60 else text[:57] + "..."


def _mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")
TIME_FORMS = "seconds (90, 1.5) or \"m:ss\" / \"h:mm:ss\" (\"1:30\", \"0:00.5\")"


def parse_time(value: Any, limit: float = MAX_DURATION_S, what: str = "the most a scenario may take") -> float:
    """'m:ss', 'h:mm:ss', 'ss.s' or a number of seconds -> seconds, 0..limit.

    Every field is digits (no sign, no exponent, no inf/nan); minutes and
    seconds after a colon are below 60.  Raises ValueError saying what is
    wrong and what is valid."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a time; use {TIME_FORMS}")
    if isinstance(value, str):
        parts = value.strip().split(":")
        if not 1 <= len(parts) <= 3 or not all(_NUMBER.fullmatch(p) for p in parts) \
                or any("." in p for p in parts[:-1]):
            raise ValueError(f"bad time; use {TIME_FORMS}, no signs")
        nums = [float(p) for p in parts]
        if any(n >= 60 for n in nums[1:]):
            raise ValueError("minutes and seconds after a ':' are 0..59; e.g. \"2:15\" or 135 for 135 s")
        secs = 0.0
        for n in nums:
            secs = secs * 60 + n
    else:
        if not math.isfinite(value):
            raise ValueError(f"not a finite time; use {TIME_FORMS}")
        if value < 0:
            raise ValueError("times are not negative")
        secs = float(value)
    if secs > limit:
        raise ValueError(f"longer than {limit:g} s ({_mmss(limit)}), {what}")
    return secs


def parse_range(value: Any, what: str = "range") -> tuple[float, float]:
    """'3-6' or 4 -> (3.0, 6.0) seconds."""
    if isinstance(value, str) and "-" in value:
        a, b = value.split("-", 1)
        try:
            lo, hi = parse_time(a), parse_time(b)
        except ValueError:
            raise ValueError(f"bad range; use \"lo-hi\" in seconds (\"3-6\") or one time ({TIME_FORMS})") from None
        if lo > hi:
            raise ValueError("the range runs backwards; write the shorter time first")
        return lo, hi
    t = parse_time(value)
    return t, t


def _number(value: Any, lo: float, hi: float, unit: str = "") -> float:
    u = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number; valid: {lo:g} to {hi:g}{u}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"out of range; valid: {lo:g} to {hi:g}{u}")
    return float(value)


def _whole(value: Any, lo: int, hi: int, what: str = "") -> int:
    w = f" {what}" if what else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number; valid{w}: {lo}..{hi}")
    if not lo <= value <= hi:
        raise ValueError(f"out of range; valid{w}: {lo}..{hi}")
    return value


def _choice(value: Any, choices: list[str] | tuple[str, ...], what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a {what} name; one of: {', '.join(choices)}")
    if value not in choices:
        raise ValueError(f"unknown {what}; one of: {', '.join(choices)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not text; quote it")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def board_names() -> list[str]:
    """The board definitions in boards/ (modules with a BOARD dict)."""
    import boards
    out = []
    for m in pkgutil.iter_modules(boards.__path__):
        if m.ispkg:
            continue
        try:
            mod = importlib.import_module(f"boards.{m.name}")
        except Exception:          # a broken board file is not a board to offer
            continue
        if isinstance(getattr(mod, "BOARD", None), dict):
            out.append(m.name)
    return sorted(out)


def _board(name: str) -> dict[str, Any]:
    board: dict[str, Any] = importlib.import_module(f"boards.{name}").BOARD
    return board


# ---- where things are in the file ------------------------------------------------

_HEADER = re.compile(r"\[\[\s*([^\]\s]+)\s*\]\]|\[\s*([^\]\s]+)\s*\]")
_KEY = re.compile(r"\"([^\"]*)\"\s*[=.]|'([^']*)'\s*[=.]|([A-Za-z0-9_-]+)\s*[=.]")


class _Lines:
    """Line numbers of tables and keys: (section, index) -> header line,
    (section, index, key) -> the key's line.  Section "" is the top level;
    index counts [[section]] tables (0 for plain tables)."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        section, idx, quote = "", 0, ""
        for n, raw in enumerate(text.splitlines(), 1):
            s = raw.strip()
            if quote:                                  # inside a multi-line string
                if quote in s:
                    quote = ""
                continue
            m = _HEADER.match(s)
            if m:
                if m.group(1):
                    section = m.group(1)
                    idx = counts.get(section, 0)
                    counts[section] = idx + 1
                else:
                    section, idx = m.group(2), 0
                self.tables.setdefault((section, idx), n)
                continue
            k = _KEY.match(s)
            if k:
                key = next(g for g in k.groups() if g is not None)
                self.keys.setdefault((section, idx, key), n)
                for q in ('"""', "'''"):
                    if s.count(q) % 2:
                        quote = q

    def table(self, section: str, idx: int = 0) -> int | None:
        return self.tables.get((section, idx)) or self.keys.get(("", 0, section))

    def key(self, section: str, idx: int, key: str) -> int | None:
        return self.keys.get((section, idx, key)) or self.table(section, idx)


class _Checker:
    """Builds the errors: '<file>:<line>: <where> <key> = <value>: <what is wrong>'."""

    def __init__(self, where: str, lines: _Lines) -> None:
        self.where = where
        self.lines = lines

    def error(self, line: int | None, msg: str) -> ScenarioError:
        return ScenarioError(f"{self.where}:{line}: {msg}" if line else f"{self.where}: {msg}")

    def section(self, name: str, data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(self.lines.table(name), f"[{name}] must be a table: write it as a [{name}] section")
        for k in value:
            if k not in keys:
                raise self.error(self.lines.key(name, 0, k),
                                 f"[{name}] unknown key '{k}' (one of: {', '.join(keys)})")
        return dict(value)

    def value(self, section: str, idx: int, label: str, key: str, value: Any, check: Any, *args: Any) -> Any:
        """check(value, *args), its ValueError turned into a located error."""
        try:
            return check(value, *args)
        except ValueError as e:
            raise self.error(self.lines.key(section, idx, key), f"{label} {key} = {show(value)}: {e}") from None


# ---- loading ---------------------------------------------------------------------

def resolve(name_or_path: str) -> Path:
    """A scenario by path, or by name from the shipped set."""
    if not name_or_path.strip():
        raise ScenarioError("no scenario given; name a .toml file or a shipped scenario (needlepen sim --list)")
    p = Path(name_or_path)
    if p.exists():
        return p
    if "\0" not in name_or_path:
        for cand in (SCENARIO_DIR / f"{name_or_path}.toml", SCENARIO_DIR / "faults" / f"{name_or_path}.toml"):
            if cand.is_file():
                return cand
    raise ScenarioError(f"{name_or_path}: no such scenario file, and no shipped scenario of that name "
                        f"(try: needlepen sim --list)")


def shipped() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml")) + sorted((SCENARIO_DIR / "faults").glob("*.toml"))


def read_text(path: Path) -> str:
    """The file as text, or a ScenarioError saying why it is not a scenario."""
    hint = "a scenario is a UTF-8 TOML text file (docs/simulator.md)"
    if path.is_dir():
        raise ScenarioError(f"{path}: is a directory, not a scenario file; give a .toml file or a shipped "
                            f"name (needlepen sim --list)")
    if not path.is_file():
        raise ScenarioError(f"{path}: not a regular file; {hint}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: {size} bytes, too large for a scenario (at most {MAX_FILE_BYTES}); {hint}")
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read it ({e.strerror or e}); check its permissions") from None
    if b"\0" in raw:
        raise ScenarioError(f"{path}: a binary file (it has NUL bytes), not a scenario; {hint}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                            f"save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column \d+\)$", msg)
        if m:
            raise ScenarioError(f"{path}:{m.group(1)}: not valid TOML: {msg[:m.start()].strip()} "
                                f"({m.group(0)[4:-1]})") from None
        raise ScenarioError(f"{path}: not valid TOML: {msg}") from None
    return build(data, text, str(path))


def build(data: dict[str, Any], text: str, where: str) -> Scenario:
    lines = _Lines(text)
    ck = _Checker(where, lines)
    for key, value in data.items():
        if key in SECTIONS:
            continue
        if isinstance(value, dict | list):
            raise ck.error(lines.table(key),
                           f"unknown section [{key}] (expected one of: {', '.join(sorted(SECTIONS))})")
        raise ck.error(lines.key("", 0, key), f"{key} = {show(value)} outside any section: keys go in "
                                             f"[scenario], [pen], [expect] or [[event]] (docs/simulator.md)")

    head = ck.section("scenario", data, SCENARIO_KEYS)
    name = ck.value("scenario", 0, "[scenario]", "name", head.get("name", Path(where).stem), _text)
    description = ck.value("scenario", 0, "[scenario]", "description", head.get("description", ""), _text)
    seed = ck.value("scenario", 0, "[scenario]", "seed", head.get("seed", 1), _whole, 0, MAX_SEED)
    board_name = ck.value("scenario", 0, "[scenario]", "board", head.get("board", "virtual"), _choice,
                          board_names(), "board")
    board = _board(board_name)

    pen = ck.section("pen", data, PEN_KEYS)
    _check_pen(pen, board, board_name, ck)

    raw_events = data.get("event", [])
    if not isinstance(raw_events, list):
        raise ck.error(lines.table("event"), "events are written as [[event]] tables (two brackets)")
    if len(raw_events) > MAX_EVENTS:
        raise ck.error(None, f"{len(raw_events)} events, more than a scenario may have ({MAX_EVENTS})")
    events: list[Event] = []
    t_end = 0.0
    actions = 0
    for idx, ev in enumerate(raw_events):
        events.append(_event(ev, idx, t_end, board, board_name, ck))
        t_end = events[-1].end_us / 1e6
        actions += _actions(events[-1])
    if actions > MAX_ACTIONS:
        raise ck.error(None, f"the events plan {actions} timed actions, more than {MAX_ACTIONS}; "
                             f"fewer presses, longer contacts or a shorter scenario")
    events.sort(key=lambda e: e.t_us)

    expect = ck.section("expect", data, EXPECT_KEYS)
    _check_expect(expect, ck)

    sc = Scenario(name=name, description=description, seed=seed, board=board_name, pen=pen, events=events,
                  expect=expect, path=where)
    ends = [e for e in events if e.kind == "end"]
    last = max((e.end_us for e in events), default=0)
    sc.duration_us = ends[0].t_us if ends else last + 5_000_000
    if sc.duration_us > MAX_DURATION_S * 1_000_000:
        raise ck.error(None, f"the scenario runs {sc.duration_us / 1e6:g} s, longer than "
                             f"{MAX_DURATION_S} s ({_mmss(MAX_DURATION_S)}), the most a scenario may take; "
                             f"end it sooner (do = \"end\")")
    if sc.duration_us <= 0:
        line = ends[0].line if ends else None
        raise ck.error(line, "the scenario ends at 0 s: nothing would run; put its end later")
    return sc


def depth_window(board: dict[str, Any], cartridge: str, zone: str, profile: str) -> tuple[int, int, list[str]]:
    """The active depth window (lo, hi) in um at power-on and what sets it."""
    d = board["depth"]
    lo, hi = d["hard_min_um"], d["hard_max_um"]
    why = [f"board {d['hard_min_um'] / 1000:g}-{d['hard_max_um'] / 1000:g} mm"]
    for c in board["cartridges"]:
        if c["name"] == cartridge:
            lo, hi = max(lo, c["min_um"]), min(hi, c["max_um"])
            why.append(f"cartridge {cartridge} {c['min_um'] / 1000:g}-{c['max_um'] / 1000:g} mm")
    cap = zones.zone_max_um(zone, profile)
    hi = min(hi, cap)
    why.append(f"zone {zone} ({profile}) up to {cap / 1000:g} mm")
    return lo, hi, why


def _depth_um(value: Any, lo_um: int, hi_um: int, why: str) -> int:
    """A depth in mm -> um: a number inside lo..hi, on the pen's 0.05 mm steps."""
    rng = f"{lo_um / 1000:g} to {hi_um / 1000:g} mm ({why})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number of millimetres; valid: {rng}")
    if not math.isfinite(value) or not lo_um <= value * 1000 <= hi_um:
        raise ValueError(f"out of range; valid: {rng}")
    um = round(value * 1000)
    if abs(value * 1000 - um) > 1e-6 or um % DEPTH_STEP_UM:
        raise ValueError(f"not on the pen's {DEPTH_STEP_UM / 1000:g} mm steps; valid: {rng}, "
                         f"in steps of {DEPTH_STEP_UM / 1000:g} mm")
    return um


def _cartridges(board: dict[str, Any]) -> list[str]:
    return ["none", *(c["name"] for c in board["cartridges"])]


def _check_pen(pen: dict[str, Any], board: dict[str, Any], board_name: str, ck: _Checker) -> None:
    def val(key: str, check: Any, *args: Any) -> Any:
        return ck.value("pen", 0, "[pen]", key, pen[key], check, *args)

    if "cartridge" in pen:
        pen["cartridge"] = val("cartridge", _choice, _cartridges(board), "cartridge")
    if "zone" in pen:
        pen["zone"] = val("zone", _choice, zones.zone_names(), "zone")
    if "profile" in pen:
        pen["profile"] = val("profile", _choice, zones.profile_names(), "profile")
    n = len(board["motor"]["speed_levels_sps"])
    if "level" in pen:
        pen["level"] = val("level", _whole, 1, n, f"speed levels of board {board_name}")
    if "battery" in pen:
        pen["battery"] = val("battery", _number, 0.0, 1.0, "(state of charge)")
    if "ambient_c" in pen:
        pen["ambient_c"] = val("ambient_c", _number, *AMBIENT_C, "°C")
    if "awake" in pen:
        val("awake", _flag)
    if "depth_mm" in pen:
        p = {**PEN_DEFAULTS, **pen}
        lo, hi, why = depth_window(board, p["cartridge"], p["zone"], p["profile"])
        if lo > hi:
            raise ck.error(ck.lines.key("pen", 0, "depth_mm"),
                           f"[pen] no depth is valid at power-on: {', '.join(why)} do not overlap")
        val("depth_mm", _depth_um, lo, hi, "at power-on: " + ", ".join(why))
        pen["depth_mm"] = float(pen["depth_mm"])


def _check_expect(expect: dict[str, Any], ck: _Checker) -> None:
    names = [n for _, n, _ in pen_faults.FAULTS]

    def val(key: str, check: Any, *args: Any) -> Any:
        return ck.value("expect", 0, "[expect]", key, expect[key], check, *args)

    def fault_list(value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"a list of fault names, e.g. [\"stall\"]; names: {', '.join(names)}")
        for v in value:
            if not isinstance(v, str) or v not in names:
                raise ValueError(f"unknown fault {show(v)}; one of: {', '.join(names)}")
        return value

    if "faults" in expect:
        val("faults", fault_list)
    if "detect_within_ms" in expect:
        val("detect_within_ms", _number, 0.0, MAX_DURATION_S * 1000.0, "ms")
        if "faults" not in expect:
            raise ck.error(ck.lines.key("expect", 0, "detect_within_ms"),
                           "[expect] detect_within_ms needs faults (which faults to time)")
    if "no_faults" in expect:
        val("no_faults", _flag)
        if expect["no_faults"] and "faults" in expect:
            raise ck.error(ck.lines.key("expect", 0, "no_faults"),
                           "[expect] no_faults = true contradicts faults; keep one of them")
    if "max_rate_error_pct" in expect:
        val("max_rate_error_pct", _number, 0.0, MAX_RATE_ERROR_PCT, "%")


def _actions(ev: Event) -> int:
    a = ev.args
    if ev.kind == "press":
        return 2 * int(a["times"])
    if ev.kind == "pass":
        return 2 * (int(a["duration"] / max(a["contact"][0], MIN_CONTACT_S)) + 1)
    return 2


def _event(ev: Any, idx: int, prev_end_s: float, board: dict[str, Any], board_name: str, ck: _Checker) -> Event:
    header = ck.lines.table("event", idx)
    label = f"event {idx + 1}"
    if not isinstance(ev, dict):
        raise ck.error(header, f"{label}: an event is a table ([[event]] with keys), not {show(ev)}")
    kind = ev.get("do")
    if kind is None:
        raise ck.error(header, f"{label}: 'do' is missing; one of: {', '.join(EVENT_KINDS)}")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise ck.error(ck.lines.key("event", idx, "do"),
                       f"{label}: 'do' must be one of: {', '.join(EVENT_KINDS)} (got {show(kind)})")
    label = f"{label} ({kind})"

    def val(key: str, check: Any, *args: Any) -> Any:
        return ck.value("event", idx, label, key, ev[key], check, *args)

    if ("at" in ev) == ("after" in ev):
        raise ck.error(header, f"{label}: give exactly one of 'at' (absolute time) or 'after' "
                               f"(after the previous event)")
    if "at" in ev:
        t = val("at", parse_time)
    else:
        t = prev_end_s + val("after", parse_time)
        if t > MAX_DURATION_S:
            raise ck.error(ck.lines.key("event", idx, "after"),
                           f"{label} after = {show(ev['after'])}: the event would start at {t:g} s, later than "
                           f"{MAX_DURATION_S} s ({_mmss(MAX_DURATION_S)}), the most a scenario may take")
    need, opt = EVENT_KINDS[kind]
    args = {k: v for k, v in ev.items() if k not in ("do", "at", "after")}
    for k in need:
        if k not in args:
            raise ck.error(header, f"{label}: '{kind}' needs '{k}'")
    for k in args:
        if k not in need and k not in opt:
            raise ck.error(ck.lines.key("event", idx, k),
                           f"{label}: '{kind}' does not take '{k}' (it takes: {', '.join(need + opt) or 'nothing'})")
    end = t
    if kind == "press":
        val("button", _choice, BUTTONS, "button")
        if "with" in args:
            val("with", _choice, [b for b in BUTTONS if b != args["button"]], "second button")
        hold = val("hold", parse_time, 60.0, "the longest press") if "hold" in args else 0.1
        if hold <= 0:
            raise ck.error(ck.lines.key("event", idx, "hold"), f"{label} hold = {show(args['hold'])}: "
                                                               f"a press is held longer than 0 s")
        gap = val("gap", parse_time, 60.0, "the longest gap between presses") if "gap" in args else 0.15
        times = val("times", _whole, 1, MAX_PRESSES) if "times" in args else 1
        args.update(hold=hold, gap=gap, times=times)
        end = t + times * (hold + gap)
    elif kind in ("pass", "skin"):
        val("tissue", _choice, list(TISSUES), "tissue")
        if kind == "pass":
            args["duration"] = val("duration", parse_time)
            if args["duration"] <= 0:
                raise ck.error(ck.lines.key("event", idx, "duration"),
                               f"{label} duration = {show(ev['duration'])}: a pass lasts longer than 0 s")
            args["contact"] = val("contact", parse_range) if "contact" in args else parse_range("3-6")
            args["lift"] = val("lift", parse_range) if "lift" in args else parse_range("0.5-1.5")
            if args["contact"][0] < MIN_CONTACT_S:
                raise ck.error(ck.lines.key("event", idx, "contact"),
                               f"{label} contact = {show(ev['contact'])}: contact times are at least "
                               f"{MIN_CONTACT_S:g} s")
            end = t + args["duration"]
    elif kind == "set":
        if not args:
            raise ck.error(header, f"{label}: 'set' needs at least one of level, depth_mm, zone, profile")
        if "level" in args:
            n = len(board["motor"]["speed_levels_sps"])
            args["level"] = val("level", _whole, 1, n, f"speed levels of board {board_name}")
        if "depth_mm" in args:
            d = board["depth"]
            val("depth_mm", _depth_um, d["hard_min_um"], d["hard_max_um"],
                "the board's hard limits; the zone and cartridge may refuse more at run time")
            args["depth_mm"] = float(args["depth_mm"])
        if "zone" in args:
            val("zone", _choice, zones.zone_names(), "zone")
        if "profile" in args:
            val("profile", _choice, zones.profile_names(), "profile")
    elif kind in ("fault", "heal"):
        fkind = val("kind", _choice, list(fault_catalogue.KINDS), "fault")
        if kind == "fault":
            fk = fault_catalogue.KINDS[fkind]

            def fault_value(v: Any) -> Any:
                if not fk.takes_value():
                    raise ValueError(f"fault {fkind} takes no value; leave 'value' out")
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ValueError(f"not a number; {fkind}: {fk.allowed()}")
                try:
                    return fk.check(v)
                except ValueError:
                    raise ValueError(f"out of range; {fkind}: {fk.allowed()}") from None

            if "value" in args:
                args["value"] = val("value", fault_value)
            if "for" in args:
                args["for"] = val("for", parse_time)
                if args["for"] <= 0:
                    raise ck.error(ck.lines.key("event", idx, "for"),
                                   f"{label} for = {show(ev['for'])}: a fault lasts longer than 0 s")
    elif kind == "cartridge":
        val("type", _choice, _cartridges(board), "cartridge")
        if "used" in args:
            if args["type"] == "none":
                raise ck.error(ck.lines.key("event", idx, "used"),
                               f"{label}: 'used' is for a cartridge going in, not type = \"none\"")
            max_use = next(c["max_use_s"] for c in board["cartridges"] if c["name"] == args["type"])
            args["used"] = val("used", parse_time, float(max_use), f"the {args['type']} cartridge's life")
    return Event(t_us=int(round(t * 1e6)), kind=kind, args=args, line=header or 0, end_us=int(round(end * 1e6)))
