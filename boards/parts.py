# Parts fitted to every needlepen board: one motor and cam, one depth
# actuator, one battery pack, one set of cartridges.  Board files combine
# these with their own pins, ADC scaling and UI.
import math

# Coreless DC motor, 2.5 ohm, Ke = Kt = 4 mV/(rad/s); one needle stroke per
# revolution, so 25.1 mV per stroke/s of back-EMF.  Gains tuned in the
# simulator (docs/control.md).
MOTOR = {
    "speed_levels_sps": [80, 100, 120, 140, 170, 200],
    "tach_pulses_per_rev": 2,
    "kp": 8.0, "ki": 0.06,
    "ff_mv_per_sps": 25.1, "ff_offset_mv": 310,
    "duty_max": 62000, "soft_start_ms": 300, "ramp_sps_per_s": 500,
    "stall_periods": 4, "stall_min_ms": 20, "start_grace_ms": 300,
    "overcurrent_ma": 2000, "overcurrent_ms": 20,
    # speed plausibility: tach vs back-EMF (filtered) within 15 % + 10 sps, else a fault after 200 ms
    "resistance_ohm": 2.5, "tach_check_pct": 15, "tach_check_sps": 10, "tach_check_ms": 200,
    # the motor's friction alone draws ~100 mA: a reading under 40 mA while it turns is a dead sensor
    "min_running_ma": 40,
    # the pen's own back-EMF constant, learned once per boot: 250 ms of steady running below 400 mA
    "ke_learn_ms": 250, "ke_learn_max_ma": 400,
    # the duty does not rise above 1.6 A (a heavy rotor accelerates slower instead of tripping 2 A)
    "current_limit_ma": 1600,
    # stroke-rate shortfall with the duty saturated: warning past 3 % for 1 s, fault past 15 % for 3 s
    "shortfall_warn_pct": 3, "shortfall_warn_ms": 1000, "shortfall_fault_pct": 15, "shortfall_fault_ms": 3000,
}

# Lead-screw depth actuator, two hall position sensors.
DEPTH = {
    "hard_min_um": 200, "hard_max_um": 2500, "tolerance_um": 100,
    "sensors": 2, "disagree_um": 150, "disagree_ms": 20, "over_depth_ms": 5,
    "actuator": {"kp": 65.0, "duty_max": 40000, "deadband_um": 10},
}

BATTERY_2S = {"low_mv": 6600, "critical_mv": 6200, "hysteresis_mv": 300, "critical_ms": 500}

TEMPERATURE = {"limit_c": 70, "hysteresis_c": 10}

# Cartridge type = its code (1..n, in this order); 0 means none or unknown.
CARTRIDGES = [
    {"name": "nano", "min_um": 200, "max_um": 500, "max_use_s": 3600},
    {"name": "12-pin", "min_um": 200, "max_um": 2000, "max_use_s": 3600},
    {"name": "36-pin", "min_um": 200, "max_um": 1500, "max_use_s": 3600},
    {"name": "42-pin", "min_um": 200, "max_um": 1000, "max_use_s": 3600},
    {"name": "3-pin", "min_um": 200, "max_um": 2500, "max_use_s": 3600},
]


# ADC scaling of the rev A analog front end read by a 3.3 V ADC:
# value = (counts - offset) * full_scale / 65536, counts from read_u16().
ADC_3V3 = {
    "current": {"full_scale": 5000, "offset": 0},          # mA, shunt amplifier
    "battery": {"full_scale": 13200, "offset": 0},         # mV, 1:4 divider
    "temperature": {"full_scale": 3300, "offset": 9930},   # 0.1 C: 10 mV/C, 0.5 V at 0 C
    "depth_a": {"full_scale": 3000, "offset": 2000},       # um, hall sensor A
    "depth_b": {"full_scale": 3000, "offset": 1500},       # um, hall sensor B
}


