# Board definitions: validate the plain dict a board file holds and turn it
# into the integer parameters the tick uses.  Runs once at boot.
from pen import tick as T


class BoardError(ValueError):
    pass


def _get(d, path):
    node = d
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise BoardError("missing '{}'".format(path))
        node = node[key]
    return node


def _num(d, path, lo, hi):
    v = _get(d, path)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BoardError("'{}' must be a number, not {!r}".format(path, v))
    if v < lo or v > hi:
        raise BoardError("'{}' = {} is outside {}..{}".format(path, v, lo, hi))
    return v


def _int(d, path, lo, hi):
    return int(_num(d, path, lo, hi))


def _q16(full_scale):
    # ADC counts (0..65535) to units: (raw - ofs) * q16 >> 16.
    q = int(round(full_scale * 65536 / 65535))
    if not 1 <= q <= 32767:
        raise BoardError("ADC full scale {} too large for the tick's Q16 maths".format(full_scale))
    return q


def check(b):
    """Raise BoardError naming the first problem in board dict `b`."""
    name = b.get("name", "?") if isinstance(b, dict) else "?"
    try:
        return _check(b)
    except BoardError as e:
        raise BoardError("board '{}': {}".format(name, e))


def _check(b):
    if not isinstance(b, dict):
        raise BoardError("a board definition is a dict")
    for key in ("name", "port"):
        if not isinstance(_get(b, key), str):
            raise BoardError("'{}' must be a string".format(key))
    period = _int(b, "control_period_us", 250, 10000)
    _int(b, "overrun_trip", 2, 50)
    if b.get("tach_input", "pio") not in ("pio", "irq"):
        raise BoardError("'tach_input' must be 'pio' or 'irq', not {!r}".format(b.get("tach_input")))
    if "serial_bytes_per_beat" in b:
        _int(b, "serial_bytes_per_beat", 16, 2048)
    if "serial_chunk" in b:
        _int(b, "serial_chunk", 1, 2048)
    _int(b, "pwm_hz", 1000, 100000)
    levels = _get(b, "motor.speed_levels_sps")
    if not isinstance(levels, (list, tuple)) or not 1 <= len(levels) <= T.MAX_LEVELS:
        raise BoardError("'motor.speed_levels_sps' needs 1..{} levels".format(T.MAX_LEVELS))
    prev = 0
    for v in levels:
        if not isinstance(v, int) or not 20 <= v <= 400:
            raise BoardError("speed level {!r} is not a whole number of strokes/s in 20..400".format(v))
        if v <= prev:
            raise BoardError("'motor.speed_levels_sps' must increase: {} after {}".format(v, prev))
        prev = v
    lo = _int(b, "depth.hard_min_um", 0, 5000)
    hi = _int(b, "depth.hard_max_um", 0, 5000)
    if lo >= hi:
        raise BoardError("depth.hard_min_um ({}) must be below depth.hard_max_um ({})".format(lo, hi))
    if _int(b, "depth.sensors", 1, 2) == 1 and "depth_b" in b.get("adc", {}):
        raise BoardError("'adc.depth_b' given but depth.sensors is 1")
    carts = _get(b, "cartridges")
    if not isinstance(carts, (list, tuple)) or not 1 <= len(carts) <= T.MAX_CARTS:
        raise BoardError("'cartridges' needs 1..{} types".format(T.MAX_CARTS))
    seen = []
    for c in carts:
        cname = c.get("name") if isinstance(c, dict) else None
        if not isinstance(cname, str) or cname in seen:
            raise BoardError("each cartridge needs a unique name (got {!r})".format(cname))
        seen.append(cname)
        cmin = _int(c, "min_um", 0, 5000)
        cmax = _int(c, "max_um", 0, 5000)
        if cmin >= cmax:
            raise BoardError("cartridge '{}': min_um must be below max_um".format(cname))
        _int(c, "max_use_s", 1, 36000)
    if _num(b, "battery.critical_mv", 1000, 30000) >= _num(b, "battery.low_mv", 1000, 30000):
        raise BoardError("battery.critical_mv must be below battery.low_mv")
    for key in ("current", "battery", "temperature", "depth_a"):
        _num(b, "adc." + key + ".full_scale", 1, 32767)
        _int(b, "adc." + key + ".offset", 0, 65535)
    _int(b, "motor.tach_pulses_per_rev", 1, 64)
    _num(b, "motor.resistance_ohm", 0.1, 20)
    _int(b, "motor.tach_check_pct", 5, 100)
    _num(b, "motor.tach_check_sps", 1, 100)
    _int(b, "motor.tach_check_ms", 10, 5000)
    _int(b, "motor.min_running_ma", 0, 2000)
    # the pen's spread (docs/faults.md, "Tolerances")
    _int(b, "motor.ke_tolerance_pct", 0, 50)
    _int(b, "motor.resistance_tolerance_pct", 0, 50)
    _int(b, "motor.coast_decline_chz", 0, 10000)
    _int(b, "motor.coast_decline_pm10", 0, 1000)
    _num(b, "motor.ke_learn_ms", 10, 4000)
    _int(b, "motor.ke_learn_max_ma", 50, 5000)
    if _int(b, "motor.current_limit_ma", 100, 30000) >= _num(b, "motor.overcurrent_ma", 100, 30000):
        raise BoardError("motor.current_limit_ma must be below motor.overcurrent_ma")
    _int(b, "motor.shortfall_warn_pct", 1, 100)
    _num(b, "motor.shortfall_warn_ms", 10, 60000)
    _int(b, "motor.shortfall_fault_pct", 1, 100)
    _num(b, "motor.shortfall_fault_ms", 10, 60000)
    _int(b, "battery.accuracy_mv", 0, 1000)
    _num(b, "battery.noise_mv", 0, 1000)
    _num(b, "motor.ff_mv_per_sps", 1, 1000)
    # Bounds that keep every product in the tick inside +-2**31 on a 32-bit
    # port (docs/control.md, "32-bit arithmetic"): not tuning advice.
    _num(b, "motor.kp", 0, 100)
    _num(b, "motor.ki", 0, 10)
    _num(b, "motor.ff_offset_mv", 0, 20000)
    _num(b, "motor.ramp_sps_per_s", 1, 100000)
    _int(b, "motor.stall_periods", 1, 100)
    _num(b, "motor.stall_min_ms", 1, 5000)
    _num(b, "motor.start_grace_ms", 0, 10000)
    _int(b, "motor.overcurrent_ma", 100, 30000)
    _num(b, "motor.overcurrent_ms", 1, 1000)
    _num(b, "temperature.limit_c", 0, 200)
    _num(b, "temperature.hysteresis_c", 0, 50)
    if _int(b, "battery.hysteresis_mv", 0, 5000) < guard_mv(b):
        raise BoardError("battery.hysteresis_mv must cover the reading's accuracy and noise ({} mV)".format(
            guard_mv(b)))
    _num(b, "battery.critical_ms", 10, 60000)
    _int(b, "depth.tolerance_um", 0, 1000)
    _int(b, "depth.disagree_um", 1, 5000)
    _num(b, "depth.disagree_ms", 1, 1000)
    _num(b, "depth.over_depth_ms", 1, 1000)
    if b["depth"].get("actuator"):
        _num(b, "depth.actuator.kp", 0, 255)
        _int(b, "depth.actuator.duty_max", 0, 65535)
        _int(b, "depth.actuator.deadband_um", 0, 1000)
    if "heartbeat_timeout_ms" in b:
        _int(b, "heartbeat_timeout_ms", 10, 5000)
    _int(b, "motor.duty_max", 1000, 65535)
    soft = _num(b, "motor.soft_start_ms", 10, 5000)
    if soft * 1000 < period:
        raise BoardError("motor.soft_start_ms shorter than one control period")
    pins = b.get("pins", {})
    if not isinstance(pins, dict):
        raise BoardError("'pins' must be a dict of name -> pin")
    used = {}  # type: dict
    for pname, pin in pins.items():
        if pin is None:
            continue
        if not isinstance(pin, int) or isinstance(pin, bool) or not 0 <= pin <= 48:
            raise BoardError("pin '{}' must be a GPIO number 0..48, not {!r}".format(pname, pin))
        if pin in used:
            raise BoardError("pin {} used twice: '{}' and '{}'".format(pin, used[pin], pname))
        used[pin] = pname
    return True


