# Settings and the event log on flash: checksummed, written so that a power
# cut at any byte leaves the old or the new data, never garbage.
from pen import settings as settingslib
from pen import store
from pen.eventlog import EventLog, parse
from pen.settings import Settings

from rigs import Bench, FakeFS, PowerCut, raises


def saved_settings(values):
    fs = FakeFS()
    s = Settings("settings.rec", fs)
    s.load()
    for k, v in values.items():
        s.set(k, v)
    s.save()
    return fs


def test_settings_round_trip():
    fs = saved_settings({"level": 4, "depth_um": 750, "zone": "cheeks"})
    s = Settings("settings.rec", fs)
    assert s.load() and s.problems == []
    assert s.values["level"] == 4 and s.values["depth_um"] == 750 and s.values["zone"] == "cheeks"


def test_first_boot_has_defaults_and_no_problem():
    s = Settings("settings.rec", FakeFS())
    assert s.load()
    assert s.values == settingslib.defaults()


def test_power_cut_at_every_byte_of_a_settings_write():
    old = {"level": 2, "depth_um": 500, "zone": "forehead"}
    new = {"level": 5, "depth_um": 1000, "zone": "cheeks"}
    base = saved_settings(old)
    # how much work a full save takes
    probe = FakeFS(base.files, budget=10 ** 9)
    s = Settings("settings.rec", probe)
    s.load()
    for k, v in new.items():
        s.set(k, v)
    s.save()
    total = 10 ** 9 - probe.budget
    outcomes = set()
    for cut in range(total + 1):
        fs = FakeFS(base.files, budget=cut)
        s = Settings("settings.rec", fs)
        s.load()
        for k, v in new.items():
            s.set(k, v)
        try:
            s.save()
        except PowerCut:
            pass
        fs.budget = None                       # power back: reboot
        after = Settings("settings.rec", fs)
        after.load()
        got = {k: after.values[k] for k in old}
        assert got in (old, new), (cut, got, fs.files)
        outcomes.add(got == new)
        # and the next save still works
        after.set("level", 3)
        after.save()
        again = Settings("settings.rec", fs)
        assert again.load() and again.values["level"] == 3
    assert outcomes == {False, True}
    assert total > 100


def test_corrupt_settings_fall_back_to_defaults_and_say_so():
    fs = saved_settings({"level": 3})
    raw = bytearray(fs.files["settings.rec"])
    raw[-5] ^= 0x20                            # one flipped bit
    fs.files["settings.rec"] = bytes(raw)
    s = Settings("settings.rec", fs)
    assert not s.load()
    assert s.values == settingslib.defaults()
    assert "checksum" in " ".join(s.problems)


def test_garbage_and_empty_files():
    for junk in (b"", b"\x00\xff" * 40, b"NP1 x y z\n", b"NP1 5 00000000 {}\n", "NP1 1 0 ü\n".encode()):
        s = Settings("settings.rec", FakeFS({"settings.rec": junk}))
        assert not s.load()
        assert s.values == settingslib.defaults() and s.problems


def test_out_of_range_values_are_replaced_one_by_one():
    fs = FakeFS()
    st = store.Store("settings.rec", fs)
    st.save({"level": 99, "depth_um": 600, "zone": "moon", "hard_max_um": 9000, "auto_off_s": True})
    s = Settings("settings.rec", fs)
    assert not s.load()
    assert s.values["level"] == 1 and s.values["zone"] == "forehead"     # defaults
    assert s.values["depth_um"] == 600                                  # the valid one kept
    assert "hard_max_um" not in s.values                                 # limits are not settings
    text = " ".join(s.problems)
    assert "level" in text and "zone" in text and "unknown setting 'hard_max_um'" in text


def test_settings_never_raise_a_limit():
    b = Bench(zone="forehead", profile="home")
    s = Settings("settings.rec", FakeFS())
    s.load()
    s.values["depth_um"] = 2500                # a request beyond every cap
    s.apply(b.core)
    b.tick()
    assert b.core.limits()[1] == 500 and b.m[T_DEPTH_TARGET()] <= 500
    raises(ValueError, s.set, "cal_depth_a", 5000)   # calibration bounded


def T_DEPTH_TARGET():
    from pen import tick as T
    return T.S_DEPTH_TARGET


def test_event_log_round_trip_and_numbering():
    fs = FakeFS()
    log = EventLog("events.log", fs)
    assert log.open() == 0
    log.add(10, "boot", "reset=power")
    log.add(20, "fault", "stall")
    assert log.flush() == 2
    again = EventLog("events.log", fs)
    assert again.open() == 1                   # the next boot
    again.add(5, "boot", "")
    again.flush()
    events = again.read()
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert events[1]["kind"] == "fault" and events[1]["detail"] == "stall"
    assert events[2]["boot"] == 1


