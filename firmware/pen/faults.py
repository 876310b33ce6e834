# Names and explanations for fault, warning and refusal bits: for the
# display, the protocol and the log.  Not used by the tick.
from pen import tick as T

FAULTS = (
    (T.F_STALL, "stall", "no tach pulse for several stroke periods"),
    (T.F_OVERCURRENT, "overcurrent", "motor current above the limit"),
    (T.F_OVERTEMP, "overtemp", "motor too hot"),
    (T.F_BATT_CRITICAL, "battery_critical", "battery below the critical level"),
    (T.F_CART_MISSING, "cartridge_missing", "no cartridge, or one of unknown type"),
    (T.F_CART_USED, "cartridge_used", "cartridge used up: fit a new one"),
    (T.F_DEPTH_DISAGREE, "depth_disagree", "the two depth sensors disagree"),
    (T.F_OVER_DEPTH, "over_depth", "needle depth beyond the active limit"),
    (T.F_LOOP_OVERRUN, "loop_overrun", "control loop overran its period repeatedly"),
    (T.F_WATCHDOG, "watchdog", "watchdog: a loop stopped or the pen was reset by it"),
    (T.F_SETTINGS, "settings", "settings were invalid; safe defaults in use"),
    (T.F_INTEGRITY, "integrity", "firmware files do not match the deploy manifest"),
    (T.F_INTERNAL, "internal", "internal error in the firmware"),
    (T.F_TACH_MISMATCH, "tach_mismatch", "tach disagrees with the motor's back-EMF"),
    (T.F_CURRENT_SENSOR, "current_sensor", "current sensor reads no current while the motor turns"),
    (T.F_CLOCK, "clock", "control timing lost: the clock jumped or the loop stood still"),
    (T.F_STORAGE, "storage", "settings or log could not be written to flash: latched faults and "
                             "cartridge use would not survive a power cycle"),
    (T.F_SHORTFALL, "shortfall", "the motor could not reach the level's stroke rate for a long time: "
                                 "charge the battery, or a lower level or depth"),
)

WARNINGS = (
    (T.W_BATT_LOW, "battery_low", "battery low: charge soon"),
    (T.W_LIMITS_EMPTY, "limits_empty", "zone and cartridge allow no common depth"),
    (T.W_DEPTH_OUTSIDE, "depth_outside", "measured depth beyond the limit"),
    (T.W_SHORTFALL, "shortfall", "stroke rate below the level's: the motor is at its limit"),
)

REFUSALS = (
    (T.R_FAULT, "fault", "a fault is latched: clear it first"),
    (T.R_BATT_LOW, "battery_low", "battery too low to start"),
    (T.R_DEPTH, "depth", "needle depth beyond the active limit"),
    (T.R_LIMITS, "limits", "zone and cartridge allow no common depth"),
    (T.R_CARTRIDGE, "cartridge", "no usable cartridge"),
)


def names(bits, table=FAULTS):
    """The names of the bits set in `bits`, in table order."""
    return [name for bit, name, _ in table if bits & bit]


def describe(bits, table=FAULTS):
    return "; ".join(text for bit, _, text in table if bits & bit)


def bit_of(name, table=FAULTS):
    for bit, n, _ in table:
        if n == name:
            return bit
    raise ValueError("unknown fault name: " + str(name))
