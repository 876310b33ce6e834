"""`needlepen campaign`: fault-injection campaigns over a population of
simulated pens, on every local core or a Dask cluster; their results file,
report and the replay of one run (docs/campaign.md)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import pen  # noqa: F401  (installs the MicroPython stand-ins on CPython)
from host_tools import campaign_loops
from host_tools.campaign_store import Results, ResultsError
from sim import campaign

HELP = """Fault-injection campaigns: every fault of the interlock injected into a
running simulated pen at random times, speed levels, depths and skin loads,
on the nominal pen or a population of pens drawn from the board's declared
tolerances; each run checked for detection time, same-tick reaction,
latching and clearing (sim/campaign.py).

  needlepen campaign run --runs 3400 --out out/c.sqlite   every local core (Dask)
  needlepen campaign run --runs 100000 --population spread --out out/pop.sqlite
  needlepen campaign run ... --scheduler tcp://HOST:8786  an existing Dask cluster
  needlepen campaign report out/c.sqlite [--compare out/other.sqlite] [--markdown]
  needlepen campaign replay out/c.sqlite --run 123        one run again, with trace and plot
  needlepen campaign loops --pens 48    closed vs open loop stroke rate across the population

A campaign cut off (Ctrl-C, a lost machine) resumes where it stopped: run
the same command again.  Run number i of a campaign is the same run on any
machine, with any number of workers (docs/campaign.md).
"""

RUN_HELP = """Run a campaign (or resume it: the same command with the same --out
continues where it stopped; a larger --runs extends it).

exit status: 0 every run passed its checks; 1 a violation (listed by
`needlepen campaign report`); 2 bad input (nothing was run); 130 interrupted
(what was done is kept: run the same command to resume).
"""

REPORT_HELP = """Per fault kind: runs, detected, not provoked, detection time (median,
p99, worst; from the onset of the detectable condition to the latched
fault) against its bound, the worst reaction (ticks from the latch to duty
0) and runs with violations; then every violation with the command that
replays it.  exit status: 0, or 2 for a file that is not a results file."""

REPLAY_HELP = """Run one run of a campaign again, bit for bit, and write its trace
(CSV, one row per --trace-ms) and plot.  From a results file (--run K: the
outcome must equal the stored row, or the replay fails with exit 1) or from
the campaign's parameters alone (--seed S --index K [--population P]
[--faults F]).  exit status: 0 reproduced (or run); 1 the outcome differs
from the file's row; 2 bad input."""

DEFAULT_OUT = "out/campaign.sqlite"
MAX_SEED = 2**32 - 1     # as a scenario's; seed x 1000003 + run stays a 64-bit integer (SQLite's)
MAX_RUNS = 10**7          # a week of a 2-core machine at 15 runs/s; the list of pending runs stays small
STALL_S = 600            # no run finished for this long on a cluster: give up with a message
CONNECT_S = 20           # a --scheduler must answer within this
WORKERS_S = 60           # and have a worker within this


