"""Tachometer decoder benchmark: the stroke rate the tick computes, against
noisy edges, from the decoder (pen.tach) next to the HAL arithmetic it
replaced.

Edges of a motor at each speed level (80-200 strokes/s, 2 pulses a
revolution) with timing jitter, ringing (1-3 more edges within 6 us of an
edge), lost and spurious pulses, read by a 1 kHz tick:

* rp2 PIO path: the PIO's 0.2 us counts, a 4-word FIFO drained every tick;
  old: the sum of the last ppr words (hal/rp2.py before issue 11); new:
  pen.tach.period().
* rp2 interrupt path: exact edge timestamps; old: the mean of the last two
  revolutions (hal/chip.py IrqTach); new: pen.tach.stamp().
* ESP32: soft-interrupt timestamps held up by a 10 ms collection every
  0.5 s (handlers and tick stopped, then the handlers run back to back);
  old: last minus first of ppr + 1 timestamps (hal/esp32.py); new: the
  hardware count and the handler's time, pen.tach.count().

The rate is the tick's (pen.tick._observe): 10**8 / max(period, age) cHz, 0
without a period, capped at 1000 strokes/s.  The error is against the true
rate, every tick after the first 0.2 s, all levels pooled.

    python bench/tach.py [--seconds S] [--seed N]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

import pen  # noqa: F401  (CPython stand-ins for the MicroPython built-ins)
from pen import tach

PPR = 2
LEVELS = (80, 100, 120, 140, 170, 200)
MIN_US = 1000000 // (2 * max(LEVELS) * PPR)
TICK = 1000
FIFO = 4
MASK = 0x3FFFFFFF
WARMUP_US = 200000


def rate_chz(period: int, age: int) -> int:
    if period <= 0:
        return 0
    p = max(period, age)
    r = 100000000 // p if p < 1000000 else 0
    return min(r, 100000)


# ---- edges --------------------------------------------------------------------------------------

def edges(sps: float, seconds: float, rng: random.Random, jitter: float = 0.0, ring: float = 0.0,
          drop: float = 0.0, extra: float = 0.0) -> list[float]:
    """Rising-edge times (us, float) of a motor at `sps`: jitter is a
    fraction of the pulse period (sigma), the others probabilities per edge."""
    per = 1e6 / (sps * PPR)
    out: list[float] = []
    k = 1
    end = seconds * 1e6
    while k * per < end:
        t = k * per + rng.gauss(0.0, jitter * per) + 4.0 * rng.gauss(0.0, 1.0)
        k += 1
        if rng.random() < drop:
            continue
        out.append(t)
        if rng.random() < ring:
            for _ in range(rng.randint(1, 3)):
                out.append(t + rng.uniform(0.2, 6.0))
        if rng.random() < extra:
            out.append(t + rng.uniform(0.0, per))
    out.sort()
    return out


# ---- decoders: (feed the edges since the last tick, read at the tick) -> period, age ---------------

class OldPio:
    def __init__(self) -> None:
        self.periods = [0] * PPR
        self.slot = self.count = 0
        self.last = 0

    def words(self, counts: list[int], now: int) -> tuple[int, int]:
        for c in counts:
            self.periods[self.slot] = c // 5
            self.slot = (self.slot + 1) % PPR
            self.count += 1
            self.last = now
        return (sum(self.periods) if self.count > PPR else 0), now - self.last


class NewPio:
    def __init__(self) -> None:
        self.st = tach.new(PPR, MIN_US)
        self.m = [0, 0, 0]

    def words(self, counts: list[int], now: int) -> tuple[int, int]:
        for c in counts:
            v = c >> 2                      # hal/rp2.py: get(None, 2), then to us
            tach.period(self.st, v - v // 5, now & MASK)
        tach.out(self.st, self.m, now & MASK)
        return self.m[1], self.m[2]


class OldIrq:
    def __init__(self, revs: int = 2) -> None:
        self.n = PPR * revs
        self.revs = revs
        self.stamps: list[int] = []

    def stamp(self, t: int) -> None:
        self.stamps.append(t)
        del self.stamps[:-(self.n + 1)]

    def read(self, now: int) -> tuple[int, int]:
        s = self.stamps
        period = (s[-1] - s[0]) // self.revs if len(s) > self.n else 0
        return period, (now - s[-1] if s else 10000000)


class NewIrq:
    def __init__(self) -> None:
        self.st = tach.new(PPR, MIN_US)
        self.m = [0, 0, 0]

    def stamp(self, t: int) -> None:
        tach.stamp(self.st, t & MASK)

    def read(self, now: int) -> tuple[int, int]:
        tach.out(self.st, self.m, now & MASK)
        return self.m[1], self.m[2]


class NewCount:
    """hal/esp32.py: the handler (or the tick) hands the newly counted edges
    and its time to pen.tach.count()."""

    def __init__(self) -> None:
        self.st = tach.new(PPR, MIN_US)
        self.m = [0, 0, 0]
        self.counted = 0                    # the PCNT
        self.taken = 0

    def look(self, t: int) -> None:
        n = self.counted - self.taken
        if n:
            self.taken = self.counted
            tach.count(self.st, n, t & MASK)

    def read(self, now: int) -> tuple[int, int]:
        self.look(now)
        tach.out(self.st, self.m, now & MASK)
        return self.m[1], self.m[2]


# ---- runs ----------------------------------------------------------------------------------------

def run_rp2(ts: list[float], seconds: float, sps: float) -> dict[str, list[float]]:
    """Errors (fractions) of the four rp2 decoders, per tick."""
    dec_pio: dict[str, OldPio | NewPio] = {"old PIO": OldPio(), "new PIO": NewPio()}
    dec_irq: dict[str, OldIrq | NewIrq] = {"old IRQ": OldIrq(), "new IRQ": NewIrq()}
    errs: dict[str, list[float]] = {k: [] for k in (*dec_pio, *dec_irq)}
    true = sps * 100
    i = 0
    prev_count = 0
    now = 0
    end = int(seconds * 1e6)
    while now < end:
        now += TICK
        words: list[int] = []
        while i < len(ts) and ts[i] <= now:
            c = round(ts[i] * 5)             # the PIO's counts since boot
            if len(words) < FIFO:
                words.append(c - prev_count)
            prev_count = c                   # (a word lost: its time with it)
            for d in dec_irq.values():
                d.stamp(int(ts[i]))
            i += 1
        readings = {k: d.words(words, now) for k, d in dec_pio.items()}
        readings.update({k: d.read(now) for k, d in dec_irq.items()})
        if now >= WARMUP_US:
            for k, (period, age) in readings.items():
                errs[k].append(abs(rate_chz(period, age) - true) / true)
    return errs


def _collecting(t: float) -> tuple[bool, float]:
    """Inside the 10 ms collection of this half second?  And its end."""
    g = (t // 500000) * 500000 + 250000
    return g <= t < g + 10000, g + 10000


def run_esp32(ts: list[float], seconds: float, sps: float, rng: random.Random) -> dict[str, list[float]]:
    """Soft handlers run 20-60 us after their edge, one at a time (15 us
    each); a 10 ms collection every 0.5 s stops the handlers and the tick,
    which then run back to back.  The PCNT counts every edge at once."""
    hs = []
    free = 0.0
    for t in ts:
        h = t + rng.uniform(20.0, 60.0)
        held, until = _collecting(h)
        if held:
            h = until
        h = max(h, free + 15.0)
        free = h
        hs.append(h)
    old = OldIrq(revs=1)
    new = NewCount()
    errs: dict[str, list[float]] = {"old ESP32": [], "new ESP32": []}
    true = sps * 100
    i = c = now = 0
    end = int(seconds * 1e6)
    while now < end:
        now += TICK
        if _collecting(now)[0]:
            continue                         # the loop is stopped: no tick
        while i < len(hs) and hs[i] <= now:  # handlers due before this tick
            h = hs[i]
            while c < len(ts) and ts[c] <= h:
                c += 1
            new.counted = c
            new.look(int(h))
            old.stamp(int(h))
            i += 1
        while c < len(ts) and ts[c] <= now:
            c += 1
        new.counted = c                      # edges whose handler is still to come
        o = old.read(now)
        n = new.read(now)
        if now >= WARMUP_US:
            errs["old ESP32"].append(abs(rate_chz(*o) - true) / true)
            errs["new ESP32"].append(abs(rate_chz(*n) - true) / true)
    return errs


def stats(e: list[float]) -> tuple[float, float, float, float, float]:
    s = sorted(e)
    n = len(s)
    return (100 * s[n // 2], 100 * s[n * 95 // 100], 100 * s[-1], 100 * sum(1 for x in s if x > 0.1) / n,
            100 * sum(1 for x in s if x >= 0.999) / n)


CONDITIONS: list[tuple[str, dict[str, float]]] = [
    ("clean (4 us jitter)", {}),
    ("5 % jitter", {"jitter": 0.05}),
    ("1 % ringing edges", {"ring": 0.01}),
    ("5 % jitter + 1 % ringing", {"jitter": 0.05, "ring": 0.01}),
    ("2 % lost pulses", {"drop": 0.02}),
    ("10 % lost pulses", {"drop": 0.10}),
    ("2 % spurious pulses", {"extra": 0.02}),
    ("all: 5 % jitter, 1 % ring, 2 % lost, 2 % spurious", {"jitter": 0.05, "ring": 0.01, "drop": 0.02, "extra": 0.02}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="simulated seconds per level and condition")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"stroke-rate error |rate - true| / true, % of ticks pooled over levels {LEVELS} strokes/s, "
          f"{PPR} pulses a revolution, {args.seconds:g} s each, seed {args.seed}")
    head = f"{'condition':<50} {'decoder':<10} {'p50 %':>7} {'p95 %':>7} {'max %':>7} {'>10 %':>7} {'>=100 %':>7}"
    print(head)
    print("-" * len(head))

    def table(name: str, kw: dict[str, float],
              run: Callable[[list[float], float, float, random.Random], dict[str, list[float]]]) -> None:
        pooled: dict[str, list[float]] = {}
        for lvl in LEVELS:
            rng = random.Random(args.seed * 1000 + lvl)
            ts = edges(lvl, args.seconds, rng, **kw)
            for k, e in run(ts, args.seconds, lvl, rng).items():
                pooled.setdefault(k, []).extend(e)
        first = True
        for k, e in pooled.items():
            p50, p95, mx, bad, zero = stats(e)
            print(f"{name if first else '':<50} {k:<10} {p50:7.2f} {p95:7.2f} {mx:7.1f} {bad:7.2f} {zero:7.2f}")
            first = False

    for name, kw in CONDITIONS:
        table(name, kw, lambda ts, s, sps, rng: run_rp2(ts, s, sps))
    table("ESP32: 5 % jitter, 10 ms collection every 0.5 s", {"jitter": 0.05}, run_esp32)
    print("(>10 %, >=100 %: share of ticks that far off; 100 % off is a rate of 0 or of twice the true one)")


if __name__ == "__main__":
    main()
