"""The pen's serial link (pen.link) against a real file descriptor: output
goes out in per-beat slices, in order, across the ring's wrap; a host that
never reads cannot block it (the port reports no room, whole lines are
dropped and counted)."""

from __future__ import annotations

import os
import time

from pen import link as linkmod
from pen.link import StdioLink


def make(budget: int = 256, chunk: int = 64) -> tuple[StdioLink, int]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    stdin_r, _ = os.pipe()
    link = StdioLink(stdin=os.fdopen(stdin_r, "rb", buffering=0), stdout=os.fdopen(w, "wb", buffering=0),
                     budget=budget, chunk=chunk)
    return link, r


def drain(fd: int) -> bytes:
    out = b""
    try:
        while True:
            out += os.read(fd, 65536)
    except BlockingIOError:
        return out


def test_lines_go_out_in_order_a_budget_per_beat_across_the_wrap() -> None:
    link, r = make(budget=100, chunk=30)
    got = b""
    sent = []
    for i in range(200):                     # many times the ring's size
        line = "L %03d %s" % (i, "x" * (i % 40))
        if link.write(line):
            sent.append(line)
        n = link.pump()
        assert n <= 100
        got += drain(r)
    while link.pending():
        link.pump()
        got += drain(r)
    assert got.decode().splitlines() == sent
    assert link.dropped == 200 - len(sent)


def test_a_host_that_never_reads_cannot_block_the_link() -> None:
    link, r = make(budget=4096, chunk=4096)
    t0 = time.monotonic()
    for _ in range(2000):                    # ~ 1 MB offered, the pipe holds 64 KB
        link.write("T " + "y" * 500)
        link.pump()
    assert time.monotonic() - t0 < 5         # never waited for the reader
    assert link.dropped > 0 and link.pending() <= linkmod.QUEUE_BYTES
    assert drain(r)                          # what did go out is whole lines
