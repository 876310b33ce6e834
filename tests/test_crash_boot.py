"""An exception escaping the firmware loop: motor off, logged, and the
`internal` fault latched again after the watchdog reset (acknowledged by a
clear, never forgotten by the reset)."""

import pytest


def test_a_crash_latches_internal_over_the_reset(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from boards import virtual
    from pen import startup
    from pen import tick as T
    from pen.app import App
    from pen.settings import Settings

    from rigs import Bench, FakeLink

    monkeypatch.chdir(tmp_path)
    board = virtual.BOARD

    def boom(self, ticks=0):
        raise RuntimeError("test crash")

    monkeypatch.setattr(App, "run", boom)
    monkeypatch.setattr("pen.link.StdioLink", FakeLink)       # pytest owns stdin
    app = startup.run(board)
    assert app is not None and app.hal.plant.duty == 0          # motor off
    assert "crash" in (tmp_path / "events.log").read_text()
    # after the reset: the fault is back, and a clear acknowledges it
    again = Settings()
    again.load()
    assert again.values["latched"] & T.F_INTERNAL
    b = Bench()
    again.apply(b.core)
    b.tick(2)
    assert b.m[T.S_FAULTS] & T.F_INTERNAL and b.m[T.S_STATE] == T.ST_FAULT
    assert not b.core.clear()                                  # no cause: acknowledged
    b.tick()
    assert b.m[T.S_FAULTS] == 0
