# Board definitions load, validate, and refuse nonsense clearly.
from pen import board as boardlib

from rigs import raises

BOARD_MODULES = ("virtual", "pen_rp2040", "pen_rp2040_irqtach", "pen_esp32")


def load(name):
    return __import__("boards." + name, None, None, ["BOARD"]).BOARD


def copy(d):
    if isinstance(d, dict):
        return {k: copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [copy(v) for v in d]
    return d


def test_every_board_validates():
    for name in BOARD_MODULES:
        b = load(name)
        assert boardlib.check(b)
        assert b["name"]


def test_real_boards_have_the_pins_they_need():
    need = ("motor_pwm", "motor_brake", "motor_enable", "tach", "act_a", "act_b", "cart_present",
            "btn_power", "btn_speed_up", "btn_speed_down", "btn_depth_up", "btn_depth_down", "adc_current",
            "adc_depth_a", "adc_depth_b")
    for name in ("pen_rp2040", "pen_esp32"):
        pins = load(name)["pins"]
        for p in need:
            assert p in pins, (name, p)


def problem(edit):
    b = copy(load("pen_rp2040"))
    edit(b)
    return str(raises(boardlib.BoardError, boardlib.check, b))


def test_pin_used_twice():
    def edit(b):
        b["pins"]["btn_power"] = 2
    msg = problem(edit)
    assert "pin 2 used twice" in msg and "pen-rp2040" in msg


def test_speed_table_must_increase():
    def edit(b):
        b["motor"]["speed_levels_sps"] = [80, 120, 100]
    assert "must increase" in problem(edit)


def test_limits_must_be_ordered():
    def edit(b):
        b["depth"]["hard_min_um"] = 3000
    assert "hard_min_um" in problem(edit)


def test_cartridge_limits_and_names():
    def edit(b):
        b["cartridges"][1]["min_um"] = 2500
    assert "12-pin" in problem(edit)

    def edit2(b):
        b["cartridges"][1]["name"] = "nano"
    assert "unique" in problem(edit2)


def test_missing_entry_is_named():
    def edit(b):
        del b["battery"]["low_mv"]
    assert "battery.low_mv" in problem(edit)


def test_battery_levels_ordered():
    def edit(b):
        b["battery"]["critical_mv"] = 7000
    assert "critical_mv" in problem(edit)
