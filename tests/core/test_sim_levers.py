# The simulator's fault levers (`sim fault <kind> <value>` on the virtual pen,
# [[event]] do = "fault" in scenarios): every value is checked against the
# kind's range before it reaches the plant, so no value can crash the pen.
from sim import faults

BAD = ("nan", "inf", "-inf", "-1e9", "1e9", "abc", "", "0x10", "1,5", "--1")


def test_every_kind_refuses_bad_values_with_the_allowed_range():
    for name, kind in faults.KINDS.items():
        for text in BAD:
            try:
                kind.check(text)
            except ValueError as e:
                assert str(e), name
                continue
            raise AssertionError("{} accepted {!r}".format(name, text))


def test_every_kind_takes_its_default_and_its_bounds():
    for name, kind in faults.KINDS.items():
        assert kind.check(None) == kind.default, name
        if kind.takes_value():
            for v in (kind.lo, kind.hi, str(kind.lo), str(kind.hi)):
                got = kind.check(v)
                assert kind.lo <= got <= kind.hi, (name, v)
                if kind.integer:
                    assert isinstance(got, int), (name, v)


def test_whole_number_levers_refuse_fractions():
    assert faults.KINDS["loop_overrun"].check("1500") == 1500
    assert isinstance(faults.KINDS["loop_overrun"].check(1500.0), int)
    for name in ("loop_overrun", "jitter", "cartridge_used", "tach_open"):
        try:
            faults.KINDS[name].check("0.5")
        except ValueError as e:
            assert "whole number" in str(e)
        else:
            raise AssertionError(name)
