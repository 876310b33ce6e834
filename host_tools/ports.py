"""Which serial port a command talks to: `--port P`, `--port auto` (the one
USB serial device that looks like a pen, as mpremote's `connect auto`), or
$NEEDLEPEN_PORT; and `needlepen ports`, the listing (as `mpremote devs`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from host_tools.link import LinkError

ENV = "NEEDLEPEN_PORT"

# USB vendor ids a pen shows up with: the RP2040's own USB (MicroPython's),
# MicroPython's own id, Espressif's native USB, the bridges ESP32 modules use.
PEN_USB_VENDORS = {0x2E8A: "Raspberry Pi RP2040", 0xF055: "MicroPython", 0x303A: "Espressif USB",
                   0x10C4: "CP210x bridge", 0x1A86: "CH340 bridge", 0x0403: "FTDI bridge"}

HELP = """List the serial ports: device, USB VID:PID, serial number and
description.  Those marked * look like a pen or a MicroPython board (by
their USB vendor: RP2040, MicroPython, Espressif, CP210x, CH340, FTDI):
`--port auto` picks that one when there is exactly one.  A virtual pen is
not listed: it prints its own port.

Every command that talks to a pen takes --port P, --port auto, or, without
--port, the port in $NEEDLEPEN_PORT (which may be auto too).

examples:
  needlepen ports
  export NEEDLEPEN_PORT=/dev/ttyACM0; needlepen status
  needlepen status --port auto
"""


class PortError(LinkError):
    """No port, or not one port: a usage error."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ports", help="list serial ports, mark those that look like a pen", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=run)


def comports() -> list[Any]:
    from serial.tools import list_ports
    return sorted(list_ports.comports(), key=lambda p: p.device)


def looks_like_pen(p: Any) -> bool:
    if getattr(p, "vid", None) in PEN_USB_VENDORS:
        return True
    text = f"{getattr(p, 'description', '')} {getattr(p, 'manufacturer', '')} {getattr(p, 'product', '')}"
    return "MicroPython" in text


def _vidpid(p: Any) -> str:
    return f"{p.vid:04x}:{p.pid:04x}" if getattr(p, "vid", None) is not None else "-"


def _describe(p: Any) -> str:
    what = p.description if p.description and p.description != "n/a" else ""
    vendor = PEN_USB_VENDORS.get(getattr(p, "vid", None) or -1, "")
    return ", ".join(x for x in (what, vendor) if x) or "no description"


def auto() -> str:
    """The one USB serial device that looks like a pen."""
    found = comports()
    pens = [p for p in found if looks_like_pen(p)]
    if len(pens) == 1:
        return str(pens[0].device)
    if pens:
        raise PortError("several serial devices could be a pen: " +
                        ", ".join(f"{p.device} ({_describe(p)})" for p in pens) + "; choose one with --port")
    others = f" ({len(found)} other serial port(s): needlepen ports lists them)" if found else ""
    raise PortError(f"--port auto: no serial device looks like a pen{others}; plug the pen in by USB, or "
                    f"give --port P (a virtual pen prints its port)")


def resolve(value: str | None) -> str:
    """The port a command uses: --port, else $NEEDLEPEN_PORT; `auto` finds it."""
    port = value if value else os.environ.get(ENV, "").strip()
    if not port:
        raise PortError(f"no port: give --port P (needlepen ports lists them), --port auto, or set {ENV}")
    return auto() if port == "auto" else port


def run(args: argparse.Namespace) -> int:
    found = comports()
    if not found:
        print("no serial ports (is the pen plugged in? a virtual pen is not listed: it prints its own port)",
              file=sys.stderr)
        return 0
    rows = [(p.device, _vidpid(p), p.serial_number or "-", _describe(p), looks_like_pen(p)) for p in found]
    w = max(len(r[0]) for r in rows)
    for dev, vp, sn, what, pen in rows:
        print(f"{'*' if pen else ' '} {dev:{w}}  {vp:9}  {sn:16}  {what}")
    if any(r[4] for r in rows):
        print("* looks like a pen or a MicroPython board (--port auto picks it when it is the only one)",
              file=sys.stderr)
    return 0
