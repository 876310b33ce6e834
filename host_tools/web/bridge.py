"""The web server's one connection to the pen.

A thread owns a `host_tools.link.PenLink`: it sends the commands the page's
tabs ask for one at a time, in the order they came, reads telemetry between
them, polls `status` (every second) and `log` (on changes) while someone
watches, and reconnects when the pen goes away.  What it learns goes out
through `publish(message)` as plain dicts (the server fans them out to the
tabs as JSON).

It never sends anything that starts the motor by itself: the only commands
of its own are `tele on/off`, `info`, `status` and `log`.  A command that
waited longer than STALE_S behind others, or that arrives while the pen is
not connected, is answered "not sent" instead of being sent late.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import serial

from host_tools import ports
from host_tools.link import Answer, LinkError, PenLink

Message = dict[str, Any]
Publish = Callable[[Message], None]

RETRY_S = 2.0            # between connection attempts
STALE_S = 3.0            # a command older than this is not sent
STATUS_EVERY_S = 1.0
LOG_EVERY_S = 10.0
TELE_SILENT_S = 3.0      # no telemetry this long while it should flow: ask again
HISTORY_S = 60.0         # telemetry kept for a tab that opens later
USER_TIMEOUT_S = 15.0    # a command's answer (log streams take a while)

# ---- who holds the port ------------------------------------------------------------------

def port_holders(port: str) -> list[tuple[int, str]]:
    """Other processes that have `port` open: [(pid, command line)].  Linux
    (/proc); elsewhere, or for processes we may not look into, nothing."""
    try:
        st = os.stat(port)
    except OSError:
        return []
    if not stat.S_ISCHR(st.st_mode) or not os.path.isdir("/proc"):
        return []
    me = os.getpid()
    holders = []
    for pid_s in os.listdir("/proc"):
        if not pid_s.isdigit() or int(pid_s) == me:
            continue
        fd_dir = f"/proc/{pid_s}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                fst = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if stat.S_ISCHR(fst.st_mode) and fst.st_rdev == st.st_rdev:
                try:
                    with open(f"/proc/{pid_s}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = "?"
                holders.append((int(pid_s), cmd[:120]))
                break
    return holders


# ---- the link ------------------------------------------------------------------------------

class _PromptReads:
    """pyserial's read(n) waits for n bytes or its timeout; PenLink asks for
    512, so a telemetry line would sit up to the timeout (50 ms) before the
    host sees it.  This returns what has arrived (at least one byte, or
    nothing at the timeout)."""

    def __init__(self, ser: serial.Serial) -> None:
        self._ser = ser

    def read(self, n: int = 1) -> bytes:
        return self._ser.read(max(1, min(n, self._ser.in_waiting)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ser, name)


class WatchedLink(PenLink):
    """A PenLink that reports every line it routes (telemetry and the pen's
    own messages), with the host's time of arrival."""

    def __init__(self, port: str, on_line: Callable[[str, float], None], timeout: float = 5.0) -> None:
        self.on_line = on_line
        super().__init__(port, timeout=timeout)
        self.ser.timeout = 0.02
        self.ser = _PromptReads(self.ser)  # type: ignore[assignment]

    def _route(self, line: str) -> None:
        super()._route(line)
        self.on_line(line, time.time())


