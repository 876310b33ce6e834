"""The `needlepen` commands that talk to a pen: deploy, status, log, reset,
maintenance, console, service, virtual-pen."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from host_tools import boardfile, ports
from host_tools.link import LinkError, PenLink, PortOpenError, open_serial

PORT_HELP = ("the pen's serial port (/dev/ttyACM0, COM3, the port a virtual pen printed), or auto: the one "
             "pen on USB (needlepen ports lists them); default: $NEEDLEPEN_PORT")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="copy the firmware and a board definition to a pen",
                       description=DEPLOY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.add_argument("--stage", metavar="DIR",
                   help="write what the pen would get (with manifest.json) into DIR instead, and print the "
                        "mpremote commands that copy it")
    p.add_argument("--board", default=None,
                   help=f"board definition (default: the one on the pen, else virtual); one of: "
                        f"{', '.join(boardfile.names())}")
    p.add_argument("--mpy", action="store_true", help="precompile with mpy-cross for the board's chip")
    p.add_argument("--no-reset", action="store_true", help="leave the pen at the REPL afterwards")
    p.add_argument("--pen-id", help="with --stage: sign for this pen (its id: needlepen status) and stage its key")
    p.set_defaults(run=run_deploy)

    p = sub.add_parser("service", help="service functions: calibration, hard-limit override",
                       description=SERVICE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.add_argument("action", choices=["cal", "limits", "unlock", "lock"], help="what to do")
    p.add_argument("args", nargs="*", help="cal: KEY COUNTS; limits: MIN_UM MAX_UM")
    p.set_defaults(run=run_service)

    p = sub.add_parser("status", help="print the pen's status once", description=STATUS_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run_status)

    p = sub.add_parser("log", help="fetch the pen's event and fault log", description=LOG_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.add_argument("-n", type=int, default=50, help="the last N events (default 50)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=run_log)

    p = sub.add_parser("reset", help="reset the pen (a planned reset, not a watchdog one)",
                       description=RESET_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.set_defaults(run=run_reset)

    p = sub.add_parser("maintenance", help="reset the pen into maintenance mode (motor disabled, REPL free)",
                       description=MAINTENANCE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.set_defaults(run=run_maintenance)

    p = sub.add_parser("console", help="live telemetry and control", description=CONSOLE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help=PORT_HELP)
    p.add_argument("--lines", action="store_true",
                   help="line mode even on a terminal: commands from stdin, answers on stdout")
    p.add_argument("--json", action="store_true", help="line mode output as JSON lines")
    p.add_argument("--rate", type=int, default=10, help="telemetry rate, 1-50 Hz (default 10)")
    p.set_defaults(run=run_console)

    p = sub.add_parser("virtual-pen", help="a simulated pen on a pseudo-terminal", description=VPEN_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default=os.path.join("out", "virtual-pen"),
                   help="the pen's filesystem (default out/virtual-pen)")
    p.add_argument("--link", help="also make this path a symlink to the port")
    p.add_argument("--fresh", action="store_true", help="start from a factory-fresh filesystem")
    p.add_argument("--verbose", action="store_true", help="log the supervisor's view of resets and the REPL")
    p.set_defaults(run=run_virtual_pen)


SERVICE_HELP = """Service functions, behind the pen's challenge-response unlock: the
pen sends a random challenge, this workstation answers with the pen's key
(provisioned by the first deploy, kept in ~/.needlepen/keys or
$NEEDLEPEN_KEYS), the pen checks it.  Every unlock, refusal and change goes
to the pen's log.  The motor must be stopped.

  cal KEY COUNTS      ADC calibration (cal_depth_a, cal_depth_b, cal_current),
                      applied at the next boot
  limits MIN MAX      override the board's hard depth limits (um), e.g. for a
                      new board revision; signed with the key, so an edited
                      limits.rec is refused; applied at the next boot
  unlock / lock       open service mode for 10 minutes / close it

examples:
  needlepen service --port /dev/ttyACM0 cal cal_depth_a 40
  needlepen service --port /dev/ttyACM0 limits 200 2000
"""

STATUS_HELP = """Ask the pen for its status once and print it: state and faults,
speed level and measured stroke rate, depth against the active limit, zone,
cartridge, battery, motor temperature and current, loop timing.  If the pen
sits at the MicroPython REPL (after an mpremote session) its firmware is
restarted first.