class CampaignError(Exception):
    """A user error: one line, exit 2."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaign", help="fault-injection campaigns (Dask), their report and replay",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=lambda args: _usage(p))
    cs = p.add_subparsers(dest="campaign_command", metavar="ACTION")

    r = cs.add_parser("run", help="run or resume a campaign", description=RUN_HELP,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--runs", type=_int("--runs"), default=3400, metavar="N",
                   help="runs in the campaign (default 3400; fault kinds take turns)")
    r.add_argument("--faults", default="all", metavar="A,B|all",
                   help="fault kinds to inject (default all: " + ", ".join(sorted(campaign.SPECS)) + ")")
    r.add_argument("--population", default="nominal", metavar="|".join(campaign.POPULATIONS),
                   help="nominal: the nominal pen every run; spread: pen number i // kinds drawn from the "
                        "board's tolerances (boards/parts.py), each meeting every fault kind once")
    r.add_argument("--seed", type=_int("--seed"), default=1, help="the campaign's seed (default 1)")
    r.add_argument("--workers", default="auto", metavar="N|auto",
                   help="processes on this machine (default auto: every core, through Dask's local cluster); "
                        "1 runs in this process without Dask")
    r.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="run on this Dask cluster's workers instead (needlepen installed there, same version)")
    r.add_argument("--out", default=DEFAULT_OUT, metavar="RESULTS.sqlite",
                   help=f"the results file, written as runs finish; an existing one is resumed (default {DEFAULT_OUT})")
    r.add_argument("--batch", type=_int("--batch"), default=100, metavar="N",
                   help="rows per commit to the results file (default 100; also every 5 s)")
    r.add_argument("--json", metavar="FILE", help="write a JSON summary; - for stdout (the text then goes to stderr)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(run=run_cmd)

    rp = cs.add_parser("report", help="a results file's table, violations, comparison", description=REPORT_HELP)
    rp.add_argument("results", metavar="RESULTS", help="a campaign's results file (--out of `campaign run`)")
    rp.add_argument("--compare", metavar="OTHER", help="a second results file, side by side")
    rp.add_argument("--markdown", action="store_true", help="the table for docs/safety.md")
    rp.add_argument("--json", metavar="FILE", help="the report as JSON; - for stdout")
    rp.add_argument("--limit", type=_int("--limit"), default=20, help="violations listed (default 20)")
    rp.set_defaults(run=report_cmd)

    rr = cs.add_parser("replay", help="one run again, bit for bit, with trace and plot", description=REPLAY_HELP)
    rr.add_argument("results", nargs="?", metavar="RESULTS", help="the campaign's results file")
    rr.add_argument("--run", dest="run_index", type=_int("--run"), metavar="K", help="the run's number in RESULTS")
    rr.add_argument("--seed", type=_int("--seed"), help="without RESULTS: the campaign's seed")
    rr.add_argument("--index", type=_int("--index"), metavar="K", help="without RESULTS: the run's number")
    rr.add_argument("--faults", default="all", metavar="A,B|all", help="without RESULTS: the campaign's faults")
    rr.add_argument("--population", default="nominal", metavar="|".join(campaign.POPULATIONS),
                    help="without RESULTS: the campaign's population")
    rr.add_argument("--trace", metavar="CSV", help="the trace (default out/campaign-run-K.csv)")
    rr.add_argument("--plot", metavar="PNG", help="the plot (default out/campaign-run-K.png)")
    rr.add_argument("--no-plot", action="store_true", help="no plot")
    rr.add_argument("--trace-ms", type=_int("--trace-ms"), default=1, metavar="MS",
                    help="one trace row per MS ms (default 1)")
    rr.add_argument("--json", metavar="FILE", help="the run's row as JSON; - for stdout")
    rr.set_defaults(run=replay_cmd)

    campaign_loops.add_parser(cs, _int, parse_workers)


def _int(opt: str) -> Callable[[str], int]:
    def conv(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    conv.__name__ = opt
    return conv


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def fail(msg: str, cmd: str = "campaign run") -> int:
    print(f"needlepen {cmd}: {msg}", file=sys.stderr)
    return 2


# ---- parameters ----------------------------------------------------------------------

def parse_faults(text: str) -> tuple[str, ...]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise CampaignError(f"--faults '{text}': no fault kind; give all or some of: "
                            f"{', '.join(sorted(campaign.SPECS))}")
    if names == ["all"]:
        return tuple(sorted(campaign.SPECS))
    for n in names:
        if n not in campaign.SPECS:
            raise CampaignError(f"--faults: no fault kind '{n}'; give all or some of: "
                                f"{', '.join(sorted(campaign.SPECS))}")
    if len(set(names)) != len(names):
        raise CampaignError(f"--faults {text}: a kind given twice; give each once")
    return tuple(sorted(names))


def make_plan(seed: int, faults: str, population: str) -> campaign.Plan:
    if population not in campaign.POPULATIONS:
        raise CampaignError(f"--population {population}: no such population; give one of: "
                            f"{', '.join(campaign.POPULATIONS)}")
    if not 0 <= seed <= MAX_SEED:
        raise CampaignError(f"--seed {seed}: out of range; give 0..{MAX_SEED}")
    return campaign.Plan(seed, parse_faults(faults), population)


def parse_workers(text: str) -> int:
    if text == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:                  # not on Linux
            return max(1, os.cpu_count() or 1)
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise CampaignError(f"--workers {text}: give a number of processes (1 or more) or auto")
    return n


# ---- executing -----------------------------------------------------------------------

Sink = Callable[[list[dict[str, Any]]], None]


def chunks(pending: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(pending), size):
        yield pending[i:i + size]


def run_local(plan: campaign.Plan, pending: list[int], sink: Sink) -> None:
    """In this process, without Dask, run by run."""
    for i in pending:
        sink(campaign.run_rows(plan, [i]))


def run_dask(plan: campaign.Plan, pending: list[int], sink: Sink, workers: int, scheduler: str | None,
             on_ready: Callable[[int], None], code: str | None = None) -> None:
    """On Dask: a local cluster of `workers` processes, or the cluster at
    `scheduler`.  Tasks of a few runs each, a bounded number in flight
    (a cut-off campaign loses at most those)."""
    import logging

    from dask.distributed import Client, LocalCluster, wait

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_S)
            except (OSError, TimeoutError) as e:
                raise CampaignError(f"--scheduler {scheduler}: no Dask scheduler answered ({_one_line(e)}); start "
                                    f"one with `dask scheduler` and workers with `dask worker {scheduler}`, or leave "
                                    f"out --scheduler to use this machine") from None
        else:
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
            except (OSError, RuntimeError, TimeoutError) as e:
                raise CampaignError(f"the local Dask cluster of {workers} workers did not start ({_one_line(e)}); "
                                    f"--workers 1 runs the campaign in this process") from None
            client = Client(cluster)
    except ValueError as e:
        raise CampaignError(f"--scheduler {scheduler}: {_one_line(e)}; give an address like tcp://HOST:8786") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS_S)
        except TimeoutError:
            raise CampaignError(f"no Dask worker joined {scheduler or 'the local cluster'} within {WORKERS_S} s; "
                                f"start one with `dask worker {scheduler or 'ADDRESS'}`") from None
        _check_workers(client, scheduler, code or campaign.code_fingerprint())
        nthreads = sum(client.nthreads().values())
        on_ready(nthreads)
        size = max(1, min(8, len(pending) // max(1, nthreads * 8)))        # tasks of a second or less
        todo = chunks(pending, size)
        inflight = set()
        for part in todo:
            inflight.add(client.submit(campaign.run_rows, plan, part, pure=False))
            if len(inflight) >= nthreads * 3:
                break
        while inflight:
            done, _ = wait(list(inflight), timeout=STALL_S, return_when="FIRST_COMPLETED")
            if not done:
                raise CampaignError(f"no run finished for {STALL_S} s; are the cluster's workers alive?")
            for fut in done:
                inflight.discard(fut)
                rows = fut.result()
                fut.release()
                sink(rows)
                more = next(todo, [])
                if more:
                    inflight.add(client.submit(campaign.run_rows, plan, more, pure=False))
    except TimeoutError:
        raise CampaignError(f"no run finished for {STALL_S} s; are the cluster's workers alive?") from None
    finally:
        client.close(timeout=10)
        if cluster is not None:
            cluster.close(timeout=10)


def _check_workers(client: Any, scheduler: str | None, mine: str) -> None:
    """Every worker must run the same simulator and firmware code as the
    results file records (on this machine too: a file edited while the
    local workers start would give them other code)."""
    try:
        theirs = client.run(campaign.code_fingerprint)
    except Exception as e:
        where = f"--scheduler {scheduler}: a worker" if scheduler else "a local Dask worker"
        raise CampaignError(f"{where} cannot run needlepen's campaign ({_one_line(e)}); install this needlepen "
                            f"on every worker") from None
    other = sorted(w for w, fp in theirs.items() if fp != mine)
    if other and scheduler:
        raise CampaignError(f"--scheduler {scheduler}: worker {other[0]} runs other simulator or firmware code "
                            f"({theirs[other[0]]}, here {mine}); install the same needlepen on every worker")
    if other:
        raise CampaignError(f"the simulator or firmware code changed while the campaign started ({mine}, a worker "
                            f"{theirs[other[0]]}); run the command again")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


class Progress:
    """A progress bar with rate and ETA on stderr: tqdm where it is
    installed, a plain line otherwise; nothing when off."""

    def __init__(self, total: int, done: int, on: bool, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.on, self.stream = total, done, on, stream
        self.start_done = done
        self.t0 = time.perf_counter()
        self.shown = 0.0
        self.violations = 0
        self.bar: Any = None
        if on:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=done, unit="run", file=stream, dynamic_ncols=True,
                                smoothing=0.05)
            except ImportError:
                pass

    def update(self, n: int, violations: int) -> None:
        self.done += n
        self.violations += violations
        if not self.on:
            return
        if self.bar is not None:
            self.bar.update(n)
            if violations:
                self.bar.set_postfix(violations=self.violations)
            return
        now = time.perf_counter()
        if now - self.shown >= 0.5:
            self.shown = now
            self._line(now)

    def _line(self, now: float) -> None:
        ran = self.done - self.start_done
        rate = ran / (now - self.t0) if now > self.t0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} runs  {rate:6.1f} runs/s  ETA "
                          f"{_hms(eta) if eta is not None else '--:--'}  violations {self.violations} ")
        self.stream.flush()

    def close(self) -> None:
        if not self.on:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            self._line(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()


def _hms(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _interrupt_on_term() -> Any:
    """SIGTERM ends a campaign like Ctrl-C: what is done is committed."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:                          # not the main thread
        return None


