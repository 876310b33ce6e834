"""Cost of one whole control step per pen board: HAL read + tick + HAL write,
timed on the MicroPython unix port with do-nothing stand-ins for machine,
rp2 and esp32 (bench/fakes/), then scaled to the chips:

- RP2040 at 125 MHz: x110, the measured unix-to-RP2040 ratio for bytecode
  (docs/performance.md); the HAL is bytecode, so the factor fits it.
- ESP32 at 240 MHz: x50, the same ratio scaled by the clock (Xtensa LX6 at
  240 MHz runs MicroPython bytecode roughly 2.2x faster than an RP2040 at
  125 MHz); an estimate, not a measurement.

The real peripheral calls (ADC conversions of ~2 us, PIO FIFO reads) come on
top of the stand-ins' Python-call cost, which they replace.

    python bench/hal_cost.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTOR = {"rp2": 110, "esp32": 50}


def main() -> None:
    mpy = str(Path(sys.executable).parent / "micropython")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([".frozen", str(ROOT / "bench" / "fakes"), str(ROOT / "firmware"), str(ROOT)])
    print(f"{'board':10} {'unix step':>10} {'unix tick':>10} {'est. step on chip':>18} {'of 1000 us':>11}")
    for port in ("rp2", "esp32"):
        r = subprocess.run([mpy, str(ROOT / "bench" / "hal_cost_workload.py"), port, "2000"], capture_output=True,
                           text=True, env=env, timeout=300)
        line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT")), None)
        if line is None:
            raise SystemExit(r.stdout + r.stderr)
        d = dict(kv.split("=") for kv in line.split()[1:])
        step = float(d["step_us"]) * FACTOR[port]
        print(f"{port:10} {float(d['step_us']):8.2f}us {float(d['tick_us']):8.2f}us {step:14.0f} us   "
              f"{step / 10:8.0f} %")


if __name__ == "__main__":
    main()