examples:
  needlepen status --port /dev/ttyACM0
  needlepen status --port /dev/ttyACM0 --json | jq .faults
"""

LOG_HELP = """Fetch the pen's event log: boots (with the reset cause), starts and
stops (button or protocol), faults as they latched, clears, settings saved,
settings found damaged, integrity problems.  The pen keeps the newest 8-16 KB
on flash; each entry carries the boot number and milliseconds since that
boot (the pen has no calendar clock).

examples:
  needlepen log --port /dev/ttyACM0 -n 20
  needlepen log --port /dev/ttyACM0 --json > pen-log.jsonl
"""

RESET_HELP = """Reset the pen with the protocol's `reset`: it answers, saves its
log and settings, and restarts the firmware.  The next boot logs
reset=planned (not a watchdog reset).  The pen refuses while the motor runs
(stop it first).  A pen at the REPL (in maintenance mode, after an mpremote
session) has its firmware restarted first, then reset.

examples:
  needlepen reset --port /dev/ttyACM0
"""

MAINTENANCE_HELP = """Reset the pen into maintenance mode with the protocol's
`maintenance`: it boots with the motor disabled, the hardware watchdog never
armed and the MicroPython REPL free, for mpremote or a file copy by hand
(`needlepen deploy` does this itself).  Waits until the pen is back at its
REPL (on USB the port vanishes and reappears meanwhile) and prints its
maintenance line.  The pen refuses while the motor runs (stop it first).
To run again: needlepen reset --port P, or a power cycle.

examples:
  needlepen maintenance --port /dev/ttyACM0
  needlepen maintenance --port /dev/ttyACM0 && mpremote connect /dev/ttyACM0 resume fs ls
"""

DEPLOY_HELP = """Copy the firmware and a board definition to a pen with mpremote,
optionally precompiled with mpy-cross for the board's chip, write a manifest of
file hashes, verify it on the pen and reset the pen.

A pen that runs the firmware is first reset into maintenance mode (motor
disabled, no watchdog; a running motor is stopped first); one that does not
answer the protocol (older firmware, at the REPL) is interrupted with Ctrl-C,
which stops the motor too.  A deploy that fails or is cut off leaves the pen
booting with the motor disabled (integrity fault) until a deploy completes.
The final reset is marked as planned, so the pen does not log it as a
watchdog reset.

examples:
  needlepen deploy --port /dev/ttyACM0 --board pen_rp2040 --mpy
  needlepen deploy --port /dev/ttyUSB0 --board pen_esp32
  needlepen deploy --port /dev/pts/7            # a virtual pen
"""

CONSOLE_HELP = """Live telemetry of a pen, and control.

