"""A smaller run of the fault-injection campaign (bench/campaign.py runs
thousands): every fault type, random times, speeds, depths and loads; any
violation fails the suite."""

import os

import pytest

from sim import campaign

RUNS = int(os.environ.get("NEEDLEPEN_CAMPAIGN_RUNS", "255"))


@pytest.fixture(scope="module")
def results() -> list:
    return campaign.campaign(RUNS, seed=7)


def test_no_violations(results: list) -> None:
    bad = [(r.kind, r.level, r.depth_um, r.tissue, r.violations) for r in results if r.violations]
    assert not bad, "\n".join(map(str, bad[:20]))


def test_every_fault_type_was_injected_and_detected(results: list) -> None:
    rows = {row["fault"]: row for row in campaign.table(results)}
    assert set(rows) == set(campaign.SPECS)
    for row in rows.values():
        assert row["detected"] >= row["runs"] - row["not_provoked"] > 0, row
        assert row["worst_reaction_ticks"] == 0, row
        assert row["worst_detect_ms"] <= row["bound_ms"], row