def guard_mv(b):
    # The battery reading's error bound as the critical check uses it: the
    # declared accuracy plus 3 sigma of the noise left in the check's
    # average (tau 64 ms over samples at 100 Hz or faster: sigma / 3.6).
    bat = b["battery"]
    return int(bat["accuracy_mv"]) + int(-(-5 * bat["noise_mv"] // 6))


def params(b, m):
    """Write board `b`'s parameters into memory `m` (after check(b))."""
    period = int(b["control_period_us"])
    tps = 1000000 // period
    mot = b["motor"]
    levels = mot["speed_levels_sps"]
    m[T.P_PERIOD_US] = period
    m[T.P_TICKS_PER_S] = tps
    m[T.P_LEVELS] = len(levels)
    for i in range(T.MAX_LEVELS):
        m[T.P_LEVEL_CHZ + i] = levels[min(i, len(levels) - 1)] * 100
    m[T.P_KP_Q8] = int(mot["kp"] * 256)
    m[T.P_KI_Q12] = int(mot["ki"] * 4096)
    m[T.P_FF_Q10] = int(mot["ff_mv_per_sps"] * 1024 / 100)
    m[T.P_FF_OFS_MV] = int(mot["ff_offset_mv"])
    m[T.P_DUTY_MAX] = int(mot["duty_max"])
    m[T.P_DUTY_SLEW] = max(1, 65535 * period // int(mot["soft_start_ms"] * 1000))
    m[T.P_RAMP_CHZ] = max(1, int(mot["ramp_sps_per_s"]) * 100 // tps)
    m[T.P_STALL_PERIODS] = int(mot["stall_periods"])
    m[T.P_STALL_MIN_US] = int(mot["stall_min_ms"] * 1000)
    m[T.P_START_GRACE] = int(mot["start_grace_ms"]) * 1000 // period
    m[T.P_OC_MA] = int(mot["overcurrent_ma"])
    m[T.P_OC_TICKS] = max(1, int(mot["overcurrent_ms"]) * 1000 // period)
    m[T.P_R_MOHM] = int(mot["resistance_ohm"] * 1000)
    m[T.P_TM_PCT] = int(mot["tach_check_pct"])
    m[T.P_TM_CHZ] = int(mot["tach_check_sps"] * 100)
    m[T.P_TM_TICKS] = max(1, int(mot["tach_check_ms"]) * 1000 // period)
    m[T.P_IMIN_MA] = int(mot["min_running_ma"])
    # back-EMF constant learned within the tolerance (bounds rounded outward),
    # and until then the tach check's band widened by what the tolerance
    # can make of the estimate: Ke low by t % reads the rate t/(1-t) low
    tol = int(mot["ke_tolerance_pct"])
    ff = m[T.P_FF_Q10]
    m[T.P_KE_LO] = max(1, ff * (100 - tol) // 100)
    m[T.P_KE_HI] = -(-ff * (100 + tol) // 100)
    m[T.P_KE_N] = max(1, int(mot["ke_learn_ms"]) * 1000 // period)
    m[T.P_KE_IMAX_MA] = int(mot["ke_learn_max_ma"])
    m[T.P_KE_WIDEN_PCT] = -(-100 * tol // (100 - tol))
    m[T.P_R_TOL_PCT] = int(mot["resistance_tolerance_pct"])
    # the current check's bar: a coasting pen slows at least this much (chz,
    # and tenths of a per mille of the rate) in the check's window
    m[T.P_COAST_CHZ] = int(mot["coast_decline_chz"])
    m[T.P_COAST_PM10] = int(mot["coast_decline_pm10"])
    m[T.P_ILIM_MA] = int(mot["current_limit_ma"])
    m[T.P_SF_PCT] = int(mot["shortfall_warn_pct"])
    m[T.P_SF_TICKS] = max(1, int(mot["shortfall_warn_ms"]) * 1000 // period)
    m[T.P_SF_FPCT] = int(mot["shortfall_fault_pct"])
    m[T.P_SF_FTICKS] = max(1, int(mot["shortfall_fault_ms"]) * 1000 // period)
    tmp = b["temperature"]
    m[T.P_OT_DC] = int(tmp["limit_c"] * 10)
    m[T.P_OT_HYST_DC] = int(tmp["hysteresis_c"] * 10)
    bat = b["battery"]
    m[T.P_BATT_LOW_MV] = int(bat["low_mv"])
    m[T.P_BATT_CRIT_MV] = int(bat["critical_mv"])
    m[T.P_BATT_HYST_MV] = int(bat["hysteresis_mv"])
    m[T.P_BATT_TICKS] = max(1, int(bat["critical_ms"]) * 1000 // (period * T.SLOW_TICKS))
    m[T.P_BATT_GUARD_MV] = guard_mv(b)
    dep = b["depth"]
    m[T.P_HARD_LO_UM] = int(dep["hard_min_um"])
    m[T.P_HARD_HI_UM] = int(dep["hard_max_um"])
    m[T.P_DEPTH_TOL_UM] = int(dep["tolerance_um"])
    m[T.P_DIS_UM] = int(dep["disagree_um"])
    m[T.P_DIS_TICKS] = max(1, int(dep["disagree_ms"]) * 1000 // period)
    m[T.P_OVERDEPTH_TICKS] = max(1, int(dep["over_depth_ms"]) * 1000 // period)
    act = dep.get("actuator")
    m[T.P_HAS_ACT] = 1 if act else 0
    if act:
        m[T.P_ACT_KP_Q8] = int(act["kp"] * 256)
        m[T.P_ACT_MAX] = int(act["duty_max"])
        m[T.P_ACT_DEADBAND_UM] = int(act["deadband_um"])
    adc = b["adc"]
    for key, ofs, q in (("current", T.P_CUR_OFS, T.P_CUR_Q16),
                        ("battery", T.P_VBAT_OFS, T.P_VBAT_Q16),
                        ("temperature", T.P_TEMP_OFS, T.P_TEMP_Q16),
                        ("depth_a", T.P_DA_OFS, T.P_DA_Q16),
                        ("depth_b", T.P_DB_OFS, T.P_DB_Q16)):
        a = adc.get(key) or adc["depth_a"]   # one sensor: B reads A's channel
        m[ofs] = int(a["offset"])
        m[q] = _q16(a["full_scale"])
    m[T.P_WD_TICKS] = max(2, int(b.get("heartbeat_timeout_ms", 500)) * 1000 // period)
    carts = b["cartridges"]
    m[T.P_CARTS] = len(carts)
    for i, c in enumerate(carts):
        m[T.P_CART + 3 * i] = int(c["min_um"])
        m[T.P_CART + 3 * i + 1] = int(c["max_um"])
        m[T.P_CART + 3 * i + 2] = int(c["max_use_s"])