def execute(res: Results, plan: campaign.Plan, runs: int, workers: int, scheduler: str | None, batch: int,
            progress: bool) -> dict[str, Any]:
    """Run what the results file lacks of runs 0..runs-1; commit in batches."""
    done = res.done()
    pending = [i for i in range(runs) if i not in done]
    bar = Progress(runs, len(done), progress and bool(pending))
    last = [time.monotonic()]
    ran = [0]

    def sink(rows: list[dict[str, Any]]) -> None:
        res.add(rows)
        ran[0] += len(rows)
        bar.update(len(rows), sum(1 for r in rows if r["violations"]))
        if res.uncommitted >= batch or time.monotonic() - last[0] >= 5.0:
            res.commit()
            last[0] = time.monotonic()

    where = {"workers": 1, "mode": "in-process"}

    def ready(n: int) -> None:
        where["workers"] = n
        where["mode"] = f"dask {scheduler}" if scheduler else "dask local cluster"

    t0 = time.perf_counter()
    started = time.time()
    old = _interrupt_on_term()
    interrupted = False
    try:
        if not pending:
            pass
        elif scheduler is None and workers == 1:
            run_local(plan, pending, sink)
        else:
            run_dask(plan, pending, sink, workers, scheduler, ready, res.meta.get("code"))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
        res.commit()
        bar.close()
    wall = time.perf_counter() - t0
    if ran[0]:
        res.log_session(started, f"{where['workers']} ({where['mode']})", ran[0], wall)
    return {"ran": ran[0], "wall_s": wall, "workers": where["workers"], "mode": where["mode"],
            "pending": len(pending), "interrupted": interrupted}


