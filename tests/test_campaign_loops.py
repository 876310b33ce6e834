"""`needlepen campaign loops`: closed vs open loop across a population of pens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from host_tools import cli
from sim import loop_spread


def test_closed_loop_holds_the_rate_across_pens_where_the_open_loop_does_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "loops.json"
    code = cli.main(["campaign", "loops", "--pens", "2", "--duration", "30", "--workers", "1",
                     "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "2 of 2 pens within ±2 %" in text
    data = json.loads(out.read_text())
    assert [p["pen"] for p in data["pens"]] == [0, 1]
    closed = data["table"]["controllers"]["closed-loop"]["levels"]
    open_ = data["table"]["controllers"]["open-loop"]["levels"]
    assert closed                                        # levels ran in skin
    for lv, c in closed.items():
        assert c["p95_worst_pct"] <= loop_spread.TARGET_PCT
        assert open_[lv]["p95_median_pct"] > 3 * c["p95_worst_pct"]


def test_pens_are_the_campaign_population_with_nominal_skin() -> None:
    from boards.virtual import BOARD
    from sim import campaign, population
    camp = campaign.Plan(5, population="spread").pen_kw(3)
    ours = loop_spread.pen_kw(5, 3)
    assert camp is not None
    skin = {name for (part, _), name in population.PLANT_KW.items() if part == "skin"}
    assert skin                                          # the plant has skin parameters to hold nominal
    for k, v in ours.items():
        if k in skin:
            assert v == population.nominal(BOARD)[k]
        else:
            assert v == camp[k], k                       # the same pen otherwise
    assert loop_spread.pen_kw(5, 3) == ours              # reproducible


@pytest.mark.parametrize("argv", [["--pens", "0"], ["--duration", "0.1"], ["--pens", "x"]])
def test_bad_input_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        code = cli.main(["campaign", "loops", *argv])
        raise SystemExit(code)
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
