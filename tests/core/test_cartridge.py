# Used-up cartridges (issue 13): the board identifies a cartridge's type
# only, so a used-up cartridge put back cannot be told from a new one of its
# type.  The pen therefore locks the type once a cartridge of it is used up:
# one seated after counts as used up until the practitioner confirms it is
# new (`cartridge new`, or speed + and - held 2 s), and the lock survives a
# power cycle (signed with the safety state).
from pen import tick as T
from pen.hal import B_SPEED_DOWN, B_SPEED_UP

from rigs import FakeFS, ask, linked_pen


def _use_up(p):
    p.m[T.S_CART_USE_S] = 3600          # the counter reached the type's limit
    p.run_ms(50)


def _reseat(p):
    p.plant.cart_present = False
    p.run_ms(100)
    p.plant.cart_present = True
    p.run_ms(100)


def test_a_used_up_cartridge_put_back_stays_refused_until_a_new_one_is_confirmed():
    fs = FakeFS()
    p = linked_pen(fs=fs)
    _use_up(p)
    assert p.core.start_refusal() & T.R_CARTRIDGE
    assert p.core.cart_locked & (1 << p.core.seated_cartridge())
    _reseat(p)                           # pulled and put back (or a new one: the pen cannot tell)
    assert p.m[T.S_CART_USE_S] >= 3600 and p.core.start_refusal() & T.R_CARTRIDGE
    (ans,) = ask(p, "start")
    assert ans.startswith("ERR refused") and "cartridge" in ans
    # across a power cycle too
    p.run_ms(1200)
    again = linked_pen(fs=fs)
    assert again.core.cart_locked == p.core.cart_locked
    _reseat(again)
    assert again.core.start_refusal() & T.R_CARTRIDGE
    # the practitioner confirms a new one: use 0, the type unlocked
    assert ask(again, "cartridge new") == ["OK cartridge 12-pin new: use 0 s"]
    again.run_ms(20)
    assert again.m[T.S_CART_USE_S] == 0 and again.core.cart_locked == 0
    assert ask(again, "start") == ["OK start"]
    (ans,) = ask(again, "cartridge new")
    assert ans == "ERR refused stop the motor first"


def test_new_cartridge_by_the_buttons():
    p = linked_pen()
    _use_up(p)
    _reseat(p)
    assert p.core.start_refusal() & T.R_CARTRIDGE
    p.hal.held = B_SPEED_UP | B_SPEED_DOWN
    p.run_ms(1500)
    assert p.core.cart_locked != 0       # not yet: 2 s
    p.run_ms(700)
    p.hal.held = 0
    p.run_ms(50)
    assert p.core.cart_locked == 0 and p.m[T.S_CART_USE_S] == 0
    assert not p.core.start_refusal() & T.R_CARTRIDGE
    assert any(e[1] == "cartridge" and "confirmed (buttons)" in e[2] for e in p.app.events)


def test_a_fresh_cartridge_of_another_type_is_not_locked():
    p = linked_pen()
    _use_up(p)
    p.plant.cart_present = False
    p.run_ms(100)
    p.plant.cart_type = 3                # a 36-pin
    p.plant.cart_present = True
    p.run_ms(100)
    assert p.m[T.S_CART_USE_S] == 0 and not p.core.start_refusal() & T.R_CARTRIDGE
