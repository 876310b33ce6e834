"""Simulator runs for the page: one at a time, each in a child process
(`python -m host_tools.web.simjobs SCENARIO`), so that a long scenario does
not hold up the telemetry of the pen; a tab can cancel it.  The child prints
one JSON object: the summary, its text, and the trace decimated for plotting.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]

MAX_UPLOAD = 256 * 1024
MAX_POINTS = 4000            # per plotted column
RUN_LIMIT_S = 900.0          # a run longer than this is stopped (the default session takes ~30 s)
PROGRESS = re.compile(r"(\d+):(\d\d) / (\d+):(\d\d) simulated\s+(\d+)x")


def list_scenarios() -> list[Message]:
    import pen  # noqa: F401  (the MicroPython stand-ins the simulator's imports need)
    from sim import scenario
    out: list[Message] = []
    for path in scenario.shipped():
        try:
            sc = scenario.load(str(path))
            out.append({"name": path.stem, "minutes": round(sc.duration_us / 60e6, 1),
                        "description": sc.description})
        except scenario.ScenarioError as e:
            out.append({"name": path.stem, "minutes": 0, "description": f"(does not load: {e})"})
    return out


def check_scenario(path_or_name: str) -> str | None:
    """Why the scenario does not load (its file, line and what is wrong), or None."""
    import pen  # noqa: F401
    from sim import scenario
    try:
        scenario.load(path_or_name)
    except scenario.ScenarioError as e:
        return str(e)
    return None


class SimJobs:
    def __init__(self, publish: Callable[[Message], None]) -> None:
        self.publish = publish
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None
        self.last: Message | None = None          # the last finished run (for a tab that opens later)
        self.running: Message | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="needlepen-web-"))
        self.uploads = 0

    def snapshot(self) -> list[Message]:
        return [m for m in (self.last, self.running) if m is not None]

    def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _error(self, tab: int, message: str, name: str = "") -> None:
        self.publish({"type": "sim", "state": "error", "tab": tab, "name": name, "message": message})

    def start(self, tab: int, name: str | None = None, upload: Message | None = None) -> None:
        if self.running is not None:
            self._error(tab, f"a scenario is already running ({self.running['name']}, started by tab "
                             f"{self.running['tab']}): wait for it, or cancel it")
            return
        if upload is not None:
            filename = os.path.basename(str(upload.get("filename") or "scenario.toml"))
            text = upload.get("text")
            if not isinstance(text, str):
                self._error(tab, f"{filename}: could not read the file's text", filename)
                return
            if len(text.encode()) > MAX_UPLOAD:
                self._error(tab, f"{filename}: larger than {MAX_UPLOAD // 1024} KB: is it a scenario?", filename)
                return
            if not filename.endswith(".toml"):
                filename += ".toml"
            self.uploads += 1
            folder = self.tmp / f"upload{self.uploads}"
            folder.mkdir()
            path = folder / filename
            path.write_text(text)
            target, label = str(path), filename
        elif name:
            target, label = name, name
        else:
            self._error(tab, "pick a scenario first")
            return
        why = check_scenario(target)
        if why is not None:
            # name the file as the user knows it, not our temporary copy
            self._error(tab, why.replace(str(Path(target).parent) + os.sep, "") if upload else why, label)
            return
        self.running = {"type": "sim", "state": "running", "tab": tab, "name": label, "progress": 0.0,
                        "text": "starting...", "started": time.time()}
        self.publish(dict(self.running))
        self.task = asyncio.get_running_loop().create_task(self._run(tab, target, label))

    def cancel(self, tab: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            self.publish({"type": "sim", "state": "cancelled", "tab": tab,
                          "name": self.running["name"] if self.running else "",
                          "message": f"cancelled by tab {tab}"})

    async def _run(self, tab: int, target: str, label: str) -> None:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "host_tools.web.simjobs", target,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert self.proc.stderr is not None and self.proc.stdout is not None
            out_task = asyncio.ensure_future(self.proc.stdout.read())
            err = b""
            shown = 0.0
            deadline = time.monotonic() + RUN_LIMIT_S
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.proc.kill()
                    self._error(tab, f"{label}: still running after {RUN_LIMIT_S:.0f} s: stopped", label)
                    return
                try:
                    chunk = await asyncio.wait_for(self.proc.stderr.read(4096), min(left, 1.0))
                except TimeoutError:
                    continue
                if not chunk:
                    break
                err = (err + chunk)[-8192:]
                found = PROGRESS.findall(err.decode(errors="replace"))
                if found and time.monotonic() - shown > 0.25 and self.running is not None:
                    shown = time.monotonic()
                    m = found[-1]
                    done = int(m[0]) * 60 + int(m[1])
                    total = int(m[2]) * 60 + int(m[3])
                    self.running.update(progress=done / total if total else 0.0,
                                        text=f"{m[0]}:{m[1]} of {m[2]}:{m[3]} simulated, {m[4]}x real time")
                    self.publish(dict(self.running))
            out = await out_task
            rc = await self.proc.wait()
            if rc < 0:
                return                       # killed: cancel() said so
            try:
                result = json.loads(out)
            except ValueError:
                tail = err.decode(errors="replace").replace("\r", "\n").strip().splitlines()[-3:]
                self._error(tab, f"{label}: the simulator failed (exit {rc}): {' | '.join(tail)}", label)
                return
            if "error" in result:
                self._error(tab, result["error"], label)
                return
            self.last = {"type": "sim", "state": "done", "tab": tab, "name": label, **result}
            self.publish(self.last)
        finally:
            self.running = None
            self.proc = None


# ---- the child ---------------------------------------------------------------------------

def _decimate(xs: list[Any], step: int) -> list[Any]:
    return xs[::step]


def _clean(obj: Any) -> Any:
    """JSON that a browser parses: NaN and infinities become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    return str(obj)


def result_json(path: str) -> Message:
    import pen  # noqa: F401
    from pen import faults as fault_names
    from sim import runner, scenario, summary
    try:
        sc = scenario.load(path)
        r = runner.run(sc, progress=True)
    except (scenario.ScenarioError, ValueError) as e:
        return {"error": str(e)}
    s = summary.summarize(r)
    tr = r.trace
    n = len(tr["t_s"])
    step = max(1, math.ceil(n / MAX_POINTS))
    plot = {c: _decimate(tr[c], step) for c in ("t_s", "target_sps", "rate_sps", "duty", "current_ma",
                                                 "depth_um", "depth_target_um", "limit_um", "battery_mv",
                                                 "temp_c")}
    plot["skin"] = [1 if x > 0 else 0 for x in _decimate(tr["tissue"], step)]
    plot["fault"] = [1 if x else 0 for x in _decimate(tr["faults"], step)]
    latched = []
    prev = 0
    for t, bits in zip(tr["t_s"], tr["faults"], strict=True):
        new = bits & ~prev
        if new:
            latched.append({"t_s": round(t, 3), "faults": fault_names.names(new)})
        prev = bits
    return _clean({
        "summary": s,
        "text": summary.format_summary(s),
        "plot": plot,
        "latched": latched,
        "injections": [{"t_s": i.t_us / 1e6, "kind": i.kind} for i in r.injections],
        "sim_s": r.sim_s, "wall_s": round(r.wall_s, 2),
        "description": sc.description,
    })


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m host_tools.web.simjobs SCENARIO", file=sys.stderr)
        return 2
    print(json.dumps(result_json(argv[0]), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