# ---- commands --------------------------------------------------------------------------

def run_cmd(args: argparse.Namespace) -> int:
    from host_tools.campaign_report import as_json, per_fault, totals
    from host_tools.sim_cmd import unwritable
    try:
        if not 1 <= args.runs <= MAX_RUNS:
            raise CampaignError(f"--runs {args.runs}: out of range; give 1..{MAX_RUNS}")
        if args.batch < 1:
            raise CampaignError(f"--batch {args.batch}: give at least 1 row per commit")
        plan = make_plan(args.seed, args.faults, args.population)
        if args.scheduler and args.workers != "auto":
            raise CampaignError("--workers and --scheduler: a cluster's workers are its own; give one of them")
        workers = parse_workers(args.workers)
        out = Path(args.out)
        for opt, path in (("--out", out), ("--json", Path(args.json) if args.json and args.json != "-" else None)):
            if path is not None and (why := unwritable(opt, path)):
                raise CampaignError(why)
        res = Results.create_or_resume(out, plan, args.runs, campaign.code_fingerprint())
    except (CampaignError, ResultsError) as e:
        return fail(str(e))
    human = sys.stderr if args.json == "-" else sys.stdout
    try:
        show = not args.quiet and sys.stderr.isatty()
        try:
            info = execute(res, plan, args.runs, workers, args.scheduler, args.batch, show)
        except CampaignError as e:
            res.discard()
            return fail(str(e))
        rows = res.rows()
        t = totals(rows)
        rate = info["ran"] / info["wall_s"] if info["wall_s"] > 0 and info["ran"] else 0.0
        state = "interrupted" if info["interrupted"] else "done"
        print(f"{res.path}: {len(rows)} of {res.runs} runs {'done' if len(rows) == res.runs else 'so far'} "
              f"({info['ran']} this time in {info['wall_s']:.1f} s, {rate:.1f} runs/s, {info['workers']} "
              f"worker{'s' if info['workers'] != 1 else ''}, {info['mode']}): {t['detected']} faults detected, "
              f"{t['not_provoked']} not provoked, {t['violations']} runs with violations", file=human)
        if t["violations"]:
            print(f"violations: needlepen campaign report {res.path}", file=human)
        if args.json is not None:
            summary = as_json(res, rows)
            summary["session"] = dict(info, runs_per_s=rate, state=state)
            summary["per_fault"] = per_fault(rows)
            text = json.dumps(summary, indent=1)
            if args.json == "-":
                sys.stdout.write(text + "\n")
            else:
                Path(args.json).write_text(text + "\n")
        if info["interrupted"]:
            print(f"interrupted: {len(rows)} of {res.runs} runs kept in {res.path}; run the same command to resume",
                  file=sys.stderr)
            return 130
        return 1 if t["violations"] else 0
    finally:
        res.close()