def test_power_cut_while_appending_loses_at_most_that_entry():
    fs = FakeFS()
    log = EventLog("events.log", fs)
    log.open()
    for i in range(5):
        log.add(i, "event", "number {}".format(i))
    log.flush()
    base = dict(fs.files)
    line_len = len(fs.files["events.log"]) // 5
    for cut in range(line_len + 2):
        f2 = FakeFS(base, budget=cut)
        lg = EventLog("events.log", f2)
        lg.open()
        lg.add(99, "fault", "overcurrent while writing")
        try:
            lg.flush()
        except PowerCut:
            pass
        f2.budget = None
        after = EventLog("events.log", f2)
        after.open()
        events = after.read()
        assert [e["detail"] for e in events[:5]] == ["number {}".format(i) for i in range(5)]
        assert len(events) in (5, 6)
        # logging goes on after the cut, nothing merged into the damaged line
        after.add(1, "boot", "after the cut")
        after.flush()
        assert after.read()[-1]["detail"] == "after the cut"


def test_log_rotates_and_keeps_recent_events():
    fs = FakeFS()
    log = EventLog("events.log", fs)
    log.open()
    for i in range(600):
        log.add(i, "event", "entry {} with some detail text".format(i))
        if i % 20 == 0:
            log.flush()
    log.flush()
    events = log.read()
    assert events[-1]["detail"].startswith("entry 599")
    assert len(events) > 100
    assert "events.log.1" in fs.files


def test_damaged_lines_are_skipped():
    assert parse("1 0 10 boot x*00000000\n") is None
    assert parse("garbage") is None
    assert parse("1 0 10 boot\n") is None


def test_latched_faults_survive_a_power_cycle():
    from pen import tick as T

    from rigs import linked_pen
    p = linked_pen()
    p.core.raise_fault(T.F_OVERTEMP)
    p.run_ms(1200)                         # latched, motor off: saved within a second
    assert p.app.settings.saved["latched"] & T.F_OVERTEMP
    # power cycle: a new pen on the same flash
    from pen.settings import Settings
    again = Settings("settings.rec", p.app.settings.store.fs)
    b = Bench()
    again.load()
    again.apply(b.core)
    b.tick(2)
    assert b.m[T.S_FAULTS] & T.F_OVERTEMP   # still latched
    assert not b.core.clear()              # cause gone: a deliberate clear works
    b.tick()
    assert b.m[T.S_FAULTS] == 0


def test_a_hung_loop_ends_in_a_watchdog_reset_and_a_safe_boot():
    from pen import tick as T
    from pen.app import WATCHDOG_MS

    from rigs import ask, linked_pen
    p = linked_pen()
    ask(p, "start")
    p.run_ms(1000)
    assert p.core.running() and p.plant.duty > 0
    unsupervised = p.hang(2000)            # the tick never returns
    assert unsupervised <= (WATCHDOG_MS + 10) * 1000
    assert p.boots == 1 and p.hal.cause == "watchdog"
    assert p.plant.duty == 0 and not p.plant.enable      # off from the reset on
    p.run_ms(50)
    assert p.m[T.S_FAULTS] & T.F_WATCHDOG and p.m[T.O_DUTY] == 0
    events = p.app.log.read()
    assert any(e["kind"] == "boot" and "reset=watchdog" in e["detail"] for e in events)
    assert "clear" and not ask(p, "start")[0].startswith("OK")


def test_run_only_faults_stay_latched_over_a_power_cycle():
    # over_depth, cartridge_used and cartridge_missing latch only while the
    # motor runs; restored at boot (motor at rest) they must latch all the same.
    from pen import tick as T
    for bit in (T.F_OVER_DEPTH, T.F_CART_USED, T.F_CART_MISSING, T.F_OVERTEMP):
        s = Settings("settings.rec", saved_settings({"latched": bit}))
        s.load()
        b = Bench()
        b.set_sensors()
        s.apply(b.core)
        b.tick(3)
        assert b.m[T.S_FAULTS] & bit and b.m[T.S_STATE] == T.ST_FAULT
        s.capture(b.core)
        assert s.values["latched"] & bit       # and the next save keeps it


def test_calibration_counts_only_when_signed_by_the_pens_key():
    from pen import tick as T
    key = bytes(range(32))
    for signer, applied in ((key, True), (None, False), (bytes(32), False)):
        s = Settings("settings.rec", FakeFS())
        s.load()
        s.key = key                  # a record this pen wrote (its safety state signed)
        s.save()
        s.load()
        s.set("cal_current", 300)
        if signer is not None:
            s.sign_calibration(signer)
        b = Bench()
        base = b.m[T.P_CUR_OFS]
        problem = s.apply(b.core, key)
        assert (b.m[T.P_CUR_OFS] == base + 300) == applied
        assert (problem is None) == applied
        if not applied:
            assert "not signed" in problem and s.values["cal_current"] == 0
    raises(ValueError, s.set, "cal_current", 2000)   # could hide a dead sensor