# Tolerances: the spread of real pens built from these parts, one place per
# board ("tolerances" in the board dict).  Each entry (nominal, min, max) in
# the unit its name says.  Every fault check must hold for any pen inside
# them (docs/faults.md, "Tolerances"); sim/population.py draws simulated
# pens from them, tests/test_tolerance.py and bench/tolerance.py sweep them.
TOLERANCES = {  # type: dict
    # Motor and cam: the motor maker's +-10 % on the constants, the magnets'
    # -0.12 %/K up to the 70 C winding limit (-5 %), and the cam and needle
    # carrier (heavier carriers, cartridges' own friction).
    "motor": {
        "ke_v_s": (0.004, 0.0032, 0.0048),            # back-EMF = torque constant: +-20 %
        "resistance_ohm": (2.5, 2.25, 2.75),          # winding, +-10 %
        "friction_nm": (4.0e-4, 2.8e-4, 6.0e-4),      # Coulomb: -30 % .. +50 %
        "viscous_nm_s": (2.0e-7, 1.4e-7, 3.0e-7),     # -30 % .. +50 %
        "inertia_kg_m2": (1.0e-6, 0.7e-6, 3.0e-6),    # rotor + cam + carrier: x0.7 .. x3
    },
    # 2S Li-ion pack: internal resistance new to worn, capacity.
    "battery": {
        "r_int_ohm": (0.15, 0.10, 0.30),
        "capacity_mah": (800.0, 560.0, 880.0),
    },
    # Sensors as the ADC sees them, after the board's calibration: battery
    # reading within +-accuracy_mv (gain and offset together) with noise of
    # noise_mv (sigma, per sample); current sensor gain and offset.
    "sensors": {
        "battery_accuracy_mv": 20,
        "battery_noise_mv": 8.0,
        "current_gain": (1.0, 0.95, 1.05),
        "current_offset_ma": (0.0, -20.0, 20.0),
    },
    # Skin: the load the needles meet, a multiplier on the simulator's
    # tissue stiffnesses (sim.plant.TISSUES); x2 is the stiffest skin the
    # pen must still run in, with its stroke-rate shortfall warning.
    "skin": {"load": (1.0, 0.5, 2.0)},
}


def _pct(spec):
    # the larger relative spread of (nominal, min, max), in whole percent (rounded up)
    nom, lo, hi = spec
    return int(-(-round(max(hi / nom - 1, 1 - lo / nom) * 100, 3) // 1))


def coast_decline(tol, window_ms, margin=0.8):
    """The least any pen inside the tolerances slows down while coasting (no
    current: Coulomb and viscous friction alone; least friction, heaviest
    rotor) in window_ms, times `margin`: (strokes/s, plus per mille of the
    rate).  A motor whose rate fell less than this while its current
    sensor read nothing was driven: the sensor is dead (pen.tick)."""
    m = tol["motor"]
    tau, b, j = m["friction_nm"][1], m["viscous_nm_s"][1], m["inertia_kg_m2"][2]
    dt = window_ms / 1000
    # d(omega)/dt = -(tau + b omega) / J, omega = 2 pi * strokes/s (one stroke a turn)
    return margin * tau / j * dt / (2 * math.pi), margin * b / j * dt * 1000


def pen_board(**own):
    """A board dict: the shared parts plus the board's own entries."""
    tol = {k: dict(v) for k, v in TOLERANCES.items()}
    for part, spread in own.pop("tolerances", {}).items():     # the board's own, per entry
        tol[part].update(spread)
    motor = dict(MOTOR)
    # what the firmware must cover of the spread (pen.board checks them)
    motor["ke_tolerance_pct"] = _pct(tol["motor"]["ke_v_s"])
    motor["resistance_tolerance_pct"] = _pct(tol["motor"]["resistance_ohm"])
    # whole numbers (a pen's floats are single precision), rounded down: a stricter "held"
    sps, per_mille = coast_decline(tol, motor["tach_check_ms"])
    motor["coast_decline_chz"] = math.floor(sps * 100)                  # strokes/s * 100
    motor["coast_decline_pm10"] = math.floor(per_mille * 10)            # 1/10000 of the rate
    battery = dict(BATTERY_2S)
    battery["accuracy_mv"] = tol["sensors"]["battery_accuracy_mv"]
    battery["noise_mv"] = tol["sensors"]["battery_noise_mv"]
    b = {
        "control_period_us": 1000,
        "pwm_hz": 20000,
        "heartbeat_timeout_ms": 500,
        "overrun_trip": 5,            # overruns in a row that raise loop_overrun
        "motor": motor,
        "depth": dict(DEPTH),
        "battery": battery,
        "temperature": dict(TEMPERATURE),
        "cartridges": [dict(c) for c in CARTRIDGES],
        "tolerances": tol,
    }
    b.update(own)
    return b
