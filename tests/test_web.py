"""`needlepen web`: the page driven in a real headless Chromium (Debian's
/usr/bin/chromium through Playwright; never `playwright install`) against
the virtual pen, as a person would use it: set zone, depth and speed, start,
see the stroke-rate chart reach the target, needles in skin, a jam latches a
fault and stops the motor, clear; a second tab watching; a scenario run
from the simulator tab, and one with an error; the pen lost and back.

Also measured on the way (printed, written to out/web-figures.json, quoted
in docs/web.md): page load, telemetry latency from the server's arrival of
a T line to the page's chart having it, and the server's CPU while idle and
while charting.  The bounds asserted are generous: the host may be busy.
The screenshot in the README (docs/web.png) is taken here."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLI = [sys.executable, "-m", "host_tools.cli"]
FIGURES: dict[str, Any] = {}
TIMEOUT_MS = 20_000


# ---- helpers ---------------------------------------------------------------------------------

def start_web(*args: str) -> tuple[subprocess.Popen, str]:
    """`needlepen web ... --http 0 --no-browser`; the process and its address.
    What it says on stderr (its link's states) goes to a file: proc.log."""
    import tempfile
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([*CLI, "web", "--http", "0", "--no-browser", *args], stdout=subprocess.PIPE,
                            stderr=log, text=True)
    proc.log = log  # type: ignore[attr-defined]
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("needlepen web: http://"):
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"needlepen web did not start: {line!r} {said(proc)}")
    return proc, line.split()[2]


def said(proc: subprocess.Popen) -> str:
    proc.log.seek(0)  # type: ignore[attr-defined]
    return proc.log.read()  # type: ignore[attr-defined]