class ContactEstimate:
    """Needles in skin, estimated from the motor current (a pen has no skin
    sensor): skin load raises the current at a held stroke rate.  The in-air
    current of each speed level is learned as the lowest median seen while
    running at it; contact is a median well above that."""

    def __init__(self, n: int = 5, factor: float = 1.6, margin_ma: int = 50) -> None:
        self.n, self.factor, self.margin = n, factor, margin_ma
        self.recent: deque[int] = deque(maxlen=n)
        self.air: dict[int, float] = {}
        self.level = 0

    def update(self, t: Message) -> bool:
        running = t.get("st") == "running" and t.get("tgt", 0) > 0 and t.get("rate", 0) >= 0.8 * t["tgt"]
        if not running or t.get("lv") != self.level:
            self.recent.clear()
            self.level = t.get("lv", 0)
            if not running:
                return False
        self.recent.append(int(t.get("ma", 0)))
        if len(self.recent) < self.n:
            return False
        med = sorted(self.recent)[self.n // 2]
        air = self.air.get(self.level)
        if air is None or med < air:
            self.air[self.level] = air = med
        return med > air * self.factor + self.margin


@dataclass
class Job:
    line: str
    tab: int
    id: Any
    at: float = field(default_factory=time.monotonic)


def check_line(line: str) -> str | None:
    """Why a command from the page is not passed on, or None."""
    if not line.strip():
        return "empty command"
    if any(ord(c) < 0x20 for c in line):
        return "one command per line (no control characters)"
    word = line.split()[0].lower()
    if word == "tele":
        return "telemetry is the web server's (it switches it on while a tab watches)"
    if word == "maintenance":
        return ("not from the page: maintenance mode is for copying files; stop needlepen web (it holds the "
                "port), then use needlepen maintenance or needlepen deploy")
    return None


class Bridge:
    def __init__(self, port: str, publish: Publish, rate_hz: int = 20, virtual: bool = False,
                 gone: Callable[[], str | None] | None = None) -> None:
        self.port_arg = port             # a path, or "auto"
        self.gone = gone                 # why the port is no pen's any more (a virtual pen that ended), or None
        self.port = port if port != "auto" else ""
        self.publish = publish
        self.rate_hz = rate_hz
        self.virtual = virtual
        self.link: WatchedLink | None = None
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.viewers = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="pen-link", daemon=True)
        # what a tab that opens now is shown
        self.state: Message = {"type": "link", "state": "connecting", "port": self.port or "auto",
                               "message": "connecting..."}
        self.info: Message | None = None
        self.status: Message | None = None
        self.log: list[Message] = []
        self.history: deque[Message] = deque(maxlen=int(HISTORY_S * rate_hz) + 10)
        self.tissue = "none"               # virtual pen: the skin lever's setting
        self.contact = ContactEstimate()
        self.run_s = 0.0                   # motor-on time this session (from telemetry)
        self.session_since = time.time()
        self._reset_telemetry_state()

    def _reset_telemetry_state(self) -> None:
        self.tele_on = False
        self.last_tele = time.monotonic()
        self.last_t: int | None = None
        self.x_offset = 0.0
        self.last_x = 0.0
        self.last_st = ""
        self.last_f: list[str] = []
        self.want_status = True
        self.want_log = True
        self.next_status = 0.0
        self.next_log = 0.0
        self.quiet_until = 0.0      # after a reset: wait for the pen's start-up line before asking anything

    # ---- used from the server's thread --------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

    def set_viewers(self, n: int) -> None:
        self.viewers = n

    def reset_session(self) -> None:
        self.run_s = 0.0
        self.session_since = time.time()

    def submit(self, line: str, tab: int, id: Any = None) -> None:
        """Queue a command from a tab; its answer is published (type answer)."""
        line = line.strip()
        why = check_line(line)
        if why is None and self.link is None:
            why = f"not sent: the pen is not connected ({self.state['message']})"
        if why is not None:
            self.publish(self._answer(Job(line, tab, id), False, "not_sent", why))
            return
        self.jobs.put(Job(line, tab, id))

    def snapshot(self) -> list[Message]:
        """Messages that bring a new tab up to date."""
        with self._lock:
            hist = list(self.history)
            log = list(self.log)
        out: list[Message] = [dict(self.state)]
        if self.info is not None:
            out.append({"type": "info", "info": self.info})
        if self.status is not None:
            out.append({"type": "status", "status": self.status, **self._session()})
        out.append({"type": "log", "entries": log})
        out.append({"type": "history", "points": hist})
        return out

    # ---- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if self.link is None:
                if not self._connect():
                    self._refuse_queued()
                    self._stop.wait(RETRY_S)
                continue
            try:
                self._service()
            except (serial.SerialException, OSError, LinkError, ValueError) as e:
                self._lost(str(e) or type(e).__name__)
        if self.link is not None:
            try:
                if self.tele_on:
                    self.link.command("tele off", timeout=1)
            except Exception:
                pass
            self.link.close()

    def _set_state(self, state: str, message: str) -> None:
        self.state = {"type": "link", "state": state, "port": self.port or "auto", "message": message}
        self.publish(dict(self.state))

    def _refuse_queued(self) -> None:
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return
            self.publish(self._answer(job, False, "not_sent", f"not sent: {self.state['message']}"))

    def _connect(self) -> bool:
        why = self.gone() if self.gone is not None else None
        if why is not None:
            # its pty may be given to another program (a terminal) next: never open it again
            if self.state["state"] != "stopped":
                self._set_state("stopped", why)
            return False
        port = self.port_arg
        if port == "auto":
            try:                                  # the one USB serial device that looks like a pen
                port = ports.auto()
            except ports.PortError as e:
                several = str(e).startswith("several")
                self._set_state("ambiguous" if several else "absent",
                                f"{e}" if several else f"{e}; retrying every 2 s")
                return False
        self.port = port
        if not os.path.exists(port):
            self._set_state("absent", f"{port} does not exist: is the pen plugged in? (a virtual pen prints "
                                      f"its port); retrying every 2 s")
            return False
        holders = port_holders(port)
        if holders:
            who = "; ".join(f"pid {pid} ({cmd})" for pid, cmd in holders[:3])
            self._set_state("busy", f"{port} is in use by {who}: close that program (one program at a "
                                    f"time can talk to a pen); retrying every 2 s")
            return False
        self._set_state("connecting", f"connecting to {port}...")
        try:
            link = WatchedLink(port, self._on_line)
        except LinkError as e:
            self._set_state("error", f"{e}; retrying every 2 s")
            return False
        except (serial.SerialException, OSError) as e:
            self._set_state("error", f"cannot use {port}: {e}; retrying every 2 s")
            return False
        try:
            fcntl.flock(link.ser.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            link.close()
            self._set_state("busy", f"{port} is locked by another program (mpremote, needlepen deploy?): "
                                    f"close it; retrying every 2 s")
            return False
        try:
            self.info = link.must("info").json()
            self.publish({"type": "info", "info": self.info})
        except (LinkError, ValueError, serial.SerialException, OSError) as e:
            link.close()
            self._set_state("error", f"the pen at {port} did not answer 'info': {e}; retrying every 2 s")
            return False
        self.link = link
        self._reset_telemetry_state()
        self._set_state("connected", f"connected to {port}")
        return True

    def _lost(self, why: str) -> None:
        link, self.link = self.link, None
        if link is not None:
            try:
                link.close()
            except Exception:
                pass
        self._set_state("lost", f"lost the pen at {self.port} ({why}): unplugged or reset? Reconnecting every "
                                f"2 s; nothing is sent meanwhile, and nothing starts the motor by itself")
        self._refuse_queued()

    def _service(self) -> None:
        link = self.link
        assert link is not None
        if time.monotonic() < self.quiet_until:
            link.pump(0.05)                # the pen is restarting: commands wait (and go stale after STALE_S)
            return
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            self._do(link, job)
        now = time.monotonic()
        watching = self.viewers > 0
        if watching and not self.tele_on:
            link.must(f"tele on {self.rate_hz}")
            self.tele_on, self.last_tele = True, now
        elif not watching and self.tele_on:
            link.command("tele off")
            self.tele_on = False
        if self.tele_on and now - self.last_tele > TELE_SILENT_S:
            # a pen that rebooted without our seeing its banner starts with telemetry off
            self.last_tele = now
            link.must(f"tele on {self.rate_hz}")
        if watching and (self.want_status or now >= self.next_status):
            self._refresh_status(link)
        if watching and (self.want_log or now >= self.next_log):
            self._refresh_log(link)
        link.pump(0.02)

    def _do(self, link: WatchedLink, job: Job) -> None:
        waited = time.monotonic() - job.at
        if waited > STALE_S:
            self.publish(self._answer(job, False, "not_sent", f"not sent: it waited {waited:.1f} s behind other "
                                                              f"commands (send it again if you still want it)"))
            return
        a = link.command(job.line, timeout=USER_TIMEOUT_S)
        words = job.line.split()
        if a.ok and len(words) >= 3 and words[0].lower() == "sim" and words[1] == "skin":
            self.tissue = words[2]
        self.publish(self._answer(job, a.ok, a.code, a.text, a))
        if a.ok and words[0].lower() == "reset":
            self.quiet_until = time.monotonic() + 10.0
            self.tele_on = False
        self.want_status = True
        if words[0].lower() in ("start", "stop", "clear", "reset", "maintenance", "sim", "set", "zone",
                                "service", "log"):
            self.want_log = True

    def _answer(self, job: Job, ok: bool, code: str, text: str, a: Answer | None = None) -> Message:
        return {"type": "answer", "tab": job.tab, "id": job.id, "line": job.line, "ok": ok, "code": code,
                "text": text, "lines": a.lines if a else [], "time": time.time()}

    def _session(self) -> Message:
        return {"run_s": round(self.run_s, 1), "since": self.session_since}

    def _refresh_status(self, link: WatchedLink) -> None:
        a = link.command("status")
        self.want_status = False
        self.next_status = time.monotonic() + STATUS_EVERY_S
        if a.ok:
            self.status = a.json()
            self.publish({"type": "status", "status": self.status, **self._session()})

    def _refresh_log(self, link: WatchedLink) -> None:
        a = link.command("log 40", timeout=USER_TIMEOUT_S)
        self.want_log = False
        self.next_log = time.monotonic() + LOG_EVERY_S
        if not a.ok:
            return
        entries = {}
        for e in self.log:
            entries[(e["boot"], e["seq"])] = e
        for raw in a.lines:
            try:
                e = json.loads(raw)
                entries[(e["boot"], e["seq"])] = e
            except (ValueError, KeyError, TypeError):
                continue
        with self._lock:
            self.log = [entries[k] for k in sorted(entries)][-200:]
            log = list(self.log)
        self.publish({"type": "log", "entries": log})

    def _on_line(self, line: str, rx: float) -> None:
        if line.startswith("T "):
            try:
                t = json.loads(line[2:])
            except ValueError:
                return
            self._telemetry(t, rx)
        elif line.startswith("needlepen: running"):
            # the pen (re)booted: telemetry is off again, the virtual plant is new
            self.tele_on = False
            self.quiet_until = 0.0
            self.tissue = "none"
            self.want_status = self.want_log = True
            self.publish({"type": "note", "text": line, "time": rx})
        elif line.strip():
            self.publish({"type": "note", "text": line, "time": rx})

    def _telemetry(self, t: Message, rx: float) -> None:
        self.last_tele = time.monotonic()
        ms = int(t.get("t", 0))
        if self.last_t is not None:
            if ms < self.last_t:                       # a reboot: keep the time axis going
                self.x_offset = self.last_x + 1.0 / self.rate_hz - ms / 1000
            elif t.get("st") == "running":
                self.run_s += min(1.0, (ms - self.last_t) / 1000)
        self.last_t = ms
        x = ms / 1000 + self.x_offset
        self.last_x = x
        est = self.contact.update(t)
        skin = self.tissue != "none" if self.virtual else est
        msg: Message = {"type": "T", "x": round(x, 3), "rx": rx * 1000, "skin": int(skin), "est": int(est),
                        "run_s": round(self.run_s, 1), **t}
        with self._lock:
            self.history.append(msg)
        self.publish(msg)
        f = t.get("f") or []
        if f != self.last_f or t.get("st") != self.last_st:
            self.want_status = self.want_log = True
        self.last_f, self.last_st = f, t.get("st", "")
