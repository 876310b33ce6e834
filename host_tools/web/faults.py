"""What each fault means and how it clears, for the page: the table of
docs/faults.md (cause, threshold, "cause gone when"), which is not package
data.  tests/test_web.py checks this against docs/faults.md and the
firmware's fault names; after editing that table, paste what the test prints."""
# ruff: noqa: E501  (a generated table: one line per cell)

from __future__ import annotations

# name -> (cause, detection threshold, cause gone when)
FAULTS: dict[str, tuple[str, str, str]] = {
    'stall': ('no tach pulse while driven',
        'past 300 ms start grace, last pulse older than 4 expected stroke periods and 20 ms',
        'motor commanded off'),
    'overcurrent': ('jam, short, sensor stuck high',
        "current > 2000 mA for 20 consecutive ticks (the duty is held, not raised, above 1600 mA while the motor speeds up: a heavy rotor's acceleration stays below the trip)",
        'current ≤ 2000 mA'),
    'overtemp': ('motor winding too hot',
        'filtered temperature (64 ms) > 70 °C, judged every 8 ms',
        'below 60 °C (10 °C hysteresis)'),
    'battery_critical': ('empty or worn battery',
        "average voltage (64 ms) < 6.2 V + the reading's guard band (the board's accuracy + 3σ of the averaged noise: 27 mV rev A RP2040, 53 mV ESP32), leaky count (+1 below, −1 above) reaching 500 ms; judged every 8 ms",
        '≥ 6.5 V (300 mV hysteresis)'),
    'cartridge_missing': ('cartridge out or unknown type, while running',
        "switch open or ID not in the board's table",
        'a known cartridge seated'),
    'cartridge_used': ('cartridge run time reached its limit, while running',
        'usage ≥ `max_use_s` (3600 s)',
        'a new cartridge (usage restarts at insertion; after a used-up one of the same type, once confirmed new: `cartridge new` or speed + and - held 2 s, since the board tells types apart, not cartridges)'),
    'depth_disagree': ('a depth sensor broken or stuck',
        'the two sensors differ by > 150 µm for 20 ms',
        'they agree again'),
    'over_depth': ('actuator runaway, while running',
        'deeper sensor > active limit + 100 µm for 5 ms',
        'depth back inside (the actuator retracts on the fault)'),
    'tach_mismatch': ('lost or extra tach pulses',
        "tach rate vs back-EMF rate `(duty·Vbat − I·R)/Ke` with the pen's own Ke (learned in the first 250 ms of steady running after boot, within the declared ±20 %; until then the nominal Ke and 25 % more allowed), difference low-pass filtered (64 ms), beyond 15 % + 10 strokes/s + what the winding resistance's ±10 % makes of I·R (1.4 A: 14 strokes/s); leaky count (+1/−1) reaching 200 ms; not judged below the tach's rate while the PI brakes (current < 40 mA, rate above the setpoint and not rising)",
        'motor commanded off'),
    'current_sensor': ('current sensor dead (reads zero)',
        'below 40 mA for 200 ms while running with the stroke rate fallen less than 80 % of the least a coasting pen inside the tolerances slows in 200 ms (x3 inertia, least friction: 3.7 strokes/s at 80 strokes/s, 4.8 at 200; `boards/parts.py` `coast_decline`: 2.37 strokes/s + 0.74 % of the rate)',
        'motor commanded off'),
    'loop_overrun': ('control step too slow while the motor runs',
        "leaky bucket: +20 per overrun while the motor runs, −1 per good tick, trips at 100 (5 overruns in a row, the board's `overrun_trip`; on the virtual pen and in the simulator the step's duration is simulated, so only an injected `loop_overrun` trips it, never a busy host). Overruns at rest are counted, not judged: a flash write with the motor stopped stalls an RP2040 for tens of ms",
        'bucket drained'),
    'clock': ('the control clock jumped back, or the loop stood still > 50 ms while running',
        'a tick starting more than a period before its deadline, or more than 50 ms after it',
        'the next tick'),
    'watchdog': ('background loop stopped, or a hardware watchdog reset',
        'heartbeat unchanged for 500 ticks; at boot: reset cause was the hardware watchdog (500 ms; fed by the tick only while the loop and the background are healthy). A planned reset (`reset`, `maintenance`, `needlepen deploy`) is marked and not taken for one',
        'heartbeat back'),
    'settings': ("settings file corrupt or invalid, or (on a pen with a key) its safety state not signed by the pen's key: edited, unsigned or missing",
        'at boot, checksum or range check fails (safe defaults loaded); a safety state that fails its signature is replaced by the most restrictive one (this fault latched, the fitted cartridge taken as used up)',
        'acknowledged by the clear; the cartridge needs replacing'),
    'integrity': ('firmware files differ from the signed manifest, an unlisted firmware file, a cut-off deploy, a bad limit override',
        'at boot',
        'never by a clear: the cause is held until a reboot finds the files matching (deploy again)'),
    'storage': ('the settings or the event log could not be written (write error, full or damaged filesystem, flash that does not take writes): latched faults and cartridge use would not survive a power cycle',
        'a write (only with the motor stopped) raised; `status` and `info` give the error in `storage`, the log says `storage`',
        'a later write succeeds (retried every second while the motor is stopped)'),
    'internal': ('an exception escaped the firmware loop',
        "the loop's exception handler: motor off, `crash` logged, `internal` stored in the latched set; the watchdog resets the pen",
        'acknowledged by the clear'),
    'shortfall': ("the motor cannot reach the level's stroke rate: a drag on the cam, a worn motor, skin beyond the design load, a weak battery",
        "with the duty saturated (at its maximum, or held at the current limit), the stroke rate (filtered, 64 ms) more than 15 % short of the level's, leaky count reaching 3 s; first a warning (`shortfall`, below)",
        'motor commanded off'),
}

CLEARING = ("A latched fault clears only when its cause is gone, the motor is commanded off, and someone "
            "asks: a long press (1.5 s) of the power button, or Clear.  After a clear the motor stays off "
            "until an explicit start.")


def firmware_lines() -> dict[str, str]:
    """The firmware's own one line per fault (pen/faults.py): what the page
    shows for a fault that docs/faults.md does not describe (yet)."""
    import pen  # noqa: F401  (the MicroPython stand-ins)
    from pen import faults
    return {name: text for _, name, text in faults.FAULTS}
