"""The interactive console: a refreshing telemetry view and single-key control."""

from __future__ import annotations

import json
import os
import re
import select
import sys
import termios
import time
import tty
from typing import IO, Any

from host_tools.link import PenLink

KEYS = "space start/stop   + - or up down speed   ] [ or right left depth   c clear   : command   q quit"

# a terminal's escape sequences (arrows, function keys): CSI or SS3, then the final byte
_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|O[@-~]|.?)", re.S)
_ARROWS = {"\x1b[A": "up", "\x1b[B": "down", "\x1b[C": "right", "\x1b[D": "left",
           "\x1bOA": "up", "\x1bOB": "down", "\x1bOC": "right", "\x1bOD": "left"}


def colour(stream: IO[str]) -> bool:
    """Colour on this stream: a terminal, and NO_COLOR (no-color.org) unset."""
    try:
        tty_ = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty_ and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, sgr: str, on: bool) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if on else text


def keys(typed: str) -> list[str]:
    """What a person typed, as keys: single characters, or up/down/right/left
    for the arrows; other escape sequences (function keys, a lone Esc) are
    dropped, never read as their characters ("\\x1b[A" is not "[")."""
    out: list[str] = []
    i = 0
    while i < len(typed):
        m = _ESCAPE.match(typed, i)
        if m:
            if m.group(0) in _ARROWS:
                out.append(_ARROWS[m.group(0)])
            i = m.end()
        else:
            out.append(typed[i])
            i += 1
    return out


def command_for(key: str, t: dict[str, Any] | None) -> str | None:
    """The protocol command a key asks for, given the last telemetry."""
    if key == " ":
        return "stop" if t and t["st"] == "running" else "start"
    if key == "c":
        return "clear"
    if t is None:
        return None
    if key in ("+", "=", "up"):
        return f"speed {t['lv'] + 1}"
    if key in ("-", "down"):
        return f"speed {max(1, t['lv'] - 1)}"
    if key in ("]", "right"):
        return f"depth {t['dt'] + 50}um"
    if key in ("[", "left"):
        return f"depth {max(0, t['dt'] - 50)}um"
    return None


def _view(t: dict[str, Any] | None, last: str, red: bool = False) -> str:
    if t is None:
        return "waiting for telemetry..."
    bar = "#" * int(min(40, t["duty"] * 40 // 65535))
    faults = paint(", ".join(t["f"]), "1;31", red) if t["f"] else "none"
    state = paint(f"{t['st'].upper():8}", "1;31", red and t["st"] == "fault")
    return "\n".join([
        f"needlepen console   {time.strftime('%H:%M:%S')}",
        "",
        f"  state    {state}   faults: {faults}",
        f"  speed    level {t['lv']}   {t['rate'] / 100:6.1f} strokes/s   target {t['tgt'] / 100:5.0f}",
        f"  duty     {t['duty'] * 100 // 65535:3d} %  {bar}",
        f"  depth    {t['d'] / 1000:.2f} mm   target {t['dt'] / 1000:.2f} mm   limit {t['lim'] / 1000:.2f} mm",
        f"  battery  {t['mv'] / 1000:.2f} V   motor {t['dc'] / 10:.1f} C   {t['ma']} mA",
        "",
        f"  last: {last}",
        "",
        f"  {KEYS}",
    ])


def interactive(link: PenLink, rate: int) -> int:
    try:
        import readline  # noqa: F401  (the ':' prompt edits lines and keeps history)
    except ImportError:
        pass
    red = colour(sys.stdout)
    link.must(f"tele on {rate}")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    last = "connected to " + link.port
    try:
        tty.setcbreak(fd)
        while True:
            link.pump(0.1)
            t = link.telemetry[-1] if link.telemetry else None
            sys.stdout.write("\x1b[H\x1b[2J" + _view(t, last, red) + "\n")
            sys.stdout.flush()
            if not select.select([fd], [], [], 0)[0]:
                continue
            typed = os.read(fd, 64).decode(errors="ignore")
            if not typed:                          # the terminal went away
                break
            for key in keys(typed):
                if key == "q":
                    return 0
                cmd = command_for(key, t)
                if key == ":":
                    termios.tcsetattr(fd, termios.TCSADRAIN, saved)
                    try:
                        cmd = input("\ncommand: ").strip() or None
                    except EOFError:
                        cmd = None
                    tty.setcbreak(fd)
                if cmd:
                    a = link.command(cmd)
                    answer = a.text if len(a.text) < 100 else json.dumps(a.text)[:100]
                    last = f"{cmd}: " + ("OK " if a.ok else paint(f"ERR {a.code} ", "31", red)) + answer
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        try:
            link.command("tele off")
        except Exception:
            pass
    return 0