def report_cmd(args: argparse.Namespace) -> int:
    from host_tools import campaign_report as rep
    try:
        res = Results.open(args.results)
        other = Results.open(args.compare) if args.compare else None
    except ResultsError as e:
        return fail(str(e), "campaign report")
    try:
        rows = res.rows()
        if args.json is not None:
            data = rep.as_json(res, rows)
            if other is not None:
                data["compare"] = rep.as_json(other, other.rows())
            text = json.dumps(data, indent=1)
            if args.json == "-":
                sys.stdout.write(text + "\n")
                return 0
            try:
                Path(args.json).write_text(text + "\n")
            except OSError as e:
                return fail(f"--json {args.json}: cannot write it ({e.strerror or e}); give a writable path",
                            "campaign report")
        if other is not None:
            print(rep.compare(res, rows, other, other.rows()))
        elif args.markdown:
            print(rep.markdown(res, rows))
        else:
            print(rep.text(res, rows, args.limit))
        return 0
    finally:
        res.close()
        if other is not None:
            other.close()


def replay_cmd(args: argparse.Namespace) -> int:
    from host_tools import campaign_replay as rp
    from host_tools.sim_cmd import plot_format, unwritable
    cmd = "campaign replay"
    stored = None
    try:
        if args.results is not None:
            if args.run_index is None:
                raise CampaignError("RESULTS needs --run K (the run's number; `needlepen campaign report` lists them)")
            if args.seed is not None or args.index is not None:
                raise CampaignError("--seed/--index are for a replay without RESULTS; give --run K with RESULTS")
            res = Results.open(args.results)
            try:
                plan = res.plan()
                if not 0 <= args.run_index < res.runs:
                    raise CampaignError(f"--run {args.run_index}: the campaign has runs 0..{res.runs - 1}; "
                                        f"give one of them")
                stored = res.row(args.run_index)
                code = res.meta.get("code")
            finally:
                res.close()
            index = args.run_index
        else:
            if args.seed is None or args.index is None:
                raise CampaignError("give RESULTS --run K, or --seed S --index K (and the campaign's --population, "
                                    "--faults)")
            if args.run_index is not None:
                raise CampaignError("--run K needs RESULTS; without a file give --index K")
            if not 0 <= args.index < MAX_RUNS:
                raise CampaignError(f"--index {args.index}: out of range; give 0..{MAX_RUNS - 1}")
            plan = make_plan(args.seed, args.faults, args.population)
            index, code = args.index, None
        if args.trace_ms < 1:
            raise CampaignError(f"--trace-ms {args.trace_ms}: give 1 ms or more")
        if args.plot is not None and args.no_plot:
            raise CampaignError("--plot and --no-plot contradict each other; give one of them")
        outs: dict[str, Path] = {"--trace": Path(args.trace or f"out/campaign-run-{index}.csv")}
        if not args.no_plot:
            outs["--plot"] = Path(args.plot or f"out/campaign-run-{index}.png")
        if args.json and args.json != "-":
            outs["--json"] = Path(args.json)
        for opt, path in outs.items():
            why = unwritable(opt, path) or (plot_format(path) if opt == "--plot" else None)
            if why:
                raise CampaignError(why)
    except (CampaignError, ResultsError) as e:
        return fail(str(e), cmd)
    human = sys.stderr if args.json == "-" else sys.stdout
    spec = plan.spec(index)
    print(rp.describe(spec), file=human)
    rep = rp.replay(spec, args.trace_ms)
    print("  " + rp.outcome(rep.row), file=human)
    from sim import plot as simplot
    assert rep.trace is not None
    written = [f"trace: {simplot.write_csv(rep.trace, outs['--trace'])}"]
    if "--plot" in outs:
        written.append(f"plot: {rp.plot(rep, outs['--plot'])}")
    if args.json is not None:
        text = json.dumps(dict(rep.row, replay_of=args.results, reproduced=stored == rep.row if stored else None),
                          indent=1)
        if args.json == "-":
            sys.stdout.write(text + "\n")
        else:
            outs["--json"].write_text(text + "\n")
            written.append(f"row: {outs['--json']}")
    for line in written:
        print(line, file=human)
    if stored is None:
        if args.results is not None:
            print(f"  (run {index} is not in {args.results} yet: nothing to compare)", file=human)
        return 0
    diff = rp.differences(stored, rep.row)
    if diff:
        now = campaign.code_fingerprint()
        why = "" if now == code else f" (the code changed since the campaign: fingerprint {code}, now {now})"
        print(f"needlepen {cmd}: run {index} NOT reproduced{why}: " + "; ".join(diff), file=sys.stderr)
        return 1
    print(f"  reproduced: the same outcome as run {index} in {args.results}", file=human)
    return 0
