"""`needlepen campaign`: a small population campaign on a Dask local cluster
of 2 workers gives the same rows as in one process; a campaign killed
mid-way resumes without repeating or losing a run; a replayed run
reproduces its row exactly; bad input is one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from host_tools import campaign_cmd, cli
from host_tools.campaign_store import Results
from sim import campaign
from sim.runner import TRACE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
# quick fault kinds (a run each is about 2.5 s of pen time); pens drawn from the tolerances
FAULTS = "clock_back,depth_sensor_open,output_short,tach_dead"
RUNS = 24                                    # 6 pens x 4 faults
ARGS = ["--runs", str(RUNS), "--faults", FAULTS, "--population", "spread", "--seed", "5", "--quiet"]


def rows_of(path: Path) -> list[dict[str, Any]]:
    res = Results.open(path)
    try:
        return res.rows()
    finally:
        res.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The campaign in this process, without Dask."""
    out = tmp_path_factory.mktemp("campaign") / "one.sqlite"
    assert cli.main(["campaign", "run", *ARGS, "--workers", "1", "--out", str(out)]) in (0, 1)
    return out


def test_the_reference_is_the_plan_run_by_hand(reference: Path) -> None:
    plan = campaign.Plan(5, tuple(FAULTS.split(",")), "spread")
    rows = rows_of(reference)
    assert [r["idx"] for r in rows] == list(range(RUNS))
    assert rows[:3] == campaign.run_rows(plan, [0, 1, 2])
    assert {r["pen"] for r in rows} == set(range(RUNS // 4))
    # each pen its own parts, every fault kind once per pen
    assert len({plan.spec(4 * p).plant_kw for p in range(RUNS // 4)}) == RUNS // 4
    assert sorted(r["kind"] for r in rows if r["pen"] == 2) == sorted(FAULTS.split(","))


def test_dask_local_cluster_of_2_workers_gives_the_same_rows(reference: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dask.sqlite"
    assert cli.main(["campaign", "run", *ARGS, "--workers", "2", "--out", str(out), "--json", "-"]) in (0, 1)
    summary = json.loads(capsys.readouterr().out)
    assert summary["session"]["mode"] == "dask local cluster" and summary["session"]["workers"] == 2
    assert summary["totals"]["runs"] == RUNS
    assert rows_of(out) == rows_of(reference)


def test_a_killed_campaign_resumes_without_repeating_or_losing_runs(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "host_tools.cli", "campaign", "run", *ARGS, "--workers", "1",
                             "--batch", "3", "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists():
                try:
                    with sqlite3.connect(out, timeout=1) as db:
                        done = db.execute("SELECT count(*) FROM runs").fetchone()[0]
                except sqlite3.Error:
                    done = 0                      # the file is still being made
                if done >= 6:
                    break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)          # no chance to commit anything more
        err = proc.communicate(timeout=30)[1]
    assert 6 <= done < RUNS, (done, err)
    killed = rows_of(out)
    assert len(killed) < RUNS
    # resumed on a Dask local cluster: the missing runs only
    assert cli.main(["campaign", "run", *ARGS, "--workers", "2", "--out", str(out)]) in (0, 1)
    rows = rows_of(out)
    assert [r["idx"] for r in rows] == list(range(RUNS))          # none lost, none twice (idx is the key)
    assert rows == rows_of(reference)
    assert [r for r in rows if r["idx"] in {k["idx"] for k in killed}] == killed
    res = Results.open(out)
    try:
        sessions = res.sessions()
    finally:
        res.close()
    assert sum(s["runs"] for s in sessions) == RUNS - len(killed)   # the killed session logged nothing


def test_an_interrupted_campaign_keeps_what_was_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "int.sqlite"
    calls = [0]
    real = campaign.run_rows

    def stop_after_5(plan: campaign.Plan, indexes: list[int]) -> list[dict[str, Any]]:
        calls[0] += 1
        if calls[0] > 5:
            raise KeyboardInterrupt
        return real(plan, indexes)

    monkeypatch.setattr(campaign, "run_rows", stop_after_5)
    assert cli.main(["campaign", "run", *ARGS, "--workers", "1", "--batch", "2", "--out", str(out)]) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    assert [r["idx"] for r in rows_of(out)] == [0, 1, 2, 3, 4]


def test_report_text_markdown_compare_json(reference: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["campaign", "report", str(reference)]) == 0
    text = capsys.readouterr().out
    for kind in FAULTS.split(","):
        assert kind in text
    assert "median" in text and "p99" in text and f"{RUNS} of {RUNS} runs done" in text
    assert cli.main(["campaign", "report", str(reference), "--markdown"]) == 0
    md = capsys.readouterr().out
    assert "| fault injected | caught by | runs | detected | median | p99 | worst detection | bound | reaction |" in md
    assert cli.main(["campaign", "report", str(reference), "--compare", str(reference)]) == 0
    assert "A|B" in capsys.readouterr().out
    assert cli.main(["campaign", "report", str(reference), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["runs"] == RUNS
    per = {e["fault"]: e for e in data["per_fault"]}
    assert set(per) == set(FAULTS.split(","))
    for e in per.values():
        assert e["median_ms"] <= e["p99_ms"] <= e["worst_ms"]


def test_violations_are_listed_with_their_replay_command(reference: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(reference.read_bytes())
    with sqlite3.connect(bad) as db:
        db.execute("UPDATE runs SET violations = 'detected after 99 ms > 22 ms' WHERE idx = 7")
    assert cli.main(["campaign", "report", str(bad)]) == 0
    out = capsys.readouterr().out
    assert "1 runs with violations" in out
    assert f"needlepen campaign replay {bad} --run 7" in out
    assert f"needlepen campaign replay --seed 5 --index 7 --population spread --faults {FAULTS}" in out


def test_a_replayed_run_reproduces_its_row(reference: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    row = rows_of(reference)[9]
    csv, png = tmp_path / "r.csv", tmp_path / "r.png"
    assert cli.main(["campaign", "replay", str(reference), "--run", "9", "--trace", str(csv), "--plot",
                     str(png)]) == 0
    assert "reproduced" in capsys.readouterr().out
    lines = csv.read_text().splitlines()
    assert lines[0].split(",") == list(TRACE_COLUMNS) and len(lines) > 1000      # 1 ms rows, a few seconds
    assert png.stat().st_size > 10_000
    # from the campaign's parameters alone
    assert cli.main(["campaign", "replay", "--seed", "5", "--index", "9", "--population", "spread", "--faults",
                     FAULTS, "--no-plot", "--trace", str(csv), "--json", "-"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert {k: again[k] for k in campaign.ROW_COLUMNS} == row
    # a stored row that differs is reported, exit 1
    changed = tmp_path / "changed.sqlite"
    changed.write_bytes(reference.read_bytes())
    with sqlite3.connect(changed) as db:
        db.execute("UPDATE runs SET detect_ms = detect_ms + 1 WHERE idx = 9")
    assert cli.main(["campaign", "replay", str(changed), "--run", "9", "--no-plot", "--trace", str(csv)]) == 1
    err = capsys.readouterr().err
    assert "NOT reproduced" in err and "detect_ms" in err


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> None:
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err.strip()
    assert err.startswith("needlepen campaign") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


def test_bad_input_is_one_line_exit_2(reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.sqlite")
    _one_line_error(capsys, ["campaign", "run", "--faults", "jam,nosuch", "--out", out], "nosuch", "tach_dead")
    _one_line_error(capsys, ["campaign", "run", "--runs", "0", "--out", out], "--runs 0")
    _one_line_error(capsys, ["campaign", "run", "--seed", str(2**40), "--out", out], "--seed")
    _one_line_error(capsys, ["campaign", "run", "--workers", "0", "--out", out], "--workers")
    _one_line_error(capsys, ["campaign", "run", "--population", "everyone", "--out", out], "spread")
    assert not Path(out).exists()
    # resuming with other parameters
    mine = tmp_path / "mine.sqlite"
    mine.write_bytes(reference.read_bytes())
    other = ["--runs", str(RUNS), "--faults", FAULTS, "--population", "spread", "--quiet", "--out", str(mine)]
    _one_line_error(capsys, ["campaign", "run", *other, "--seed", "6"], "seed 5", "seed 6")
    _one_line_error(capsys, ["campaign", "run", *other[:-2], "--out", str(mine), "--seed", "5", "--faults", "jam"],
                    "faults")
    with sqlite3.connect(mine) as db:
        db.execute("UPDATE meta SET value = '\"0123456789abcdef\"' WHERE key = 'code'")
    _one_line_error(capsys, ["campaign", "run", *other, "--seed", "5"], "other simulator or firmware code")
    # unreadable results files
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_text("not a database at all\n" * 100)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    for path in (garbage, foreign, tmp_path / "missing.sqlite", tmp_path):
        _one_line_error(capsys, ["campaign", "report", str(path)], str(path))
        _one_line_error(capsys, ["campaign", "replay", str(path), "--run", "1"], str(path))
    _one_line_error(capsys, ["campaign", "run", "--runs", "3", "--out", str(garbage)], "garbage.sqlite")
    assert garbage.read_text().startswith("not a database")           # left as it was
    _one_line_error(capsys, ["campaign", "replay", str(reference), "--run", str(RUNS)], f"0..{RUNS - 1}")
    _one_line_error(capsys, ["campaign", "replay", "--index", "3"], "--seed")


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(campaign_cmd, "CONNECT_S", 2)
    out = tmp_path / "s.sqlite"
    _one_line_error(capsys, ["campaign", "run", "--runs", "3", "--scheduler", "tcp://127.0.0.1:9", "--out",
                             str(out)], "dask scheduler")
    assert not out.exists()                          # nothing ran: no results file left behind


def test_workers_with_other_code_are_refused() -> None:
    class Client:
        def __init__(self, answers: dict[str, str]) -> None:
            self.answers = answers

        def run(self, fn: Any) -> dict[str, str]:
            return self.answers

    mine = campaign.code_fingerprint()
    campaign_cmd._check_workers(Client({"tcp://a:1": mine, "tcp://b:1": mine}), "tcp://s:8786", mine)
    with pytest.raises(campaign_cmd.CampaignError, match="worker tcp://b:1 runs other simulator or firmware code"):
        campaign_cmd._check_workers(Client({"tcp://a:1": mine, "tcp://b:1": "0" * 16}), "tcp://s:8786", mine)
    with pytest.raises(campaign_cmd.CampaignError, match="changed while the campaign started"):
        campaign_cmd._check_workers(Client({"tcp://a:1": "0" * 16}), None, mine)