def stop_web(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("needlepen web did not stop within 15 s of SIGTERM") from None
    assert proc.returncode == 0, said(proc)
    assert "Traceback" not in said(proc), said(proc)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_percent(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def children(pattern: str) -> list[int]:
    """Our processes whose command line contains `pattern`."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if pattern in cmd and int(pid) != os.getpid():
                found.append(int(pid))
    return found


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def send(page: Any, selector: str, expect_ok: bool = True) -> dict:
    """Click a control; this tab's answer from the pen."""
    n = page.evaluate("window.needlepen.answers.length")
    page.click(selector)
    page.wait_for_function(f"window.needlepen.answers.length > {n}", timeout=TIMEOUT_MS)
    a = page.evaluate("window.needlepen.answers[window.needlepen.answers.length - 1]")
    assert a["ok"] == expect_ok, a
    return a


def send_past_the_buttons(page: Any, line: str) -> dict:
    """A command straight into the page's websocket (as a click would, with the
    button disabled or not); the answer."""
    return page.evaluate("""(line) => new Promise((done) => {
        const S = window.needlepen, n = S.answers.length, id = 100000 + n;
        S.pending[id] = line;
        S.ws.send(JSON.stringify({type: "cmd", line, id}));
        const t = setInterval(() => { if (S.answers.length > n) { clearInterval(t); done(S.answers[n]); } }, 50);
    })""", line)


def last(page: Any, chart: str, trace: int = 0) -> float:
    return page.evaluate(f"(() => {{ const y = window.needlepen.charts['{chart}'].traces[{trace}].y; "
                         f"return y.length ? y[y.length - 1] : null; }})()")


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium; "
                    f".ci/run does where apt is available)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)   # a fresh profile each launch
        try:
            yield b
        finally:
            b.close()
    if FIGURES:
        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        (out / "web-figures.json").write_text(json.dumps(FIGURES, indent=1))
        print("\nneedlepen web figures:", json.dumps(FIGURES, indent=1))


@pytest.fixture(scope="module")
def web(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`needlepen web --virtual` on a fresh virtual pen: {proc, url, flash}."""
    flash = tmp_path_factory.mktemp("webpen") / "flash"
    proc, url = start_web("--virtual", "--dir", str(flash), "--fresh")
    try:
        yield {"proc": proc, "url": url, "flash": flash}
    finally:
        stop_web(proc)
    assert not children(f"host_tools.web.virtual --dir {flash}"), "the virtual pen outlived the server"


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def page(context: Any, web: dict) -> Any:
    """The first tab; its errors fail the test that caused them."""
    # the server alone, nobody watching: telemetry off
    FIGURES["server_cpu_idle_pct"] = round(cpu_percent(web["proc"].pid, 5.0), 2)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors
    t0 = time.monotonic()
    pg.goto(web["url"])
    pg.wait_for_function("window.needlepen.link.state === 'connected' && window.needlepen.points > 0",
                         timeout=TIMEOUT_MS)
    FIGURES["page_first_telemetry_drawn_ms"] = round(pg.evaluate("window.needlepen.firstPointAt"))
    FIGURES["page_goto_to_charting_ms"] = round((time.monotonic() - t0) * 1000)
    nav = pg.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    FIGURES["page_dom_content_loaded_ms"] = round(nav["domContentLoadedEventEnd"])
    pg.wait_for_function("document.readyState === 'complete'", timeout=TIMEOUT_MS)
    nav = pg.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    FIGURES["page_load_event_ms"] = round(nav["loadEventEnd"])
    return pg


# ---- without a browser -------------------------------------------------------------------------

def fault_table_in_docs() -> dict[str, tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    inside = False
    for line in (ROOT / "docs" / "faults.md").read_text().splitlines():
        if line.startswith("| fault | cause"):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            if line.startswith("|---"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = (cells[1], cells[2], cells[4])
    return rows


def test_fault_meanings_are_the_docs_table() -> None:
    from host_tools.web.faults import FAULTS
    from pen import faults as firmware
    docs = fault_table_in_docs()
    assert FAULTS == docs, ("host_tools/web/faults.py differs from docs/faults.md; its FAULTS should be:\n" +
                            "\n".join(f"    {k!r}: {v!r}," for k, v in docs.items()))
    named = {name for _, name, _ in firmware.FAULTS}
    assert set(FAULTS) <= named, f"docs/faults.md lists faults the firmware does not name: {set(FAULTS) - named}"
    # a fault the docs do not describe yet is shown with the firmware's own line (hello's "fault_lines")


def test_assets_ship_in_the_package_and_need_no_network() -> None:
    import fnmatch
    import tomllib

    from host_tools.web.server import STATIC, plotly_js
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    tool = data["tool"]["setuptools"]
    assert "host_tools.web" in tool["packages"]
    patterns = tool["package-data"]["host_tools.web"]
    for f in STATIC.iterdir():
        assert any(fnmatch.fnmatch(f"static/{f.name}", p) for p in patterns), f"{f.name} is not package data"
        text = f.read_text()
        assert not re.search(r"(src|href)=\"https?:", text), f"{f.name} loads something from the network"
    assert plotly_js().stat().st_size > 1_000_000
    deps = " ".join(data["project"]["dependencies"])
    assert "aiohttp" in deps and "plotly" in deps


def test_contact_estimate_from_current() -> None:
    from host_tools.web.bridge import ContactEstimate
    est = ContactEstimate()
    run = {"st": "running", "lv": 3, "tgt": 12000, "rate": 12000}
    assert not any(est.update({**run, "ma": 140 + i % 7}) for i in range(20))     # in air
    assert [est.update({**run, "ma": 330 + i % 9}) for i in range(10)][-1]        # in skin
    assert not [est.update({**run, "ma": 140}) for i in range(10)][-1]             # lifted
    assert not est.update({"st": "idle", "lv": 3, "tgt": 0, "rate": 0, "ma": 0})


def test_commands_from_the_page_are_one_line_and_leave_telemetry_alone() -> None:
    from host_tools.web.bridge import check_line
    assert check_line("start") is None and check_line("depth 0.75") is None
    assert "one command per line" in (check_line("stop\nstart") or "")
    assert "telemetry" in (check_line("tele off") or "")
    assert check_line("  ") == "empty command"


def test_cli_errors_are_one_line() -> None:
    r = subprocess.run([*CLI, "web", "--virtual", "--port", "/dev/ttyACM0"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "exclude each other" in r.stderr, r.stderr
    r = subprocess.run([*CLI, "web", "--rate", "99"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "1-50 Hz" in r.stderr, r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        r = subprocess.run([*CLI, "web", "--http", str(taken), "--no-browser"], capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--http" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_absent_and_busy_ports_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from host_tools import ports
    from host_tools.web.bridge import Bridge
    seen: list[dict] = []
    monkeypatch.setattr(ports, "comports", lambda: [])        # no USB serial devices at all
    assert not Bridge("auto", seen.append)._connect()
    assert seen[-1]["state"] == "absent" and "retrying" in seen[-1]["message"], seen[-1]
    b = Bridge("/dev/no-such-pen", seen.append)
    assert not b._connect()
    assert seen[-1]["state"] == "absent" and "does not exist" in seen[-1]["message"]
    b.submit("start", 1, 7)
    assert seen[-1]["type"] == "answer" and not seen[-1]["ok"] and "not sent" in seen[-1]["text"]
    master, slave = os.openpty()
    port = os.ttyname(slave)
    holder = subprocess.Popen(["sleep", "30"], stdin=slave)     # another program has the port open
    try:
        b = Bridge(port, seen.append)
        assert not b._connect()
        assert seen[-1]["state"] == "busy" and f"pid {holder.pid}" in seen[-1]["message"], seen[-1]
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
        os.close(slave)


# ---- in the browser ------------------------------------------------------------------------------

def test_the_page_drives_the_virtual_pen(page: Any, web: dict) -> None:
    S = "window.needlepen"
    assert page.evaluate(f"{S}.virtual") and page.is_visible("#levers")
    assert page.inner_text("#v-fw").startswith("needlepen-fw")
    # zone and profile, then a depth beyond the zone's limit: the pen's refusal is shown
    page.select_option("#zone", "cheeks")
    page.select_option("#profile", "professional")
    a = send(page, "#set-zone")
    assert "cap 1500 um" in a["text"]
    page.wait_for_function("document.getElementById('depth-limit').textContent.includes('1.50')")
    page.fill("#depth", "2.0")
    a = send(page, "#set-depth", expect_ok=False)
    assert a["code"] == "out_of_range"
    assert "depth 2.0 → out_of_range: depth 2000 um is outside the active limit" in page.inner_text("#answer")
    page.fill("#depth", "1.0")
    send(page, "#set-depth")
    send(page, "#speeds button[data-level='3']")
    assert last(page, "chart-rate", 0) == 0, "the motor started by itself"
    send(page, "#start")
    # the stroke-rate chart reaches the target (120 strokes/s at level 3)
    page.wait_for_function(f"(() => {{ const c = {S}.charts['chart-rate'].traces; const n = c[0].y.length;"
                           f" return n && c[1].y[n - 1] === 120 && Math.abs(c[0].y[n - 1] - 120) < 2.4; }})()",
                           timeout=TIMEOUT_MS)
    assert page.text_content("#state") == "running"
    # needles in skin: shaded, the current rises, the rate holds (closed loop)
    page.select_option("#tissue", "cheek")
    air_ma = last(page, "chart-current")
    send(page, "#skin-on")
    page.wait_for_function(f"{S}.charts['chart-rate'].skin.slice(-1)[0] === 1", timeout=TIMEOUT_MS)
    time.sleep(1.0)
    assert last(page, "chart-current") > air_ma + 80
    assert abs(last(page, "chart-rate") - 120) < 6
    # charting: the server's CPU and the latency from a T line's arrival to the chart
    page.evaluate(f"{S}.latency = []")
    FIGURES["server_cpu_charting_1_tab_pct"] = round(cpu_percent(web["proc"].pid, 5.0), 2)
    lat = page.evaluate(f"{S}.latency")
    assert len(lat) >= 40, f"only {len(lat)} points in 5 s at 20 Hz"
    FIGURES["latency_ms_median"] = round(statistics.median(lat), 1)
    FIGURES["latency_ms_p95"] = round(pct(lat, 0.95), 1)
    FIGURES["latency_points"] = len(lat)
    assert FIGURES["latency_ms_median"] < 500
    # a jam: the fault latches, the motor stops
    page.select_option("#fault-kind", "jam")
    send(page, "#inject")
    page.wait_for_selector("#latched .fault-card", timeout=TIMEOUT_MS)
    page.wait_for_function(f"{S}.charts['chart-duty'].traces[0].y.slice(-1)[0] === 0", timeout=TIMEOUT_MS)
    assert page.text_content("#state") == "fault"
    latched = page.evaluate(f"{S}.tele.f")
    assert latched and set(latched) <= {"stall", "overcurrent"}, latched
    assert "Cause gone when" in page.inner_text("#latched")
    assert page.inner_text("#v-faults").startswith(latched[0])
    page.wait_for_function("[...document.querySelectorAll('#log td')].some(td => td.textContent === 'fault')",
                           timeout=TIMEOUT_MS)
    a = send(page, "#start", expect_ok=False)                     # the pen refuses: a fault is latched
    assert a["code"] == "refused"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ROOT / "docs" / "web.png"))
    # the cause gone, cleared: no fault, and the motor stays off until someone starts it
    send(page, "#heal")
    send(page, "#skin-off")
    send(page, "#clear")
    page.wait_for_function(f"{S}.tele.st === 'idle' && {S}.tele.f.length === 0", timeout=TIMEOUT_MS)
    assert "no fault latched" in page.inner_text("#latched")
    time.sleep(1.0)
    assert page.evaluate(f"{S}.tele.st") == "idle" and last(page, "chart-duty") == 0
    # a reset from the command field: the pen restarts, the page stays connected and charting
    page.fill("#raw", "reset")
    send(page, "#send-raw")
    page.wait_for_function(f"{S}.activity.some(m => m.type === 'note' && m.text.startsWith('needlepen: running'))",
                           timeout=TIMEOUT_MS)
    n = page.evaluate(f"{S}.points")
    page.wait_for_function(f"{S}.points > {n + 10}", timeout=TIMEOUT_MS)
    assert page.evaluate(f"{S}.link.state") == "connected" and page.evaluate(f"{S}.tele.st") == "idle"
    page.fill("#raw", "maintenance")
    a = send(page, "#send-raw", expect_ok=False)
    assert a["code"] == "not_sent" and "needlepen maintenance" in a["text"]
    assert not page.errors, page.errors


def test_a_second_tab_watches_while_the_first_commands(page: Any, context: Any, web: dict) -> None:
    S = "window.needlepen"
    second = context.new_page()
    second.goto(web["url"])
    second.wait_for_function(f"{S}.link.state === 'connected' && {S}.points > 0", timeout=TIMEOUT_MS)
    tabs = second.evaluate(f"{S}.viewers")
    assert len(tabs) == 2 and "also watching" in second.inner_text("#viewers")
    # the watcher's charts came with the first tab's history and keep growing
    n = second.evaluate(f"{S}.charts['chart-rate'].x.length")
    assert n > 20
    second.wait_for_function(f"{S}.points > 10", timeout=TIMEOUT_MS)
    FIGURES["server_cpu_charting_2_tabs_pct"] = round(cpu_percent(web["proc"].pid, 5.0), 2)
    # the first tab commands; the second sees it
    send(page, "#speeds button[data-level='2']")
    second.wait_for_function(f"{S}.activity.some(m => m.line === 'speed 2' && m.tab !== {S}.tab)",
                             timeout=TIMEOUT_MS)
    assert f"tab {page.evaluate(S + '.tab')} sent: speed 2 → OK" in second.inner_text("#answer")
    second.wait_for_function(f"{S}.tele.lv === 2", timeout=TIMEOUT_MS)
    # both at once: the server sends them one after the other, each tab gets its own answer
    page.evaluate("document.querySelector(\"#speeds button[data-level='4']\").click()")
    second.evaluate("document.querySelector(\"#speeds button[data-level='5']\").click()")
    for tab, level in ((page, 4), (second, 5)):
        tab.wait_for_function(f"{S}.answers.some(a => a.line === 'speed {level}')", timeout=TIMEOUT_MS)
        a = tab.evaluate(f"{S}.answers.find(a => a.line === 'speed {level}')")
        assert a["ok"], a
    page.wait_for_function(f"[4, 5].includes({S}.tele.lv)", timeout=TIMEOUT_MS)
    level = page.evaluate(f"{S}.tele.lv")
    second.wait_for_function(f"{S}.tele.lv === {level}", timeout=TIMEOUT_MS)
    assert page.evaluate(f"{S}.tele.st") == "idle"
    second.close()
    page.wait_for_function(f"{S}.viewers.length === 1", timeout=TIMEOUT_MS)


def test_the_simulator_tab_runs_a_scenario(page: Any) -> None:
    S = "window.needlepen"
    page.click("#tab-sim")
    scenarios = page.evaluate(f"{S}.scenarios")
    shortest = min(scenarios, key=lambda s: s["minutes"])["name"]
    page.select_option("#scenario", shortest)
    page.click("#sim-run")
    page.wait_for_function(f"{S}.sim && {S}.sim.name === '{shortest}'", timeout=60_000)
    assert "stroke" in page.inner_text("#sim-summary").lower()
    page.wait_for_function("document.getElementById('sim-plot').data && "
                           "document.getElementById('sim-plot').data.length === 8", timeout=TIMEOUT_MS)
    assert page.evaluate("document.getElementById('sim-plot').data[0].x.length") > 100
    # a scenario file with an error: its name, line and what is wrong, on the page
    broken = b'[scenario]\nname = "broken"\ndescription = "x"\n\n[[event]]\nat = "soon"\ndo = "start"\n'
    page.set_input_files("#sim-file", files=[{"name": "broken.toml", "mimeType": "text/plain", "buffer": broken}])
    page.click("#sim-run-file")
    page.wait_for_selector("#sim-error:not([hidden])", timeout=TIMEOUT_MS)
    text = page.inner_text("#sim-error")
    assert re.match(r"broken\.toml:6: ", text), text
    assert page.evaluate(f"{S}.sim.name") == shortest          # the last good run stays
    page.click("#tab-pen")
    assert not page.errors, page.errors


def test_the_pen_comes_back_with_its_motor_off(browser: Any, tmp_path: Path) -> None:
    """A pen unplugged and plugged in again (a virtual pen behind a fixed
    path, stopped and started): the page reconnects, and a start clicked
    while it was away was never sent."""
    link = tmp_path / "pen"

    def plug() -> subprocess.Popen:
        p = subprocess.Popen([*CLI, "virtual-pen", "--dir", str(tmp_path / "flash"), "--link", str(link)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 60)
        assert ready and p.stdout.readline().startswith("virtual pen on")
        return p

    pen = plug()
    proc, url = start_web("--port", str(link))
    try:
        pg = browser.new_page()
        S = "window.needlepen"
        pg.goto(url)
        pg.wait_for_function(f"{S}.link.state === 'connected' && {S}.points > 0", timeout=TIMEOUT_MS)
        pen.terminate()
        pen.wait(10)
        pg.wait_for_function(f"{S}.link.state !== 'connected'", timeout=TIMEOUT_MS)
        pg.wait_for_function(f"{S}.link.message.includes('{link}')", timeout=TIMEOUT_MS)
        a = send_past_the_buttons(pg, "start")
        assert not a["ok"] and a["text"].startswith("not sent"), a
        pen = plug()
        try:
            pg.wait_for_function(f"{S}.link.state === 'connected'", timeout=30_000)
        except Exception:
            raise AssertionError(f"not back: {pg.evaluate(S + '.linkStates')} {pg.evaluate(S + '.link')}") from None
        pg.wait_for_function(f"{S}.tele && {S}.points > 0 && {S}.tele.st === 'idle'", timeout=TIMEOUT_MS)
        time.sleep(1.0)
        assert pg.evaluate(f"{S}.tele.st") == "idle"
        pg.close()
    finally:
        stop_web(proc)
        pen.terminate()
        pen.wait(10)


def test_a_lost_pen_is_said_and_nothing_is_sent(page: Any, web: dict) -> None:
    S = "window.needlepen"
    pens = children(f"host_tools.web.virtual --dir {web['flash']}")
    assert len(pens) == 1
    os.kill(pens[0], signal.SIGTERM)                # the pen goes away (as if unplugged)
    page.wait_for_function(f"{S}.link.state !== 'connected'", timeout=TIMEOUT_MS)
    page.wait_for_function(f"{S}.linkStates.includes('lost')", timeout=TIMEOUT_MS)
    page.wait_for_function(f"{S}.link.state === 'stopped'", timeout=TIMEOUT_MS)   # its pty is never reopened
    assert "the virtual pen stopped" in page.inner_text("#link-text")
    assert "needlepen web: lost the pen at" in said(web["proc"])
    assert page.is_disabled("#start")
    a = send_past_the_buttons(page, "start")
    assert not a["ok"] and a["text"].startswith("not sent"), a
