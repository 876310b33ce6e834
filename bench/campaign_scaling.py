"""Campaign throughput: the same runs in one process and on a Dask local
cluster of 2 (or --workers) processes; runs per second and the scaling
ratio, with the cluster's start-up counted and not.

    python bench/campaign_scaling.py [--runs 340] [--workers 2] [--population nominal]

On a machine shared with other work the ratio says as much about the load
as about the campaign: the load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import pen  # noqa: F401
from host_tools import campaign_cmd
from sim import campaign


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=340)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--population", default="nominal", choices=campaign.POPULATIONS)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    plan = campaign.Plan(args.seed, population=args.population)
    code = campaign.code_fingerprint()
    pending = list(range(args.runs))
    results: dict[int, list[dict[str, Any]]] = {}
    rates = {}
    for workers in (1, args.workers):
        rows: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        ready = [t0]
        if workers == 1:
            campaign_cmd.run_local(plan, pending, rows.extend)
        else:
            def on_ready(n: int, ready: list[float] = ready) -> None:
                ready[0] = time.perf_counter()

            campaign_cmd.run_dask(plan, pending, rows.extend, workers, None, on_ready)
        wall = time.perf_counter() - t0
        rates[workers] = args.runs / wall
        results[workers] = sorted(rows, key=lambda r: r["idx"])
        print(f"{workers} worker{'s' if workers > 1 else ' '}: {args.runs} runs in {wall:5.1f} s = "
              f"{args.runs / wall:5.1f} runs/s (start-up {ready[0] - t0:.1f} s; without it "
              f"{args.runs / (wall - (ready[0] - t0)):5.1f} runs/s); load average {os.getloadavg()[0]:.2f}")
    same = results[1] == results[args.workers]
    if campaign.code_fingerprint() != code:
        print("the simulator or firmware code changed during the measurement: the rows may differ")
    print(f"scaling {rates[args.workers] / rates[1]:.2f}x on {args.workers} workers; rows identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
