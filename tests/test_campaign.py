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
    # and 700 ms (450 until the 10^5 campaign; docs/faults.md), and they are caught.
    from sim import campaign as C
    plan = C.Plan(seed=1, population="spread")
    for index, kind, first in ((62, "jam", "overcurrent"), (449, "current_sensor_dead", "current_sensor")):
        r = C.run(plan.spec(index))
        assert r.kind == kind and r.first == first and not r.violations, (index, r.violations)
        assert r.bound_ms in (300, 700) and r.detect_ms <= r.bound_ms


# Every violation of the first 10^5-run population campaign (seed 1,
# spread; issue 15), each caught again here.  What was wrong:
# - current sensor dead on pens settling slowly from an overshoot (heavy
#   rotor, or a low Ke): the check restarted whenever the rate fell 1 % in
#   200 ms; a coasting pen falls at least 3.7-4.8 strokes/s (from the
#   tolerances: boards/parts.py coast_decline), so 80 % of that now;
# - ... and while the PI brakes such an overshoot the motor draws no
#   current at all: nothing to detect (the campaign's onset is now the
#   current flowing again);
# - tach_mismatch in normal running on a heavily loaded pen at level 1
#   (1.4 A): the winding resistance's 10 % tolerance moves the back-EMF
#   estimate by 14 strokes/s; it is now part of the allowed difference;
# - lost pulses stopped by over-current or by the current check (the PI
#   over-driving, then braking the motor): a right stop by another name;
# - a 3.0 ms step: loop_overrun after 21 ms against a flat 20 ms bound
#   (6 steps of 4 ms: the bound now follows the step's length).
# And of the second (after those fixes), one:
# - lost pulses the decoder kept within 15 % but for brief excursions:
#   when the 60 s ran out during one, the run was reported as "condition
#   held 2550 ms without detection"; it held < 300 ms: not provoked.
# And of the third, the one in docs/safety.md, two:
# - an actuator running away in stiff skin (forehead, scar) loaded the
#   motor past 2 A: overcurrent stopped it, and the needles retracted,
#   before the depth passed the limit; over_depth was the only name
#   expected;
# - a dead current sensor on a x2.57 rotor settling from an overshoot in
#   scar tissue: the skin's load slows a driven motor as fast as coasting,
#   so the check waits until the rate settles, 600 ms (the heavy-rotor
#   bound was 450 ms, now 700: the check judges the rate, not the current);
# - a stuck depth sensor 26 ms against 25 ms: the depth crossed the 150 um
#   threshold slowly, and the other sensor's noise reset the count; the
#   onset is now past the threshold by 3 sigma of that noise.
POPULATION_REGRESSIONS = {
    1809: "current_sensor", 1979: "current_sensor", 2200: "current_sensor", 2778: "current_sensor",
    6314: "current_sensor", 9561: "current_sensor", 12230: "current_sensor", 13216: "current_sensor",
    5651: "current_sensor", 5654: "depth_disagree",                     # faulted tach_mismatch before
    72716: "current_sensor", 77394: "depth_disagree",                   # the third campaign
    4059: "overcurrent", 6303: "current_sensor",                        # lost pulses
    10110: "loop_overrun",
}
THIRD_CAMPAIGN = {37451: "overcurrent", 40919: "overcurrent", 75905: "overcurrent", 83878: "overcurrent",
                  85799: "overcurrent"}
NOT_PROVOKED = (25020,)


@pytest.mark.parametrize("index", sorted(POPULATION_REGRESSIONS))
def test_population_campaign_violations_stay_fixed(index: int) -> None:
    plan = campaign.Plan(seed=1, population="spread")
    r = campaign.run(plan.spec(index))
    assert not r.violations, r.violations
    assert r.first == POPULATION_REGRESSIONS[index]
    assert r.detect_ms is not None and r.detect_ms <= r.bound_ms


@pytest.mark.parametrize("index", NOT_PROVOKED)
def test_brief_excursions_are_not_a_missed_detection(index: int) -> None:
    plan = campaign.Plan(seed=1, population="spread")
    r = campaign.run(plan.spec(index))
    assert not r.violations, r.violations
    assert r.not_provoked and r.first is None


@pytest.mark.parametrize("index", sorted(THIRD_CAMPAIGN))
def test_a_runaway_stopped_by_overcurrent_before_the_limit_is_a_right_stop(index: int) -> None:
    plan = campaign.Plan(seed=1, population="spread")
    r = campaign.run(plan.spec(index))
    assert r.kind == "actuator_runaway" and r.first == THIRD_CAMPAIGN[index]
    assert not r.violations, r.violations
    assert r.detect_ms == 0.0                  # latched before the depth passed the limit
