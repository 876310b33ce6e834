"""`needlepen web`: start the local server and open (or print) the page."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import webbrowser
from collections.abc import Callable

HELP = """A local web page for a pen: live charts of stroke rate against target,
duty, depth against the active limit, current, temperature and battery, with
skin contact shaded; the pen's controls (zone and profile, depth, speed,
start/stop, clear), its faults with what each means and how it clears, the
event log; and a simulator tab (run a shipped or uploaded scenario, see the
summary and plots).

This process owns the pen's serial port; any number of browser tabs watch,
and their commands reach the pen one at a time through its own protocol (the
pen's refusals are the page's).  Nothing starts the motor but a person's
click.  The page needs no network: every script ships in the package.

examples:
  needlepen web --virtual                 # a virtual pen of its own, with the simulator's levers
  needlepen web --port /dev/ttyACM0
  needlepen web                           # the one pen on USB (--port auto)
  needlepen web --virtual --http 0 --no-browser    # any free HTTP port; print the address only
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="a local web page: live charts and controls for a pen, and the simulator",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help="the pen's serial port, or auto: the one pen on USB (default "
                                  "$NEEDLEPEN_PORT, else auto; not with --virtual)")
    p.add_argument("--virtual", action="store_true",
                   help="start a virtual pen and show the simulator's levers (skin, faults, buttons)")
    p.add_argument("--dir", default=os.path.join("out", "virtual-pen"),
                   help="with --virtual: its filesystem (default out/virtual-pen)")
    p.add_argument("--fresh", action="store_true", help="with --virtual: a factory-fresh filesystem")
    p.add_argument("--http", type=int, default=8765, metavar="PORT",
                   help="the page's TCP port on this machine (default 8765; 0: any free one)")
    p.add_argument("--rate", type=int, default=20, metavar="HZ", help="telemetry rate, 1-50 Hz (default 20)")
    p.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    p.set_defaults(run=run)


def _fail(what: str) -> int:
    print(f"needlepen web: {what}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.virtual and args.port:
        return _fail("--port and --virtual exclude each other; give one")
    if not 1 <= args.rate <= 50:
        return _fail(f"--rate {args.rate} is outside the pen's telemetry rates, 1-50 Hz; give one of those")
    if not 0 <= args.http <= 65535:
        return _fail(f"--http {args.http} is no TCP port; give 1-65535, or 0 for any free one")
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return _fail("the aiohttp package is missing; reinstall needlepen (pip install -e .)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", args.http))
    except OSError as e:
        sock.close()
        return _fail(f"cannot listen on 127.0.0.1:{args.http} ({e.strerror}; another needlepen web?); "
                     f"choose another port with --http, or --http 0 for any free one")
    sock.listen(64)
    http_port = sock.getsockname()[1]

    vpen = None
    port = args.port or os.environ.get("NEEDLEPEN_PORT") or "auto"
    if args.virtual:
        from host_tools.web.virtual import VirtualPen, VirtualPenError
        vpen = VirtualPen(args.dir, fresh=args.fresh)
        try:
            port = vpen.start()
        except VirtualPenError as e:
            sock.close()
            return _fail(f"{e}")
    try:
        return _serve(sock, http_port, port, args, vpen.gone if vpen is not None else None)
    finally:
        if vpen is not None:
            vpen.stop()


def _serve(sock: socket.socket, http_port: int, port: str, args: argparse.Namespace,
           gone: Callable[[], str | None] | None) -> int:
    from aiohttp import web

    from host_tools.web.server import WebApp
    hosts = {f"{h}:{http_port}" for h in ("127.0.0.1", "localhost")}
    app = WebApp(port, args.virtual, args.rate, hosts, gone)
    url = f"http://127.0.0.1:{http_port}/"

    async def main() -> None:
        runner = web.AppRunner(app.make_app(), handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        print(f"needlepen web: {url}" + (f"  (virtual pen on {port})" if args.virtual else f"  (pen: {port})"),
              flush=True)
        print("  stop with Ctrl-C", flush=True)
        if not args.no_browser and (sys.platform in ("darwin", "win32") or os.environ.get("DISPLAY")
                                    or os.environ.get("WAYLAND_DISPLAY")):
            try:                  # (without a screen, webbrowser would start a text browser here)
                webbrowser.open(url)
            except Exception:
                pass
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
    return 0
