"""The interactive console: a refreshing telemetry view and single-key control."""

from __future__ import annotations

import json
import select
import sys
import termios
import time
import tty
from typing import Any

from host_tools.link import PenLink

KEYS = "space start/stop   + - speed   ] [ depth   c clear   : command   q quit"


def _view(t: dict[str, Any] | None, last: str) -> str:
    if t is None:
        return "waiting for telemetry..."
    bar = "#" * int(min(40, t["duty"] * 40 // 65535))
    faults = ", ".join(t["f"]) if t["f"] else "none"
    return "\n".join([
        f"needlepen console   {time.strftime('%H:%M:%S')}",
        "",
        f"  state    {t['st'].upper():8}   faults: {faults}",
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
    link.must(f"tele on {rate}")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    last = "connected to " + link.port
    try:
        tty.setcbreak(fd)
        while True:
            link.pump(0.1)
            t = link.telemetry[-1] if link.telemetry else None
            sys.stdout.write("\x1b[H\x1b[2J" + _view(t, last) + "\n")
            sys.stdout.flush()
            if not select.select([sys.stdin], [], [], 0)[0]:
                continue
            key = sys.stdin.read(1)
            cmd = None
            if key == "q":
                break
            if key == " ":
                cmd = "stop" if t and t["st"] == "running" else "start"
            elif key in "+=" and t:
                cmd = f"speed {t['lv'] + 1}"
            elif key == "-" and t:
                cmd = f"speed {max(1, t['lv'] - 1)}"
            elif key in "]" and t:
                cmd = f"depth {t['dt'] + 50}um"
            elif key == "[" and t:
                cmd = f"depth {max(0, t['dt'] - 50)}um"
            elif key == "c":
                cmd = "clear"
            elif key == ":":
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
                cmd = input("\ncommand: ").strip() or None
                tty.setcbreak(fd)
            if cmd:
                a = link.command(cmd)
                last = f"{cmd}: " + ("OK " if a.ok else f"ERR {a.code} ") + (a.text if len(a.text) < 100 else
                                                                               json.dumps(a.text)[:100])
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        try:
            link.command("tele off")
        except Exception:
            pass
    return 0
