"""The aiohttp application: the page, its assets, and one websocket per tab.

Everything the bridge (the pen) and the simulator jobs learn is published as
a message and sent to every tab; each tab's commands go to the bridge, which
sends them to the pen one at a time.  A tab that falls behind loses
telemetry points, never answers.

Only this machine's browser is served: requests must name this server in
their Host header (no DNS rebinding) and a websocket's Origin must be this
server (no other web page can drive the pen through the user's browser)."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from host_tools.web import faults
from host_tools.web.bridge import Bridge, Message
from host_tools.web.simjobs import SimJobs, list_scenarios

STATIC = Path(str(resources.files("host_tools.web") / "static"))
SEND_QUEUE = 400          # messages waiting for one tab; beyond it, telemetry is dropped for that tab
MAX_MESSAGE = 512 * 1024  # a tab's message (an uploaded scenario)


def plotly_js() -> Path:
    """plotly.min.js from the installed plotly package (no CDN)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def sim_levers(info: Message | None) -> Message:
    """The virtual pen's `sim ...` levers, from the simulator's own tables."""
    import pen  # noqa: F401  (MicroPython stand-ins for sim.faults' imports)
    from sim import faults as kinds
    from sim.plant import TISSUES
    from sim.scenario import BUTTONS
    return {
        "tissues": list(TISSUES),
        "faults": [{"name": n, "text": k.text, "takes_value": k.takes_value(), "allowed": k.allowed(),
                    "default": k.default, "unit": k.unit} for n, k in kinds.KINDS.items()],
        "buttons": list(BUTTONS),
    }


class Tab:
    def __init__(self, n: int, ws: web.WebSocketResponse) -> None:
        self.n = n
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.dropped = 0

    def offer(self, text: str, telemetry: bool) -> None:
        if telemetry and self.queue.qsize() >= SEND_QUEUE:
            self.dropped += 1
            return
        self.queue.put_nowait(text)

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class WebApp:
    def __init__(self, port: str, virtual: bool, rate_hz: int, hosts: set[str],
                 gone: Callable[[], str | None] | None = None) -> None:
        self.virtual = virtual
        self.hosts = hosts                  # acceptable Host headers (host:port)
        self.tabs: dict[int, Tab] = {}
        self.counter = itertools.count(1)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.bridge = Bridge(port, self.publish_threadsafe, rate_hz, virtual, gone)
        self.sims = SimJobs(self.publish)
        self.activity: deque[Message] = deque(maxlen=50)
        self.scenarios = list_scenarios()
        self.levers = sim_levers(None) if virtual else None
        self.started = time.time()
        self.said: str | None = None

    # ---- fan-out ---------------------------------------------------------------------
    def publish(self, msg: Message) -> None:
        if msg.get("type") in ("answer", "note"):
            self.activity.append(msg)
        if msg.get("type") == "link" and msg.get("state") != "connecting" and msg.get("message") != self.said:
            self.said = msg.get("message")       # the terminal that started us hears it too
            print(f"needlepen web: {self.said}", file=sys.stderr, flush=True)
        text = json.dumps(msg)
        tele = msg.get("type") == "T"
        for tab in list(self.tabs.values()):
            tab.offer(text, tele)

    def publish_threadsafe(self, msg: Message) -> None:
        if self.loop is None:
            return
        try:
            self.loop.call_soon_threadsafe(self.publish, msg)
        except RuntimeError:                 # the loop is closed: shutting down
            pass

    def _viewers_changed(self) -> None:
        self.bridge.set_viewers(len(self.tabs))
        self.publish({"type": "viewers", "tabs": sorted(self.tabs)})

    # ---- the application -----------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._only_here], client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/vendor/plotly.min.js", self.plotly)
        app.router.add_static("/static/", STATIC)
        app.on_startup.append(self._startup)
        app.on_shutdown.append(self._shutdown)
        return app

    async def _startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        self.bridge.start()

    async def _shutdown(self, app: web.Application) -> None:
        for tab in list(self.tabs.values()):
            await tab.ws.close()
        await asyncio.get_running_loop().run_in_executor(None, self.bridge.stop)
        self.sims.close()

    @web.middleware
    async def _only_here(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.host not in self.hosts:
            return web.Response(status=403, text=f"this server answers as {sorted(self.hosts)[0]} only\n")
        return await handler(request)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def plotly(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(plotly_js(), headers={"Cache-Control": "max-age=86400"})

    async def state(self, request: web.Request) -> web.Response:
        """The server's view, for scripts and tests."""
        b = self.bridge
        return web.json_response({"link": b.state, "tabs": sorted(self.tabs), "virtual": self.virtual,
                                  "status": b.status, "sim_running": self.sims.running is not None,
                                  "started": self.started})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc not in self.hosts:
            return web.Response(status=403, text="only this server's own page may connect\n")
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        tab = Tab(next(self.counter), ws)
        hello = {"type": "hello", "tab": tab.n, "virtual": self.virtual, "faults": faults.FAULTS,
                 "fault_lines": faults.firmware_lines(),
                 "clearing": faults.CLEARING, "levers": self.levers, "scenarios": self.scenarios,
                 "rate_hz": self.bridge.rate_hz, "server_time": time.time()}
        for msg in [hello, *self.bridge.snapshot(), *self.sims.snapshot(),
                    {"type": "activity", "entries": list(self.activity)}]:
            tab.offer(json.dumps(msg), False)
        self.tabs[tab.n] = tab
        self._viewers_changed()
        writer = asyncio.ensure_future(tab.writer())
        try:
            async for m in ws:
                if m.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(m.data)
                except ValueError:
                    continue
                if isinstance(req, dict):
                    self._request(tab, req)
        finally:
            del self.tabs[tab.n]
            writer.cancel()
            self._viewers_changed()
        return ws

    def _request(self, tab: Tab, req: dict[str, Any]) -> None:
        kind = req.get("type")
        if kind == "cmd":
            self.bridge.submit(str(req.get("line", "")), tab.n, req.get("id"))
        elif kind == "sim_run":
            upload = req.get("upload")
            self.sims.start(tab.n, name=req.get("name"), upload=upload if isinstance(upload, dict) else None)
        elif kind == "sim_cancel":
            self.sims.cancel(tab.n)
        elif kind == "session_reset":
            self.bridge.reset_session()
