"""needlepen: the command-line tool for the needlepen pen.

    needlepen sim [SCENARIO]      run the simulator (default: a full-face session)
    needlepen deploy --port P     copy the firmware to a pen           (see --help)
    needlepen console --port P    live telemetry and control
    needlepen status --port P     print the pen's status once
    needlepen log --port P        fetch the pen's event log
    needlepen reset --port P      reset the pen (planned: not logged as a watchdog reset)
    needlepen maintenance --port P   reset it into maintenance mode (motor disabled, REPL free)
    needlepen virtual-pen         a simulated pen on a pseudo-terminal
    needlepen service --port P    service functions (calibration, limits), key-protected
    needlepen boards [NAME]       board definitions and pin maps
    needlepen web [--virtual]     a local web page: live charts, controls, simulator
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from host_tools import boards_cmd, pen_cmds, sim_cmd
from host_tools.web import command as web_cmd

COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "sim": sim_cmd.add_parser,
    "pen": pen_cmds.add_parsers,
    "boards": boards_cmd.add_parser,
    "web": web_cmd.add_parser,
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="needlepen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "run", None):
        ap.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