On a terminal: a refreshing view; keys
  space  start / stop        + - (up down)     speed level up / down
  c      clear faults        ] [ (right left)  depth +/- 0.05 mm
  :      type a command      q                 quit
Faults show in red (not with NO_COLOR set).

Otherwise (or with --lines): protocol commands from stdin, one per line,
each answer on stdout (--json: one object per line; a JSON answer such as
status is the object itself); "wait SECONDS" (0 to 600) pauses and prints
the telemetry that arrives meanwhile.  A script's end sends "stop", so the
motor never runs on after it; a line that is not UTF-8, or a wait out of
range, ends the script there (exit 2).  Exit 1 if the pen refused a command.
Commands: needlepen console --port P <<< help
"""

VPEN_HELP = """Start the real firmware (main.py with the virtual board and the
simulated plant) in the MicroPython unix port on a pseudo-terminal and print
its port.  deploy, console, status, log and mpremote ("mpremote connect PORT
resume ...") use it exactly as a pen on USB.  Its filesystem is --dir; a new
one gets the firmware as from the factory.  The virtual pen also answers
"sim ..." commands (press buttons, touch skin, inject faults): see "sim" in
the console.  Runs until interrupted.
"""


# ---- deploy ------------------------------------------------------------------------

def _board_on_pen(port: str) -> tuple[str | None, str]:
    """The board file the pen was deployed with, or None and why not.  A
    port that cannot be opened (busy, missing) is an error of its own."""
    try:
        with PenLink(port, restart=True) as link:
            a = link.command("info")
            board = a.json().get("board_file") if a.ok else None
            if isinstance(board, str) and board:
                return board, ""
            return None, f"its info names no board ({a.text[:80]})"
    except PortOpenError:
        raise
    except LinkError as e:
        return None, str(e)
    except (ValueError, AttributeError) as e:
        return None, f"its info is not readable ({e})"


def _stage_problem(directory: str) -> str | None:
    """Why --stage DIR cannot take the staged files, if it cannot."""
    if not directory.strip():
        return "--stage is empty; give a directory"
    problem = _writable_dir_problem(Path(directory), "--stage")
    return problem and problem + "; give a new or an existing directory you can write to"


def run_deploy(args: argparse.Namespace) -> int:
    from host_tools.deploy import DeployError, deploy, write_stage
    if args.board is not None:
        try:
            boardfile.load(args.board)
        except ValueError as e:
            print(f"needlepen deploy: --board: {e}", file=sys.stderr)
            return 2
    if args.stage:
        problem = _stage_problem(args.stage)
        if problem:
            print(f"needlepen deploy: {problem}", file=sys.stderr)
            return 2
        try:
            cmds = write_stage(args.stage, args.board or "virtual", args.mpy, args.pen_id)
        except OSError as e:
            print(f"needlepen deploy: cannot write {args.stage}: {e.strerror or e}; give a directory you can "
                  f"write to", file=sys.stderr)
            return 2
        except (DeployError, ValueError) as e:
            print(f"needlepen deploy: {e}", file=sys.stderr)
            return 1
        print(f"staged in {args.stage}; to copy it by hand:\n" + "\n".join("  " + c for c in cmds))
        return 0
    if args.pen_id:
        print("needlepen deploy: --pen-id goes with --stage DIR (a deploy reads the id from the pen)",
              file=sys.stderr)
        return 2
    if not args.port and not os.environ.get(ports.ENV):
        print(f"needlepen deploy: no port: give --port P (needlepen ports lists them), --port auto, set "
              f"{ports.ENV}, or --stage DIR", file=sys.stderr)
        return 2
    port = ports.resolve(args.port)
    board = args.board
    if board is None:
        # never guess: a freshly flashed board must not get another board's files
        board, why = _board_on_pen(port)
        if board is None:
            print(f"needlepen deploy: no pen answered on {port}: give --board NAME (needlepen boards lists "
                  f"them); {why.split('; ')[0]}", file=sys.stderr)
            return 2
        print(f"board: {board} (from the pen; use --board to choose)")
    try:
        deploy(port, board, mpy=args.mpy, reset=not args.no_reset)
    except DeployError as e:
        print(f"needlepen deploy: {e}", file=sys.stderr)
        return 1
    print("done")
    return 0


# ---- status and log ------------------------------------------------------------------

def _open(port: str | None) -> PenLink:
    """The link to the pen on --port (or $NEEDLEPEN_PORT, or auto).  Its
    LinkErrors (no port, busy, silent, gone) end the command in cli.main:
    one line, exit 2."""
    return PenLink(ports.resolve(port))


def format_status(s: dict[str, Any], red: bool = False) -> str:
    from host_tools.console import paint
    lo, hi = s["limit_um"]
    lines = [
        f"state     {s['state']}" + (paint(f"  FAULTS: {', '.join(s['faults'])}", "1;31", red) if s["faults"] else ""),
        f"speed     level {s['level']}/{s['levels']}: {s['rate_sps']:.1f} strokes/s (target {s['target_sps']:.0f})",
        f"depth     {s['depth_um'] / 1000:.2f} mm measured, {s['depth_target_um'] / 1000:.2f} mm target, "
        f"limit {lo / 1000:.2f}-{hi / 1000:.2f} mm ({s['zone']}, {s['profile']})",
        f"cartridge {s['cartridge'] or 'none'}, used {s['cartridge_use_s'] // 60} min {s['cartridge_use_s'] % 60} s",
        f"battery   {s['battery_mv'] / 1000:.2f} V   motor {s['temp_c']:.1f} C, {s['current_ma']} mA, duty {s['duty']}",
    ]
    if s.get("warnings"):
        lines.append(f"warnings  {', '.join(s['warnings'])}")
    if s.get("pen_id"):
        lines.append(f"pen id    {s['pen_id']}")
    loop = s.get("loop")
    if loop:
        lines.append(f"loop      jitter {loop['jitter_us']} us, longest step {loop['exec_max_us']} us, "
                     f"overruns {loop['overruns']}")
    return "\n".join(lines)


def run_status(args: argparse.Namespace) -> int:
    from host_tools.console import colour
    with _open(args.port) as link:
        a = link.command("status")
    if not a.ok:
        print(f"needlepen status: {a.code} {a.text}", file=sys.stderr)
        return 1
    try:
        s = a.json()
        text = json.dumps(s) if args.json else format_status(s, colour(sys.stdout))
    except (ValueError, KeyError, TypeError, AttributeError):
        print(f"needlepen status: the pen's status is not what this version reads: {a.text[:80]!r}; "
              f"deploy the current firmware (needlepen deploy)", file=sys.stderr)
        return 1
    print(text)                          # --json: the pen's status object itself, one line
    return 0


LOG_MAX = 200            # the pen keeps at most this many per `log`


def run_log(args: argparse.Namespace) -> int:
    if not 1 <= args.n <= LOG_MAX:
        print(f"needlepen log: -n {args.n}: from 1 to {LOG_MAX} events", file=sys.stderr)
        return 2
    with _open(args.port) as link:
        a = link.command(f"log {args.n}", timeout=15)
    if not a.ok:
        print(f"needlepen log: {a.code} {a.text}", file=sys.stderr)
        return 1
    for line in a.lines:
        try:
            e = json.loads(line)
            text = json.dumps(e) if args.json else (f"#{e['seq']:<5} boot {e['boot']:<3} {e['ms'] / 1000:10.3f} s"
                                                     f"  {e['kind']:10} {e['detail']}")
        except (ValueError, KeyError, TypeError):
            text = json.dumps({"raw": line}) if args.json else f"?      {line}"    # a line this version cannot read
        print(text)
    return 0


# ---- reset and maintenance ---------------------------------------------------------------

def run_reset(args: argparse.Namespace) -> int:
    with _open(args.port) as link:
        a = link.command("reset")
    if not a.ok:
        print(f"needlepen reset: {a.code} {a.text}", file=sys.stderr)
        return 1
    print(a.text)
    return 0


def run_maintenance(args: argparse.Namespace) -> int:
    from host_tools.deploy import DeployError, await_repl
    with _open(args.port) as link:
        a = link.command("maintenance")
        if not a.ok and "service unlock" in a.text:      # a provisioned pen: with its key only
            from host_tools import keys
            try:
                keys.service_unlock(lambda line: _answer_line(link, line), link.must("info").json()["pen_id"])
            except keys.UnlockError as e:
                print(f"needlepen maintenance: {e}", file=sys.stderr)
                return 1
            a = link.command("maintenance")
        if not a.ok:
            print(f"needlepen maintenance: {a.code} {a.text}", file=sys.stderr)
            return 1
        print(a.text, flush=True)
        try:
            link.ser, back, line = await_repl(link.ser, link.port, lambda: open_serial(link.port, timeout=None),
                                              lambda s: print(s.strip(), flush=True), link.buf)
        except DeployError as e:
            print(f"needlepen maintenance: {e}", file=sys.stderr)
            return 1
    if not back:
        print(f"needlepen maintenance: the pen did not come back to its REPL (still at {link.port}?)",
              file=sys.stderr)
        return 1
    print(line or "the pen is at its REPL (its maintenance line went out before the port was back)")
    return 0


# ---- service ---------------------------------------------------------------------------

def _answer_line(link: PenLink, line: str) -> str:
    a = link.command(line)
    return ("OK " if a.ok else f"ERR {a.code} ") + a.text


def run_service(args: argparse.Namespace) -> int:
    from host_tools import keys
    need = {"cal": 2, "limits": 2, "unlock": 0, "lock": 0}[args.action]
    if len(args.args) != need:
        print(f"needlepen service: {args.action} takes {need} argument(s)", file=sys.stderr)
        return 2
    with _open(args.port) as link:
        pen_id = link.must("info").json().get("pen_id", "unknown")
        if args.action == "lock":
            print(link.must("service lock").text)
            return 0
        try:
            text = keys.service_unlock(lambda line: _answer_line(link, line), pen_id)
        except keys.UnlockError as e:
            print(f"needlepen service: {e}", file=sys.stderr)
            return 1
        print(f"pen {pen_id}: {text}")
        if args.action == "unlock":
            return 0
        a = link.command(f"service {args.action} {' '.join(args.args)}")
        link.command("service lock")
        print(("" if a.ok else f"refused ({a.code}): ") + a.text)
        return 0 if a.ok else 1


# ---- console ---------------------------------------------------------------------------

WAIT_MAX_S = 600.0       # the longest `wait` a console script may ask for


class ScriptError(Exception):
    """A console input line the host cannot use (not the pen's refusal)."""


def wait_seconds(words: list[str]) -> float:
    """The seconds of a `wait SECONDS` line: a number from 0 to WAIT_MAX_S."""
    if len(words) != 2:
        raise ScriptError("usage: wait SECONDS")
    try:
        seconds = float(words[1])
    except ValueError:
        raise ScriptError(f"wait {words[1]!r}: not a number of seconds") from None
    if not 0 <= seconds <= WAIT_MAX_S:           # (nan is neither)
        raise ScriptError(f"wait {words[1]}: seconds from 0 to {WAIT_MAX_S:.0f} (the longest wait)")
    return seconds


def wait_pen_time(link: PenLink, seconds: float) -> None:
    """A script's `wait SECONDS`: that long on the pen's own clock (its
    telemetry's `t`), which on a pen is the wall clock and on a virtual pen
    is its simulated time: a script means the same on a busy host.  At most
    3 x SECONDS + 5 s of wall time; without telemetry, wall time."""
    start = time.monotonic()
    try:
        t0 = link.command("status").json()["t_ms"]
    except (ValueError, KeyError, TypeError, LinkError):
        t0 = None
    link.telemetry.clear()
    end = start + seconds
    limit = start + 3 * seconds + 5
    while True:
        now = time.monotonic()
        tele = link.telemetry
        if t0 is not None and tele and isinstance(tele[-1].get("t"), int):
            if tele[-1]["t"] - t0 >= seconds * 1000:
                return
        elif now >= end and (t0 is None or now - start > 1.0):
            return                       # no pen clock to follow: the wall's
        if now >= limit:
            return
        link.pump(min(0.05, limit - now))


def answer_value(text: str) -> Any:
    """An answer's text, parsed when it is JSON (status, info, get): a
    script's JSON line holds the pen's object, not JSON in a string."""
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _script_lines() -> Iterator[tuple[int, str]]:
    """Lines of a console script on stdin: (number, text).  Bytes that are
    not UTF-8 end the script (ScriptError), as a wrong line would."""
    stdin = sys.stdin
    if stdin is None:                            # started with stdin closed: an empty script
        return
    source = getattr(stdin, "buffer", None)
    for n, raw in enumerate(source if source is not None else stdin, 1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ScriptError(f"line {n} is not UTF-8 text ({raw[:40]!r})") from None
        else:
            text = raw
        yield n, text


def _typed_lines() -> Iterator[tuple[int, str]]:
    """Lines typed on a terminal, with line editing and history (readline)."""
    try:
        import readline  # noqa: F401  (input() edits lines and keeps history with it loaded)
    except ImportError:
        pass
    n = 0
    while True:
        try:
            line = input("> ")
        except EOFError:
            print()
            return
        n += 1
        yield n, line


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):                # closed
        return False


def run_console(args: argparse.Namespace) -> int:
    if not 1 <= args.rate <= 50:
        print(f"needlepen console: --rate {args.rate}: telemetry runs at 1 to 50 Hz", file=sys.stderr)
        return 2
    with _open(args.port) as link:
        if args.lines or args.json or not _stdin_is_tty():
            return _console_lines(link, args)
        from host_tools.console import interactive
        return interactive(link, args.rate)


def _console_lines(link: PenLink, args: argparse.Namespace) -> int:
    from host_tools.console import colour, paint
    typed = _stdin_is_tty()                      # a person at a terminal, else a script
    red = colour(sys.stdout) and not args.json

    def out(obj: dict[str, Any], text: str, alarm: bool = False) -> None:
        print(json.dumps(obj) if args.json else paint(text, "31", red and alarm), flush=True)

    link.command(f"tele on {args.rate}")
    failed, sent, bad_script = 0, 0, False
    try:
        for n, raw in (_typed_lines() if typed else _script_lines()):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if words[0] == "wait":
                try:
                    seconds = wait_seconds(words)
                except ScriptError as e:
                    if not typed:
                        raise ScriptError(f"line {n}: {e}") from None
                    out({"error": str(e)}, str(e), True)
                    continue
                wait_pen_time(link, seconds)
                for t in link.telemetry:
                    out({"telemetry": t}, "T " + json.dumps(t), bool(t.get("f")))
                continue
            a = link.command(line, timeout=15)
            sent += 1
            for extra in a.lines:
                out({"line": answer_value(extra)}, "L " + extra)
            failed += not a.ok
            out({"command": line, "ok": a.ok, "code": a.code, "answer": answer_value(a.text)},
                ("OK " if a.ok else f"ERR {a.code} ") + a.text, not a.ok)
    except ScriptError as e:
        print(f"needlepen console: stdin {e}; the script stops here (and the motor)", file=sys.stderr)
        bad_script = True
    finally:
        if not typed:                            # a script's end never leaves the motor running
            failed += _stop_at_end(link, out)
            sent += 1
        try:
            link.command("tele off")
        except LinkError:
            pass
    if failed and not bad_script:
        print(f"needlepen console: the pen refused {failed} of {sent} command(s) (their ERR lines say why)",
              file=sys.stderr)
    return 2 if bad_script else 1 if failed else 0


def _stop_at_end(link: PenLink, out: Callable[..., None]) -> int:
    try:
        a = link.command("stop")
    except LinkError as e:
        print(f"needlepen console: could not stop the motor at the end of the script: {e}", file=sys.stderr)
        return 0                                 # (the error that got us here is reported)
    out({"end_of_input": "stop", "ok": a.ok, "code": a.code, "answer": a.text},
        "end of input: stop: " + ("OK " if a.ok else f"ERR {a.code} ") + a.text, not a.ok)
    return 0 if a.ok else 1


# ---- virtual pen -------------------------------------------------------------------------

def _writable_dir_problem(path: Path, what: str) -> str | None:
    """Why `path` cannot be a directory we write in; makes it if it can."""
    if path.exists() and not path.is_dir():
        return f"{what} {path} is a file, not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        return f"{what} {path}: cannot write there ({e.strerror or e})"
    return None


def vpen_paths_problem(directory: str, link: str | None) -> str | None:
    """What is wrong with virtual-pen's --dir and --link, before anything is
    written (--link replaces a symlink only, never a file or directory)."""
    if not directory.strip():
        return "--dir is empty; give the pen's filesystem directory"
    problem = _writable_dir_problem(Path(directory), "--dir")
    if problem:
        return problem + "; give a directory for the pen's filesystem"
    if link is None:
        return None
    lp = Path(link)
    if not link.strip() or link.endswith(os.sep):
        return f"--link {link!r}: give a path for the symlink, not a directory"
    if os.path.lexists(lp) and not lp.is_symlink():
        kind = "a directory" if lp.is_dir() else "a file"
        return f"--link {link} is {kind}, not a symlink; give a new path (only a symlink is replaced)"
    parent = lp.parent
    if not parent.is_dir():
        return f"--link {link}: its directory {parent} does not exist"
    probe = parent / f".needlepen-link-probe-{os.getpid()}"
    try:
        os.symlink("probe", probe)
        os.unlink(probe)
    except OSError as e:
        return f"--link {link}: cannot make a symlink in {parent}: {e.strerror or e}"
    return None


def run_virtual_pen(args: argparse.Namespace) -> int:
    problem = vpen_paths_problem(args.dir, args.link)
    if problem:
        print(f"needlepen virtual-pen: {problem}", file=sys.stderr)
        return 2
    from host_tools.virtualpen import serve

    def announce(port: str, flash: str, fresh: bool) -> None:
        print(f"virtual pen on {port}" + (f" (also {args.link})" if args.link else ""), flush=True)
        print(f"  filesystem {flash}{' (factory fresh)' if fresh else ''}; stop with Ctrl-C", flush=True)
        print(f"  try: needlepen console --port {port}", flush=True)

    return serve(args.dir, args.fresh, args.link, sys.stderr if args.verbose else None, announce)
