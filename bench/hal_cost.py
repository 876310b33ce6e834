"""Cost of one whole control step per pen board on the host: HAL read + tick
+ HAL write, timed on the MicroPython unix port with do-nothing stand-ins for
machine, rp2 and esp32 (bench/fakes/): the HAL's own Python cost, for
comparing HAL changes.  Not a pen figure: bench/chip.py measures the step on
the emulated RP2040 (no factor converts one to the other).

    python bench/hal_cost.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    mpy = str(Path(sys.executable).parent / "micropython")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([".frozen", str(ROOT / "bench" / "fakes"), str(ROOT / "firmware"), str(ROOT)])
    print(f"{'board':10} {'unix step':>10} {'unix tick':>10}")
    for port in ("rp2", "esp32"):
        r = subprocess.run([mpy, str(ROOT / "bench" / "hal_cost_workload.py"), port, "2000"], capture_output=True,
                           text=True, env=env, timeout=300)
        line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT")), None)
        if line is None:
            raise SystemExit(r.stdout + r.stderr)
        d = dict(kv.split("=") for kv in line.split()[1:])
        print(f"{port:10} {float(d['step_us']):8.2f}us {float(d['tick_us']):8.2f}us")
    print("pen figures (the emulated RP2040): python bench/chip.py")


if __name__ == "__main__":
    main()
