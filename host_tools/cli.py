"""needlepen: the command-line tool for the needlepen pen.

    needlepen sim [SCENARIO]      run the simulator (default: a full-face session)
    needlepen campaign run|report|replay   fault-injection campaigns (every core, Dask)
    needlepen deploy --port P     copy the firmware to a pen           (see --help)
    needlepen console --port P    live telemetry and control
    needlepen status --port P     print the pen's status once
    needlepen log --port P        fetch the pen's event log
    needlepen reset --port P      reset the pen (planned: not logged as a watchdog reset)
    needlepen maintenance --port P   reset it into maintenance mode (motor disabled, REPL free)
    needlepen virtual-pen         a simulated pen on a pseudo-terminal
    needlepen service --port P    service functions (calibration, limits), key-protected
    needlepen boards [NAME]       board definitions and pin maps
    needlepen ports               the serial ports, and which look like a pen
    needlepen web [--virtual]     a local web page: live charts, controls, simulator
    needlepen accel build         compile the simulator's hot path (about 1.7x faster)

--port P: a serial port, or auto (the one pen on USB); without --port,
$NEEDLEPEN_PORT.  Exit status: 0 done; 1 the pen refused, a deploy failed,
or an unexpected error; 2 a usage error or a pen that cannot be reached;
130 interrupted; 141 stdout closed early (| head).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from host_tools import accel_cmd, boards_cmd, campaign_cmd, pen_cmds, ports, sim_cmd
from host_tools.web import command as web_cmd

COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "sim": sim_cmd.add_parser,
    "campaign": campaign_cmd.add_parser,
    "pen": pen_cmds.add_parsers,
    "boards": boards_cmd.add_parser,
    "ports": ports.add_parser,
    "web": web_cmd.add_parser,
    "accel": accel_cmd.add_parser,
}


def version() -> str:
    from importlib import metadata
    try:
        return metadata.version("needlepen")
    except metadata.PackageNotFoundError:       # run from a source tree, not installed
        pass
    from host_tools.deploy import VERSION
    return VERSION


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="needlepen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"needlepen {version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return ap


def _stdout_gone() -> int:
    """stdout was closed early (`needlepen boards | head -1`): stop quietly,
    like other unix tools; the interpreter's last flush must not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141                     # 128 + SIGPIPE, what a shell reports for `yes | head -1`


def main(argv: list[str] | None = None) -> int:
    from host_tools.link import LinkError
    where = "needlepen"
    try:
        ap = build_parser()
        args = ap.parse_args(argv)
        if not getattr(args, "run", None):
            ap.print_help()
            return 2
        where = f"needlepen {args.command}"
        try:
            code = int(args.run(args) or 0)
        finally:
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except LinkError as e:                # the pen cannot be reached, or went away
        print(f"{where}: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if os.environ.get("NEEDLEPEN_DEBUG"):
            raise
        text = " ".join(str(e).split())[:300]
        print(f"{where}: unexpected {type(e).__name__}: {text} (a bug: please report it; run with "
              f"NEEDLEPEN_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
