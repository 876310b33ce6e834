# The serial protocol: line commands from a host over USB CDC / UART, one
# answer line each ("OK ..." or "ERR <code> <text>"), telemetry lines
# ("T {json}") when asked for.  See docs/protocol.md.  Any byte sequence is
# safe input: it is answered, or dropped with an error, and never moves the
# motor except through the checked commands.
import gc
import json

from pen import faults, zones
from pen import tick as T
from pen.core import Refused

MAX_LINE = 120
VERSION = "needlepen-fw 0.1"

MAX_LOG = 200                 # events per `log` answer (streamed a few lines a beat)
TELE_ROOM = 512               # telemetry waits while less than this is free in the output queue
ANSWER_ROOM = 640             # a line is taken only with room for its answer (status, info: ~560 B):
                              # the host's next command waits, an answer is never dropped

HELP = ("commands: status | info | tele on [hz] | tele off | start | stop | clear | speed <level> | "
        "depth <mm>|<um>um | zone <name> [home|professional] | log [n] | get [key] | set <key> <value> | "
        "cartridge new | reset | maintenance | service ... | help")


class ProtocolError(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def parse_depth(arg):
    """'0.55' (mm) or '550um' -> 550 (um), exactly, without floats."""
    a = arg.lower()
    if a.endswith("um"):
        digits = a[:-2]
        if not digits.isdigit() or len(digits) > 5:
            raise ProtocolError("bad_argument", "depth in um must be a whole number, e.g. 550um")
        return int(digits)
    if a.endswith("mm"):
        a = a[:-2]
    whole, _, frac = a.partition(".")
    if not (whole.isdigit() or (whole == "" and frac)) or (frac and not frac.isdigit()) or len(frac) > 3 \
            or len(whole) > 2:
        raise ProtocolError("bad_argument", "depth is in mm, e.g. 0.5 or 1.25 (or 550um)")
    return int(whole or "0") * 1000 + int((frac + "000")[:3])


def _int(arg, what):
    if not arg or not (arg.isdigit() or (arg[0] == "-" and arg[1:].isdigit())) or len(arg) > 9:
        raise ProtocolError("bad_argument", "{} must be a whole number".format(what))
    return int(arg)


class Protocol:
    STREAMED = object()           # a handler's answer goes out through self.stream
    def __init__(self, app, write, settings=None, log=None):
        self.app = app
        self.core = app.core
        self.m = app.core.m
        self.write = write            # write(str): one line out, newline added
        self.settings = settings
        self.log = log
        self.buf = bytearray()
        self.inbuf = b""              # received, not yet taken (waits behind a streamed answer)
        self.discarding = False
        self.tele_every = 0           # telemetry period in 10 ms beats (0: off)
        self._tele_left = 0
        self.stream = None            # lines of a long answer still to go out (a list, oldest first)
        self.tele_skipped = 0         # telemetry lines not sent because the host reads too slowly

    # ---- input -------------------------------------------------------------------
    def feed(self, data):
        """Bytes from the link; answers every complete line (lines after one
        whose answer is streamed wait until it has gone out)."""
        self.inbuf = self.inbuf + data if self.inbuf else data
        self._take_lines()

    def _take_lines(self):
        data = self.inbuf
        i = 0
        while i < len(data) and self.stream is None:
            b = data[i]
            i += 1
            if b == 10 or b == 13:
                if not self._room():
                    i -= 1                # the line ends here: taken once its answer fits
                    break
                line = bytes(self.buf)
                self.buf = bytearray()
                if self.discarding:
                    self.discarding = False
                    self._err("too_long", "line longer than {} characters dropped".format(MAX_LINE))
                elif line:
                    self.line(line)
            elif b < 32 and b != 9:
                pass                      # other control bytes (a host's REPL chatter): dropped
            elif not self.discarding:
                if len(self.buf) >= MAX_LINE:
                    self.buf = bytearray()
                    self.discarding = True
                else:
                    self.buf.append(b)
        self.inbuf = data[i:] if i < len(data) else b""

    def line(self, raw):
        # ASCII only: both interpreters then split, strip and read digits
        # alike (CPython's str methods also take U+00A0 as a space, "²" as
        # a digit; MicroPython's do not).
        for b in raw:
            if b > 126:
                self._err("bad_encoding", "commands are ASCII text")
                return
        text = raw.decode()
        words = text.split()
        if not words:
            return
        cmd = words[0].lower()
        args = words[1:]
        handler = getattr(self, "cmd_" + cmd, None) if cmd.isalpha() else None
        if handler is None:
            self._err("unknown_command", "'{}' is not a command; try help".format(cmd[:20]))
            return
        try:
            answer = handler(args)
            if answer is not self.STREAMED:
                self.write("OK" + ("" if answer is None else " " + answer))
        except ProtocolError as e:
            self._err(e.code, e.text)
        except Refused as e:
            self._err(e.code, e.text)
        except Exception as e:       # never let a command take the loop down
            self._err("internal", "{}: {}".format(type(e).__name__, e))

    def _err(self, code, text):
        self.write("ERR {} {}".format(code, text))

    @staticmethod
    def _nargs(args, lo, hi, usage):
        if not lo <= len(args) <= hi:
            raise ProtocolError("bad_argument", "usage: " + usage)

    # ---- commands ------------------------------------------------------------
    def cmd_help(self, args):
        return HELP

    def cmd_status(self, args):
        self._nargs(args, 0, 0, "status")
        return json.dumps(self.snapshot())

    def cmd_info(self, args):
        self._nargs(args, 0, 0, "info")
        b = self.app.board
        free = getattr(gc, "mem_free", None)
        link = self.app.link
        return json.dumps({
            "mem_free": free() if free else None,
            "mem_alloc": gc.mem_alloc() if free else None,
            "heap_live_max": self.app.heap_live_max,
            "serial_dropped": link.dropped if link is not None else 0, "tele_skipped": self.tele_skipped,
            "tick_irq": self.app.sched.irq, "storage": self.app.storage_problem,
            "firmware": VERSION, "board": b["name"], "board_file": b.get("file"), "port": b["port"],
            "pen_id": self.app.hal.pen_id(),
            "levels_sps": self.core.levels, "period_us": b["control_period_us"],
            "hard_limits_um": [b["depth"]["hard_min_um"], b["depth"]["hard_max_um"]],
            "cartridges": self.core.cartridges, "zones": zones.zone_names(),
            "profiles": zones.profile_names(),
        })

    def cmd_tele(self, args):
        self._nargs(args, 1, 2, "tele on [hz] | tele off")
        if args[0].lower() == "off":
            self.tele_every = 0
            return "tele off"
        if args[0].lower() != "on":
            raise ProtocolError("bad_argument", "usage: tele on [hz] | tele off")
        hz = _int(args[1], "hz") if len(args) > 1 else 10
        if not 1 <= hz <= 50:
            raise ProtocolError("out_of_range", "telemetry rate {} Hz is outside 1..50".format(hz))
        self.tele_every = max(1, 100 // hz)
        self._tele_left = 0
        return "tele on {}".format(100 // self.tele_every)

    def cmd_start(self, args):
        self._nargs(args, 0, 0, "start")
        self.core.start()
        self.app.event("start", "protocol")
        return "start"

    def cmd_stop(self, args):
        self._nargs(args, 0, 0, "stop")
        self.core.stop()
        self.app.event("stop", "protocol")
        return "stop"

    def cmd_clear(self, args):
        self._nargs(args, 0, 0, "clear")
        left = self.core.clear()
        self.app.event("clear", ",".join(left))
        return "clear" if not left else "clear; still present: " + ",".join(left)

    def cmd_speed(self, args):
        self._nargs(args, 1, 1, "speed <level 1..{}>".format(len(self.core.levels)))
        level = self.core.set_level(_int(args[0], "speed level"))
        return "speed {} ({} strokes/s)".format(level, self.core.levels[level - 1])

    def cmd_depth(self, args):
        self._nargs(args, 1, 1, "depth <mm> | depth <um>um")
        um = self.core.set_depth(parse_depth(args[0]))
        return "depth {} um".format(um)

    def cmd_zone(self, args):
        self._nargs(args, 1, 2, "zone <name> [home|professional]")
        hi = self.core.set_zone(args[0].lower(), args[1].lower() if len(args) > 1 else None)
        return "zone {} {} cap {} um".format(self.core.zone, self.core.profile, hi)

    def cmd_log(self, args):
        self._nargs(args, 0, 1, "log [n]")
        n = _int(args[0], "n") if args else 20
        if not 0 <= n <= MAX_LOG:
            raise ProtocolError("out_of_range", "log shows 0..{} events at a time".format(MAX_LOG))
        if self.log is None:
            raise ProtocolError("unavailable", "this pen keeps no log")
        events = self.log.read()
        events = events[-n:] if n > 0 else []
        # Streamed: a few lines a beat as the output queue drains, the answer
        # last; input waits meanwhile, so answers stay in order.
        self.stream = ["L " + json.dumps(e) for e in events] + ["OK log {}".format(len(events))]
        return self.STREAMED

    def busy(self):
        """A streamed answer is still going out, or input waits behind one
        (or behind answers that have not gone out yet)."""
        return self.stream is not None or len(self.inbuf) > 0

    def _room(self):
        link = self.app.link
        return link is None or link.room() >= ANSWER_ROOM

    def _pump_stream(self):
        # As many lines as the output queue has room for.
        link = self.app.link
        room = link.room() if link is not None else 1 << 20
        s = self.stream
        while s and room > 200:
            line = s.pop(0)
            self.write(line)
            room -= len(line) + 1
        if not s:
            self.stream = None

    def cmd_cartridge(self, args):
        if args != ["new"]:
            raise ProtocolError("bad_argument", "cartridge new: the seated cartridge is a new one (motor stopped)")
        name = self.core.confirm_new_cartridge()
        self.app.event("cartridge", "new {} confirmed (serial link)".format(name))
        self._keep()
        return "cartridge {} new: use 0 s".format(name)

    def cmd_reset(self, args):
        self._nargs(args, 0, 0, "reset")
        self.app.request_reset("planned")
        self.app.event("reset", "protocol")
        return "reset"

    def cmd_maintenance(self, args):
        self._nargs(args, 0, 0, "maintenance")
        svc = self.app.service
        if svc is not None and svc.key is not None and not svc.active():
            # The REPL and the files are the pen: a provisioned pen opens them
            # to the workstation with its key only (or to the physical
            # speed-down at power-on).
            raise ProtocolError("refused", "maintenance needs the service unlock: service challenge, "
                                "service unlock (needlepen maintenance does both with this workstation's key)")
        self.app.request_reset("maintenance")
        self.app.event("reset", "maintenance")
        return "maintenance: resetting into maintenance mode (motor disabled, no watchdog, REPL free)"

    def cmd_get(self, args):
        self._nargs(args, 0, 1, "get [key]")
        if self.settings is None:
            raise ProtocolError("unavailable", "no settings on this pen")
        vals = self.settings.values
        if not args:
            return json.dumps(vals)
        if args[0] not in vals:
            raise ProtocolError("bad_argument", "unknown setting '{}'".format(args[0][:20]))
        return "{} {}".format(args[0], json.dumps(vals[args[0]]))

    def cmd_set(self, args):
        self._nargs(args, 2, 2, "set <key> <value>")
        if self.settings is None:
            raise ProtocolError("unavailable", "no settings on this pen")
        key, raw = args
        if key.startswith("cal_"):
            raise ProtocolError("refused", "calibration is a service function: service cal <key> <value>")
        if key != "auto_off_s":
            raise ProtocolError("bad_argument", "settable: auto_off_s (use speed/depth/zone for the rest)")
        value = _int(raw, key)
        if self.core.running():          # it is on flash before its OK: motor stopped
            raise ProtocolError("refused", "stop the motor first (settings are written with the motor stopped)")
        try:
            self.settings.set(key, value)
        except ValueError as e:
            raise ProtocolError("out_of_range", str(e))
        if key == "auto_off_s" and self.app.ui is not None:
            self.app.ui.auto_off_ms = value * 1000
        self._keep()
        return "{} {}".format(key, value)

    def cmd_service(self, args):
        # Rare, and 5 KB of code: loaded when asked for (pen.service_cmd).
        from pen.service_cmd import service
        return service(self, args)

    def _keep(self):
        # A service change is on flash before it is acknowledged (the motor
        # is stopped: service functions refuse to run otherwise).
        if not self.app.save():
            raise ProtocolError("storage", "not saved: " + str(self.app.storage_problem))

    def cmd_sim(self, args):
        hook = getattr(self.app.hal, "sim_command", None)
        if hook is None:
            raise ProtocolError("unknown_command", "'sim' exists on the virtual pen only")
        try:
            return hook(args, self.app)
        except ValueError as e:
            raise ProtocolError("bad_argument", str(e))

    # ---- output ----------------------------------------------------------------
    def snapshot(self):
        s = self.core.status()
        st = self.app.sched.report()
        s["loop"] = {"jitter_us": st["jitter_us"], "exec_max_us": st["exec_max_us"], "overruns": st["overruns"],
                     "late_max_us": st["late_max_us"], "irq": st["irq"]}
        s["storage"] = self.app.storage_problem
        s["t_ms"] = self.m[T.S_TICKS] * self.app.period_us // 1000
        s["pen_id"] = self.app.hal.pen_id()
        return s

    def beat(self):
        """Every 10 ms from the background: a streamed answer's next lines,
        telemetry when switched on."""
        if self.stream is not None:
            self._pump_stream()
        if self.stream is None and self.inbuf and self._room():
            self._take_lines()
        if not self.tele_every:
            return
        self._tele_left -= 1
        if self._tele_left > 0:
            return
        self._tele_left = self.tele_every
        link = self.app.link
        if self.stream is not None or (link is not None and link.room() < TELE_ROOM):
            self.tele_skipped += 1       # the host reads too slowly: skip, don't queue
            return
        m = self.m
        self.write("T " + json.dumps({
            "t": m[T.S_TICKS] * self.app.period_us // 1000,
            "st": ("idle", "running", "fault")[m[T.S_STATE]],
            "lv": m[T.C_LEVEL] + 1,
            "tgt": m[T.S_TARGET_CHZ] if m[T.S_STATE] == T.ST_RUNNING else 0,
            "rate": m[T.S_RATE_CHZ],
            "duty": m[T.O_DUTY],
            "d": m[T.S_DEPTH_UM],
            "dt": m[T.S_DEPTH_TARGET],
            "lim": m[T.S_LIMIT_HI],
            "mv": m[T.S_VBAT_MV],
            "dc": m[T.S_TEMP_DC],
            "ma": m[T.S_CURRENT_MA],
            "f": faults.names(m[T.S_FAULTS]),
        }))