def test_the_safety_state_is_signed_and_a_forged_one_is_most_restrictive():
    # issue 13: latched faults and cartridge use edited with the pen off
    # (checksum recomputed) must not count; nor a deleted or unsigned record.
    from pen import tick as T
    key = bytes(range(32))
    fs = FakeFS()
    s = Settings("settings.rec", fs)
    s.load()
    s.key = key
    s.set("latched", T.F_OVERCURRENT)
    s.set("cart_use_s", 3590)
    s.save()
    genuine = Settings("settings.rec", fs)
    genuine.load()
    b = Bench()
    assert genuine.apply(b.core, key) is None and b.m[T.S_CART_USE_S] == 3590
    # the attacker's edit, with a valid checksum (pen.store encodes it)
    forged = dict(genuine.values, latched=0, cart_use_s=0)
    genuine.store.save(forged)
    cases = [("not signed", fs), ("missing", FakeFS())]
    for why, files in cases:
        t = Settings("settings.rec", files)
        t.load()
        b = Bench()
        problem = t.apply(b.core, key)
        assert problem and why in problem and "used up" in problem
        b.tick(3)
        assert b.m[T.S_FAULTS] & T.F_SETTINGS and b.m[T.S_STATE] == T.ST_FAULT
        b.core.clear()
        b.tick(2)
        assert b.m[T.S_FAULTS] == 0 and b.core.start_refusal() & T.R_CARTRIDGE   # still: a new cartridge
    # a pen without a key (never provisioned) has nothing to check against
    t = Settings("settings.rec", FakeFS())
    t.load()
    assert t.apply(Bench().core, None) is None


def test_a_power_cut_while_running_loses_no_cartridge_use():
    # issue 13: the use a run may reach is on flash before the motor starts
    # (the reservation), settled back to the true use after the stop.
    from pen import app as applib
    from pen import tick as T

    from rigs import FakeFS, ask, linked_pen
    fs = FakeFS()
    p = linked_pen(fs=fs)
    assert ask(p, "start") == ["OK start"]
    p.run_ms(3000)                                   # ~2-3 s of use, then the power goes
    ran = p.m[T.S_CART_USE_S]
    assert ran >= 2
    again = linked_pen(fs=fs)
    assert again.m[T.S_CART_USE_S] == applib.RESERVE_S >= ran     # the reservation: never less than ran
    assert any(e[1] == "cartridge" and "power lost while running" in e[2] for e in again.app.events)
    # a run that stops normally is settled: the next boot has the true use
    fs = FakeFS()
    p = linked_pen(fs=fs)
    assert ask(p, "start") == ["OK start"]
    p.run_ms(2500)
    assert ask(p, "stop") == ["OK stop"]
    p.run_ms(3000)
    used = p.m[T.S_CART_USE_S]
    again = linked_pen(fs=fs)
    assert again.m[T.S_CART_USE_S] == used


def test_a_run_that_reaches_its_reservation_stops_to_record_it():
    from pen import app as applib
    from pen import tick as T

    from rigs import ask, linked_pen
    old = applib.RESERVE_S
    applib.RESERVE_S = 2
    try:
        p = linked_pen()
        assert ask(p, "start") == ["OK start"]
        p.run_ms(3500)
        assert not p.core.running() and p.m[T.O_DUTY] == 0
        assert any(e[1] == "cartridge" and "checkpoint" in e[2] for e in p.app.events)
        p.run_ms(2500)                               # settled; a new start reserves again
        assert ask(p, "start") == ["OK start"]
    finally:
        applib.RESERVE_S = old


def test_a_start_is_refused_when_its_use_cannot_be_recorded():
    from pen import tick as T

    from rigs import FakeFS, ask, linked_pen
    fs = FakeFS()
    p = linked_pen(fs=fs)
    fs.budget = 0                                    # the flash fails from now on
    (ans,) = ask(p, "start")
    assert ans.startswith("ERR storage start refused: the cartridge's use could not be recorded")
    p.run_ms(50)
    assert p.m[T.O_DUTY] == 0 and not p.core.running()


def test_a_staged_signed_factory_state_is_taken_once_by_a_pen_without_settings():
    from pen import settings as settingslib
    from pen import store
    from pen import tick as T
    key = bytes(range(32))
    s = Settings("settings.init")
    s.key = key
    s.values["state_mac"] = s._state_mac(key)
    init = store.encode(1, s.values)
    fs = FakeFS({settingslib.INIT_PATH: init})
    t = Settings("settings.rec", fs)
    t.load()
    assert t.apply(Bench().core, key) is None                  # genuine: no fault
    assert settingslib.INIT_PATH not in fs.files               # taken once
    # a pen that has its own record ignores a staged one
    fs = FakeFS()
    own = Settings("settings.rec", fs)
    own.load()
    own.key = key
    own.set("cart_use_s", 1200)
    own.save()
    fs.files[settingslib.INIT_PATH] = init
    again = Settings("settings.rec", fs)
    again.load()
    b = Bench()
    assert again.apply(b.core, key) is None and b.m[T.S_CART_USE_S] == 1200
    assert settingslib.INIT_PATH in fs.files                   # not read, not removed
    # a forged one (no key to sign it) is the most restrictive state
    s.values["state_mac"] = ""
    fs = FakeFS({settingslib.INIT_PATH: store.encode(1, s.values)})
    t = Settings("settings.rec", fs)
    t.load()
    assert "not signed" in t.apply(Bench().core, key)
