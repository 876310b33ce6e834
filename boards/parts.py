# Parts fitted to every needlepen board: one motor and cam, one depth
# actuator, one battery pack, one set of cartridges.  Board files combine
# these with their own pins, ADC scaling and UI.

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


def pen_board(**own):
    """A board dict: the shared parts plus the board's own entries."""
    b = {
        "control_period_us": 1000,
        "pwm_hz": 20000,
        "heartbeat_timeout_ms": 500,
        "overrun_trip": 5,            # overruns in a row that raise loop_overrun
        "motor": dict(MOTOR),
        "depth": dict(DEPTH),
        "battery": dict(BATTERY_2S),
        "temperature": dict(TEMPERATURE),
        "cartridges": [dict(c) for c in CARTRIDGES],
    }
    b.update(own)
    return b
