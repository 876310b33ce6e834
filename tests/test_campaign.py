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


def test_heavy_rotor_runs_that_missed_their_bounds_are_caught_within_the_off_spec_bounds() -> None:
    # Regressions from the first population campaign (seed 1, spread): a jam
    # on rotors x2.5-x2.8 latched over-current after 205-258 ms, a dead current
    # sensor after 400 ms; inside the declared tolerances the bounds are 300
    # and 450 ms (docs/faults.md), and they are caught.
    from sim import campaign as C
    plan = C.Plan(seed=1, population="spread")
    for index, kind, first in ((62, "jam", "overcurrent"), (449, "current_sensor_dead", "current_sensor")):
        r = C.run(plan.spec(index))
        assert r.kind == kind and r.first == first and not r.violations, (index, r.violations)
        assert r.bound_ms in (300, 450) and r.detect_ms <= r.bound_ms
