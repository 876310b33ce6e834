# The control tick: everything the pen decides every control period.
#
# All state lives in one preallocated int32 array ("the memory", see
# pen.mem.new_memory) at fixed indices, so the tick is viper code doing word
# loads and stores: no objects, no floats, no allocation.  MicroPython folds
# const() only inside the module that defines it, so the layout and the code
# that uses it every tick share this file; everything else imports the names.
#
# Units: time us or ticks, stroke rate centi-strokes/s (cHz), depth um,
# current mA, voltage mV, temperature 0.1 degC (dC), PWM duty 0..65535.
#
# 32-bit arithmetic: viper ints on the pen are machine words that wrap at
# 2**32, where CPython's do not.  So every intermediate stays inside +-2**31
# by construction: parameters are bounded by pen.board.check, and every
# word that is not freshly computed this tick (inputs, commands, state that
# a corrupted word could hold) is clamped to its physical range where it is
# read.  docs/control.md ("32-bit arithmetic") has the table of every
# product and its bound; tests/test_arm_fuzz.py runs this tick on an
# emulated RP2040 against CPython on extreme and garbage memories.
#
# Signed words: a viper ptr32 load is zero-extended on 64-bit builds (the
# unix port) but not on the pen, so every word that can hold a negative value
# (marked "signed") is read as ((m[i] + S) & K) - S with S = 2**31 and
# K = 2**32 - 1 computed in the function; that is the identity on CPython and
# on 32-bit ports.  Raw ADC inputs are masked to 16 bits and times to 30 bits,
# so out-of-contract input reads the same on every interpreter.
import micropython
from micropython import const

# ---- inputs: written by the HAL (and the scheduler) before each tick ------
I_TACH_COUNT = const(0)      # tach pulses since boot (wraps, informational)
I_TACH_PERIOD_US = const(1)  # time of the last full revolution (0: none yet)
I_TACH_AGE_US = const(2)     # time since the last tach pulse (saturates)
I_CURRENT_RAW = const(3)     # ADC counts 0..65535
I_VBAT_RAW = const(4)
I_TEMP_RAW = const(5)
I_DEPTH_A_RAW = const(6)
I_DEPTH_B_RAW = const(7)     # second depth sensor (copy of A if only one)
I_CART_PRESENT = const(8)    # 1: a cartridge is seated
I_CART_TYPE = const(9)       # cartridge type index 1..n (0: unknown)
I_EXT_FAULTS = const(10)     # fault causes found outside the tick; consumed
I_HEARTBEAT = const(11)      # incremented by the background loop
I_HELD_FAULTS = const(12)    # causes that last until a reboot (integrity); never consumed
I_BG_FAULTS = const(13)      # causes the background sees present now (storage); its own word,
#                              written with plain stores only (the tick may interrupt it)

# ---- commands: written by UI and protocol, read by the tick ---------------
C_RUN = const(16)            # 1: motor requested on
C_LEVEL = const(17)          # speed level 0..levels-1 (signed)
C_DEPTH_UM = const(18)       # requested needle depth (signed)
C_CLEAR = const(19)          # bumped to ask for a fault clear
C_ZONE_LO_UM = const(20)     # treatment-zone limits (signed)
C_ZONE_HI_UM = const(21)     # (signed)
C_CART_LOCKED = const(22)    # bit per cartridge type (bit 1: type 1) whose last cartridge was used up
C_CART_NEW = const(23)       # set by the background: the seated cartridge is a new one (consumed)

# ---- outputs: read by the HAL after each tick ------------------------------
O_DUTY = const(24)           # motor PWM 0..65535
O_BRAKE = const(25)
O_ENABLE = const(26)         # motor driver enable
O_ACT_DUTY = const(27)       # depth actuator -65535..65535 (signed)

# ---- state ------------------------------------------------------------------
S_TICKS = const(32)          # ticks since boot, wraps at 2**30
S_FAULTS = const(33)         # latched faults (F_*)
S_ACTIVE = const(34)         # fault causes present this tick
S_WARN = const(35)           # warnings (W_*), not latched
S_STATE = const(36)          # ST_*
S_TARGET_CHZ = const(37)     # stroke rate of the requested level
S_RAMP_CHZ = const(38)       # soft-start setpoint, moves toward the target (signed)
S_RATE_CHZ = const(39)       # measured stroke rate
S_INTEG = const(40)          # PI integral, duty * 256 (signed)
S_RUN_TICKS = const(41)      # ticks since the motor was started (signed)
S_CURRENT_MA = const(42)     # (signed: offset and noise)
S_VBAT_MV = const(43)        # filtered (signed)
S_TEMP_DC = const(44)        # filtered (signed)
S_DEPTH_UM = const(45)       # measured depth, mean of the sensors (signed)
S_DEPTH_A_UM = const(46)     # (signed)
S_DEPTH_B_UM = const(47)     # (signed)
S_LIMIT_LO = const(48)       # active limits: board & cartridge & zone (signed)
S_LIMIT_HI = const(49)       # (signed)
S_DEPTH_TARGET = const(50)   # clamped depth target (signed)
S_OC_COUNT = const(51)
S_BATT_COUNT = const(52)
S_DIS_COUNT = const(53)
S_OVERDEPTH_COUNT = const(54)
S_HB_LAST = const(55)
S_HB_AGE = const(56)
S_CART_USE_S = const(57)     # seconds the fitted cartridge has run
S_CART_USE_TICKS = const(58)
S_CLEAR_SEEN = const(59)
S_CLEAR_LEFT = const(60)     # faults a clear could not clear (cause present)
S_REFUSED = const(61)        # why the last start was refused (R_*)
S_FAULT_TICK = const(62)     # S_TICKS when the latest fault latched
S_VBAT_F = const(63)         # filter states, value * 16
S_TEMP_F = const(64)         # (signed)
S_CART_SEEN = const(65)      # cartridge present last tick
S_TARGET_PERIOD_US = const(66)
S_RAMP_LEVEL = const(67)     # level S_TARGET_CHZ was computed for
S_DUTY = const(68)           # duty before the fault override (diagnostics)
S_EMF_CHZ = const(69)        # stroke rate estimated from the back-EMF
S_TM_COUNT = const(70)
S_IMIN_COUNT = const(71)
S_SLOW = const(72)           # ticks to the next _supply()
S_SLOW_ACT = const(73)       # fault causes found by _supply()
S_SLOW_WARN = const(74)
S_TM_ERR = const(75)         # filtered tach vs back-EMF difference * 16 (signed)
# window() for the background (pen.core asks before the tick): its own
# three words, so a tick that interrupts it never sees half a result
B_LIMIT_LO = const(76)       # (signed)
B_LIMIT_HI = const(77)       # (signed)
B_DEPTH_TARGET = const(78)   # (signed)

# ---- parameters: from the board definition and settings, set at boot ------
P_PERIOD_US = const(80)
P_TICKS_PER_S = const(81)
P_LEVELS = const(82)
P_LEVEL_CHZ = const(83)      # 8 entries: target stroke rate per level
P_KP_Q8 = const(91)          # duty per cHz of error, Q8
P_KI_Q12 = const(92)         # duty per cHz of error per tick, Q12 (integral)
P_FF_Q10 = const(93)         # feed-forward motor mV per cHz, Q10
P_FF_OFS_MV = const(94)      # feed-forward mV at zero speed (friction)
P_DUTY_MAX = const(95)
P_DUTY_SLEW = const(96)      # largest duty increase per tick (soft start)
P_RAMP_CHZ = const(97)       # setpoint slope per tick
P_STALL_PERIODS = const(98)  # stall: no pulse for this many expected periods
P_STALL_MIN_US = const(99)   # ... and at least this long
P_START_GRACE = const(100)   # ticks after a start before stall is judged
P_OC_MA = const(101)
P_OC_TICKS = const(102)
P_OT_DC = const(103)
P_OT_HYST_DC = const(104)
P_BATT_LOW_MV = const(105)
P_BATT_CRIT_MV = const(106)
P_BATT_HYST_MV = const(107)
P_BATT_TICKS = const(108)    # in slow ticks (SLOW_TICKS each)
P_HARD_LO_UM = const(109)
P_HARD_HI_UM = const(110)
P_DEPTH_TOL_UM = const(111)
P_DIS_UM = const(112)
P_DIS_TICKS = const(113)
P_OVERDEPTH_TICKS = const(114)
P_HAS_ACT = const(115)
P_ACT_KP_Q8 = const(116)
P_ACT_MAX = const(117)
P_ACT_DEADBAND_UM = const(118)
P_CUR_OFS = const(119)       # ADC -> unit: (raw - ofs) * q16 >> 16
P_CUR_Q16 = const(120)
P_VBAT_OFS = const(121)
P_VBAT_Q16 = const(122)
P_TEMP_OFS = const(123)
P_TEMP_Q16 = const(124)
P_DA_OFS = const(125)
P_DA_Q16 = const(126)
P_DB_OFS = const(127)
P_DB_Q16 = const(128)
P_WD_TICKS = const(129)      # background heartbeat timeout
P_CARTS = const(130)         # number of cartridge types
P_CART = const(131)          # 8 types x (lo_um, hi_um, max_use_s), type 1 first
P_R_MOHM = const(155)        # motor winding resistance, for the back-EMF check
P_TM_PCT = const(156)        # tach vs back-EMF: allowed difference, % ...
P_TM_CHZ = const(157)        # ... plus this much
P_TM_TICKS = const(158)      # ... for this long (also the current-sensor check)
P_IMIN_MA = const(159)       # a turning motor draws at least this (friction)

# ---- the pen's spread (issue 13): state, then parameters -------------------
S_KE_Q10 = const(160)        # back-EMF constant learned this boot, as P_FF_Q10 (0: not yet)
S_KE_SUM = const(161)        # ... learning: sum of the samples so far
S_KE_N = const(162)          # ... and their number (P_KE_N: learned, frozen until a reboot)
S_SF_ERR = const(163)        # filtered (target - rate) * 16, for the shortfall (signed)
S_SF_SAT = const(164)        # 1: the last _stroke could not give the duty the PI asked for
S_SF_COUNT = const(165)      # shortfall warning: leaky count
S_SF_ON = const(166)         # 1: shortfall warning shown
S_SF_FCOUNT = const(167)     # shortfall fault: leaky count
S_VBAT_AVG = const(168)      # battery, slow average (value * 16) for the critical check (signed)
S_IMIN_RATE0 = const(169)    # current-sensor check: the rate when the reading went low
S_TM_HOLD = const(170)       # tach check: the rate when the PI began braking (0: not braking)
S_RATE_LAST = const(171)     # the tach's rate last tick (current limit: accelerating?)
S_ACCEL = const(172)         # 1: its last change was up
P_KE_LO = const(176)         # learned back-EMF constant: bounds (the declared tolerance)
P_KE_HI = const(177)
P_KE_N = const(178)          # samples that make it learned
P_KE_IMAX_MA = const(179)    # learning only below this current (winding resistance matters little)
P_KE_WIDEN_PCT = const(180)  # tach vs back-EMF: more allowed difference until learned
P_ILIM_MA = const(181)       # the duty does not rise while the current is above this
P_SF_PCT = const(182)        # shortfall warning: rate more than this % short, duty saturated,
P_SF_TICKS = const(183)      # ... for this long (leaky)
P_SF_FPCT = const(184)       # shortfall fault: more than this % short, duty saturated,
P_SF_FTICKS = const(185)     # ... for this long (leaky)
P_BATT_GUARD_MV = const(186)  # battery reading's accuracy (and averaged noise): critical level + this
P_R_TOL_PCT = const(187)     # winding resistance tolerance, %: the back-EMF estimate's error under load
P_COAST_CHZ = const(188)     # current check: the least a coasting pen slows in the window, chz ...
P_COAST_PM10 = const(189)    # ... plus this, in 1/10000 of the rate
MEM_WORDS = const(192)
MAX_LEVELS = const(8)
MAX_CARTS = const(8)

# ---- fault bits (latched) ---------------------------------------------------
F_STALL = const(0x0001)
F_OVERCURRENT = const(0x0002)
F_OVERTEMP = const(0x0004)
F_BATT_CRITICAL = const(0x0008)
F_CART_MISSING = const(0x0010)
F_CART_USED = const(0x0020)
F_DEPTH_DISAGREE = const(0x0040)
F_OVER_DEPTH = const(0x0080)
F_LOOP_OVERRUN = const(0x0100)
F_WATCHDOG = const(0x0200)
F_SETTINGS = const(0x0400)
F_INTEGRITY = const(0x0800)
F_INTERNAL = const(0x1000)
F_TACH_MISMATCH = const(0x2000)
F_CURRENT_SENSOR = const(0x4000)
F_CLOCK = const(0x8000)
F_STORAGE = const(0x10000)   # settings or log could not be written
F_SHORTFALL = const(0x20000)  # stroke rate far short of the level for long, duty saturated
F_ALL = const(0x3FFFF)
# Cartridge and depth conditions only latch when they appear while the motor
# runs; at rest they just block a start (a practitioner changing cartridges
# should not have to clear a fault every time).
_F_RUN_ONLY = const(0x00B0)  # CART_MISSING | CART_USED | OVER_DEPTH

# ---- warnings (shown, not latched) -----------------------------------------
W_BATT_LOW = const(0x01)
W_LIMITS_EMPTY = const(0x02)   # zone and cartridge leave no depth at all
W_DEPTH_OUTSIDE = const(0x04)  # measured depth beyond the limit (at rest)
W_SHORTFALL = const(0x08)      # stroke rate short of the level, duty saturated (while running)

# ---- reasons a start is refused ---------------------------------------------
R_FAULT = const(0x01)
R_BATT_LOW = const(0x02)
R_DEPTH = const(0x04)
R_LIMITS = const(0x08)
R_CARTRIDGE = const(0x10)

# ---- motor states ---------------------------------------------------------
ST_IDLE = const(0)
ST_RUNNING = const(1)
ST_FAULT = const(2)

_AGE_STALE_US = const(1000000)   # no pulse for 1 s: the rate is 0
SLOW_TICKS = const(8)            # battery and temperature every 8 ticks
_CHZ_US = const(100000000)       # cHz * period_us
_RATE_MAX = const(100000)        # measured rate beyond 1000 strokes/s is garbage: clamped
_RAMP_MAX = const(40000)         # setpoint: the boards' levels stop at 400 strokes/s
_ERR_MAX = const(20000)          # rate error the PI sees: +-200 strokes/s (saturates anyway)
_UM_MAX = const(100000)          # any depth word: +-100 mm
_ACT_ERR_MAX = const(20000)      # actuator position error: +-20 mm
_FILT_MAX = const(0x10000000)    # filter states * 16
_COUNT_MAX = const(0x3FFFFFFF)   # usage counters


@micropython.viper
def window(m: ptr32, out: int):
    # Active depth window = board hard limits & cartridge & treatment zone,
    # and the clamped request, into m[out], m[out+1], m[out+2]: S_LIMIT_LO..
    # for the tick, B_LIMIT_LO.. for pen.core judging a request in the
    # background.  Only the tick trims the request itself.
    s = 1
    s = s << 31
    k = (s << 1) - 1
    lo = m[P_HARD_LO_UM]
    hi = m[P_HARD_HI_UM]
    ct = m[I_CART_TYPE]
    if m[I_CART_PRESENT] != 0 and ct >= 1 and ct <= m[P_CARTS]:
        base = P_CART + 3 * (ct - 1)
        if m[base] > lo:
            lo = m[base]
        if m[base + 1] < hi:
            hi = m[base + 1]
    z = ((m[C_ZONE_LO_UM] + s) & k) - s
    if z > lo:
        lo = z
    z = ((m[C_ZONE_HI_UM] + s) & k) - s
    if z < hi:
        hi = z
    m[out] = lo
    m[out + 1] = hi
    # Clamp the request.  hi wins over lo so that an empty window still
    # never yields a target beyond the shallowest maximum.
    d = ((m[C_DEPTH_UM] + s) & k) - s
    if d < lo:
        d = lo
    if d > hi:
        d = hi
    m[out + 2] = d                        # (window only compares: no overflow; _actuator bounds it)
    # The request itself follows a narrower window (a shallower cartridge
    # fitted): a later, wider window never deepens the needles by itself.
    if out == S_LIMIT_LO:
        m[C_DEPTH_UM] = d


@micropython.viper
def _observe(m: ptr32):
    # Readings to units, then the fault causes present now (S_ACTIVE) and
    # the warnings (S_WARN).  Needs window() first (for the depth limit).
    # "running" here: driven and past the start grace time.
    s = 1
    s = s << 31
    k = (s << 1) - 1
    act = m[I_EXT_FAULTS] | m[S_SLOW_ACT] | m[I_HELD_FAULTS] | m[I_BG_FAULTS]   # + battery/temperature (_supply)
    m[I_EXT_FAULTS] = 0
    warn = m[S_SLOW_WARN]
    rt = ((m[S_RUN_TICKS] + s) & k) - s
    if rt < 0:                            # a corrupted count: long running, every check on
        rt = 0x3FFFFFFF
        m[S_RUN_TICKS] = rt
    running = m[S_STATE] == ST_RUNNING and rt > m[P_START_GRACE]

    # Raw ADC counts to units: (raw - ofs) * q16 >> 16; |product| < 2**31
    # as pen.board keeps 0 <= ofs <= 65535 and 0 < q16 < 32768.
    cur = (((m[I_CURRENT_RAW] & 0xFFFF) - m[P_CUR_OFS]) * m[P_CUR_Q16]) >> 16
    m[S_CURRENT_MA] = cur
    a = (((m[I_DEPTH_A_RAW] & 0xFFFF) - m[P_DA_OFS]) * m[P_DA_Q16]) >> 16
    b = (((m[I_DEPTH_B_RAW] & 0xFFFF) - m[P_DB_OFS]) * m[P_DB_Q16]) >> 16
    m[S_DEPTH_A_UM] = a
    m[S_DEPTH_B_UM] = b
    m[S_DEPTH_UM] = (a + b) >> 1
    # Stroke rate from the last revolution; a pulse that is late already
    # bounds the rate from above.  No revolution measured yet: rate 0.
    p = m[I_TACH_PERIOD_US] & 0x3FFFFFFF
    age = m[I_TACH_AGE_US] & 0x3FFFFFFF
    rate = 0
    if p > 0:
        if age > p:
            p = age
        if p < _AGE_STALE_US:
            rate = _CHZ_US // p
    if rate > _RATE_MAX:                  # a glitch: bounded, never a huge rate
        rate = _RATE_MAX
    m[S_RATE_CHZ] = rate

    # Over-current: above the limit for P_OC_TICKS ticks in a row.  (The
    # debounce counters below are written out: on the pen a call per check
    # would cost more than the check.)
    n = m[S_OC_COUNT]
    if n < 0 or n > m[P_OC_TICKS]:        # debounce counters: clamped like every state word
        n = m[P_OC_TICKS]
    if cur > m[P_OC_MA]:
        n += 1
        if n >= m[P_OC_TICKS]:
            act |= F_OVERCURRENT
            n = m[P_OC_TICKS]
    else:
        n = 0
    m[S_OC_COUNT] = n

    # Cartridge: seated, known, and not used up.  A new insertion starts a
    # fresh usage count -- unless its type is locked (the pen cannot tell a
    # used-up cartridge put back from a new one of its type): then it counts
    # as used up until the practitioner confirms a new one (C_CART_NEW).
    present = m[I_CART_PRESENT]
    ct = m[I_CART_TYPE]
    fresh = m[C_CART_NEW]
    m[C_CART_NEW] = 0
    if present == 0 or ct < 1 or ct > m[P_CARTS]:
        act |= F_CART_MISSING
    else:
        if m[S_CART_SEEN] == 0 or (fresh != 0 and m[S_STATE] != ST_RUNNING):
            m[S_CART_USE_S] = 0
            m[S_CART_USE_TICKS] = 0
            if fresh == 0 and (m[C_CART_LOCKED] >> ct) & 1:
                m[S_CART_USE_S] = m[P_CART + 3 * (ct - 1) + 2]
        u = m[S_CART_USE_S]
        if u < 0 or u > _COUNT_MAX:       # a corrupted count reads as used up
            u = _COUNT_MAX
            m[S_CART_USE_S] = u
        if u >= m[P_CART + 3 * (ct - 1) + 2]:
            act |= F_CART_USED
    m[S_CART_SEEN] = present

    # Depth sensors: disagreement, then depth beyond the active limit.
    n = m[S_DIS_COUNT]
    if n < 0 or n > m[P_DIS_TICKS]:
        n = m[P_DIS_TICKS]
    if a - b > m[P_DIS_UM] or b - a > m[P_DIS_UM]:
        n += 1
        if n >= m[P_DIS_TICKS]:
            act |= F_DEPTH_DISAGREE
            n = m[P_DIS_TICKS]
    else:
        n = 0
    m[S_DIS_COUNT] = n
    deepest = a
    if b > a:
        deepest = b
    n = m[S_OVERDEPTH_COUNT]
    if n < 0 or n > m[P_OVERDEPTH_TICKS]:
        n = m[P_OVERDEPTH_TICKS]
    hi = ((m[S_LIMIT_HI] + s) & k) - s
    if deepest > hi + m[P_DEPTH_TOL_UM]:
        warn |= W_DEPTH_OUTSIDE
        n += 1
        if n >= m[P_OVERDEPTH_TICKS]:
            act |= F_OVER_DEPTH
            n = m[P_OVERDEPTH_TICKS]
    else:
        n = 0
    m[S_OVERDEPTH_COUNT] = n
    if ((m[S_LIMIT_LO] + s) & k) - s > hi:
        warn |= W_LIMITS_EMPTY

    # Stall: running past the grace time with no tach pulse for several
    # expected stroke periods.
    if running:
        r = ((m[S_RAMP_CHZ] + s) & k) - s
        if r < 100:                       # (and a garbage negative one)
            r = 100
        limit = m[P_STALL_PERIODS] * (_CHZ_US // r)
        if limit < m[P_STALL_MIN_US]:
            limit = m[P_STALL_MIN_US]
        if m[I_TACH_AGE_US] & 0x3FFFFFFF > limit:   # garbage reads as very old
            act |= F_STALL

    # Speed plausibility: the tach must agree with the rate the back-EMF
    # implies, (duty * vbat - I * R) / Ke, so that lost or extra tach pulses
    # cannot make the PI drive the motor away.  The difference is low-pass
    # filtered (tau 64 ms) before it is judged, so that intermittently lost
    # pulses (a rate alternating between right and too low) count by their
    # average.  |terms| < 2**31: duty*vbat < 65536 * 16000, emf * 1024 < 2**24.
    # Ke is the pen's own: learned once per boot in steady running (below),
    # within the board's declared tolerance; until then the nominal one, and
    # the allowed difference widened by that tolerance.
    n = m[S_TM_COUNT]
    if n < 0 or n > m[P_TM_TICKS]:
        n = m[P_TM_TICKS]
    ramp = ((m[S_RAMP_CHZ] + s) & k) - s
    if ramp < 0 or ramp > _RAMP_MAX:      # (a garbage setpoint: no learning, no shortfall)
        ramp = -1
    if running:
        v = ((m[S_VBAT_MV] + s) & k) - s
        if v < 0:
            v = 0
        if v > 32767:
            v = 32767
        duty = m[O_DUTY]
        if duty < 0 or duty > 65535:
            duty = 65535
        emf = ((duty * v) >> 16) - cur * m[P_R_MOHM] // 1000   # 65535 * 32767; 32767 * 20000
        kn = m[S_KE_N]
        ksum = m[S_KE_SUM]
        if kn < 0 or kn > m[P_KE_N] or ksum < 0 or ksum > kn * m[P_KE_HI]:   # N <= 16000, HI <= 15360
            kn = 0                        # a corrupted learning: start again
            ksum = 0
        ke = m[S_KE_Q10]
        widen = 0
        if kn < m[P_KE_N] or ke < m[P_KE_LO] or ke > m[P_KE_HI]:
            if kn >= m[P_KE_N]:           # learned, but the word is garbage: learn again
                kn = 0
                ksum = 0
            ke = m[P_FF_Q10]
            widen = m[P_KE_WIDEN_PCT]
            # Learn: at the level's rate (within 3 %), light load (the winding
            # resistance's spread matters little), the current sensor alive.
            if (ramp == m[S_TARGET_CHZ] and ramp >= 1000 and emf > 0 and cur >= m[P_IMIN_MA]
                    and cur < m[P_KE_IMAX_MA] and (rate - ramp) * 32 <= ramp and (ramp - rate) * 32 <= ramp):
                x = (emf << 10) // rate           # emf << 10 < 2**25; rate >= 968
                if x < m[P_KE_LO]:
                    x = m[P_KE_LO]
                if x > m[P_KE_HI]:
                    x = m[P_KE_HI]
                ksum += x
                kn += 1
                if kn >= m[P_KE_N]:
                    m[S_KE_Q10] = ksum // kn
        m[S_KE_N] = kn
        m[S_KE_SUM] = ksum
        est = 0
        if emf > 0:
            est = (emf << 10) // ke               # ke >= P_KE_LO >= 5: est < 2**23
        m[S_EMF_CHZ] = est
        f = ((m[S_TM_ERR] + s) & k) - s          # filtered (est - rate) * 16
        if f > _FILT_MAX:
            f = _FILT_MAX
        if f < 0 - _FILT_MAX:
            f = 0 - _FILT_MAX
        # The sensor reads no current below zero: with next to nothing read
        # while the tach says the motor is faster than the setpoint, the PI
        # is braking it (a lower level, the needles leaving skin, a heavy
        # rotor's overshoot), the drive is below the back-EMF and the
        # estimate only a lower bound of the rate.  Then an estimate below
        # the tach's is not judged (filter and count hold) as long as the
        # tach's rate behaves like a motor slowing down: it never rises more
        # than 3 % above where it was when the braking began.  A tach that
        # reads high (spurious pulses) jumps about and is judged.
        r0 = m[S_TM_HOLD]             # the rate when the braking began (0: none; above _RATE_MAX: rose)
        if r0 < 0 or r0 > _RATE_MAX + 1:
            r0 = _RATE_MAX + 1
        if not (cur < m[P_IMIN_MA] and est <= rate and rate > ramp):
            r0 = 0
        elif r0 == 0:
            r0 = rate
        elif r0 <= _RATE_MAX and rate * 32 > r0 * 33:     # rate, r0 <= 10**5
            r0 = _RATE_MAX + 1
        if r0 == 0 or r0 > _RATE_MAX:
            f += (((est - rate) << 4) - f) >> 6
            diff = f >> 4
            if diff < 0:
                diff = 0 - diff
            # Allowed: the tolerance band, plus what the winding resistance's
            # own tolerance makes of I * R (a heavily loaded pen at a low
            # rate: 1.4 A, 10 % of 2.5 ohm is 14 strokes/s of estimate).
            rerr = cur * m[P_R_MOHM] // 1000 * m[P_R_TOL_PCT] // 100     # 32767 * 20000 * 50%: < 2**19 mV
            if rerr < 0:
                rerr = 0
            if diff > est * (m[P_TM_PCT] + widen) // 100 + m[P_TM_CHZ] + (rerr << 10) // ke:   # 2**23 * 200
                n += 1                            # leaky: mostly wrong is wrong
                if n >= m[P_TM_TICKS]:
                    act |= F_TACH_MISMATCH
                    n = m[P_TM_TICKS]
            elif n > 0:
                n -= 1
        m[S_TM_ERR] = f
        m[S_TM_HOLD] = r0
    else:
        n = 0
        m[S_TM_ERR] = 0
        m[S_TM_HOLD] = 0
    m[S_TM_COUNT] = n

    # Current plausibility: a turning motor that draws no current coasts,
    # and a coasting motor slows down (friction; x3 rotor inertia, least
    # friction: 3.7 strokes/s in 200 ms at 80 strokes/s, 4.8 at 200).  So a
    # reading below the friction current for P_TM_TICKS while the rate fell
    # less than 80 % of that (P_COAST_*, from the board's tolerances) is a
    # dead sensor (and with it the
    # over-current protection).  A rate that fell meanwhile: the motor
    # coasted (a heavy rotor's overshoot, a level lowered, the needles
    # leaving skin): look again from now.
    n = m[S_IMIN_COUNT]
    if n < 0 or n > m[P_TM_TICKS]:
        n = m[P_TM_TICKS]
    if running and cur < m[P_IMIN_MA]:
        r0 = m[S_IMIN_RATE0]
        if n == 0 or r0 < 0 or r0 > _RATE_MAX:
            r0 = rate
        n += 1
        if n >= m[P_TM_TICKS]:
            n = m[P_TM_TICKS]
            if (r0 - rate) * 10000 < m[P_COAST_CHZ] * 10000 + rate * m[P_COAST_PM10]:   # rate, r0 <= 10**5
                act |= F_CURRENT_SENSOR
            else:
                n = 0
        m[S_IMIN_RATE0] = r0
    else:
        n = 0
    m[S_IMIN_COUNT] = n

    # Stroke-rate shortfall: the rate short of the level's while the PI
    # asks for more than it may give (duty at its maximum, or held at the
    # current limit: S_SF_SAT from the last _stroke), the setpoint at the
    # level.  Filtered like the tach check (tau 64 ms), then two leaky
    # counts: the warning (shown from P_SF_TICKS until the count is back
    # at 0) and the fault.
    n = m[S_SF_COUNT]
    if n < 0 or n > m[P_SF_TICKS]:
        n = m[P_SF_TICKS]
    nf = m[S_SF_FCOUNT]
    if nf < 0 or nf > m[P_SF_FTICKS]:
        nf = m[P_SF_FTICKS]
    on = m[S_SF_ON]
    if running:
        tgt = m[S_TARGET_CHZ]
        if tgt < 0 or tgt > _RAMP_MAX:
            tgt = _RAMP_MAX
        f = ((m[S_SF_ERR] + s) & k) - s          # filtered (target - rate) * 16
        if f > _FILT_MAX:
            f = _FILT_MAX
        if f < 0 - _FILT_MAX:
            f = 0 - _FILT_MAX
        f += (((tgt - rate) << 4) - f) >> 6      # |tgt - rate| <= 10**5
        m[S_SF_ERR] = f
        short = (f >> 4) * 100                   # <= 2**24 * 100 / 16
        sat = m[S_SF_SAT] == 1 and ramp == tgt
        if sat and short > m[P_SF_PCT] * tgt:    # pct <= 100
            n += 1
            if n >= m[P_SF_TICKS]:
                n = m[P_SF_TICKS]
                on = 1
        elif n > 0:
            n -= 1
        if n == 0:
            on = 0
        if sat and short > m[P_SF_FPCT] * tgt:
            nf += 1
            if nf >= m[P_SF_FTICKS]:
                nf = m[P_SF_FTICKS]
                act |= F_SHORTFALL
        elif nf > 0:
            nf -= 1
    else:
        n = 0
        nf = 0
        on = 0
        m[S_SF_ERR] = 0
    if on != 0:
        on = 1
        warn |= W_SHORTFALL
    m[S_SF_COUNT] = n
    m[S_SF_FCOUNT] = nf
    m[S_SF_ON] = on

    # Software watchdog: the background loop must keep beating.
    hb = m[I_HEARTBEAT]
    if hb != m[S_HB_LAST]:
        m[S_HB_LAST] = hb
        m[S_HB_AGE] = 0
    else:
        age = m[S_HB_AGE]
        if age < 0 or age > m[P_WD_TICKS]:
            age = m[P_WD_TICKS]
        age += 1
        if age >= m[P_WD_TICKS]:
            act |= F_WATCHDOG
            age = m[P_WD_TICKS]
        m[S_HB_AGE] = age

    m[S_WARN] = warn
    m[S_ACTIVE] = act


@micropython.viper
def _supply(m: ptr32):
    # Battery and motor temperature, every SLOW_TICKS ticks (they are
    # 100 Hz signals): readings to units, first-order filters (value * 16)
    # so that a single noisy sample neither trips nor clears anything, and
    # their fault causes and warnings into S_SLOW_ACT / S_SLOW_WARN, which
    # _observe adds every tick.
    s = 1
    s = s << 31
    k = (s << 1) - 1
    act = 0
    warn = 0
    v = (((m[I_VBAT_RAW] & 0xFFFF) - m[P_VBAT_OFS]) * m[P_VBAT_Q16]) >> 16
    f = ((m[S_VBAT_F] + s) & k) - s
    if f == 0 or f > _FILT_MAX or f < 0 - _FILT_MAX:
        f = v << 4                            # first reading seeds the filter
    f += ((v << 4) - f) >> 1                  # tau ~ 12 ms
    m[S_VBAT_F] = f
    v = f >> 4
    m[S_VBAT_MV] = v
    t = (((m[I_TEMP_RAW] & 0xFFFF) - m[P_TEMP_OFS]) * m[P_TEMP_Q16]) >> 16
    f = ((m[S_TEMP_F] + s) & k) - s
    if f == 0 or f > _FILT_MAX or f < 0 - _FILT_MAX:
        f = t << 4
    f += ((t << 4) - f) >> 3                  # tau ~ 64 ms
    m[S_TEMP_F] = f
    t = f >> 4
    m[S_TEMP_DC] = t

    # Over-temperature, with hysteresis so that "cause gone" means cooled.
    if t > m[P_OT_DC] or (t > m[P_OT_DC] - m[P_OT_HYST_DC] and (m[S_FAULTS] & F_OVERTEMP)):
        act |= F_OVERTEMP

    # Battery: critical after P_BATT_TICKS (slow ticks) with the slow
    # average (tau 64 ms: the reading's noise averaged down) below the level
    # plus the reading's accuracy (P_BATT_GUARD_MV): a true voltage below
    # the level always counts up, whatever the reading's error and noise, so
    # a battery hovering just under it is caught within the stated bound
    # (docs/faults.md).  The count filters load sag; clearing needs the
    # level + hysteresis.
    a = ((m[S_VBAT_AVG] + s) & k) - s
    if a == 0 or a > _FILT_MAX or a < 0 - _FILT_MAX:
        a = v << 4                            # first reading seeds it
    a += ((v << 4) - a) >> 3
    m[S_VBAT_AVG] = a
    n = m[S_BATT_COUNT]
    if n < 0 or n > m[P_BATT_TICKS]:
        n = m[P_BATT_TICKS]
    crit = m[P_BATT_CRIT_MV] + m[P_BATT_GUARD_MV]
    if m[S_FAULTS] & F_BATT_CRITICAL:
        crit = m[P_BATT_CRIT_MV] + m[P_BATT_HYST_MV]
    if a >> 4 < crit:                         # leaky: a voltage hovering at the
        n += 1                                # level trips by its average
        if n >= m[P_BATT_TICKS]:
            act |= F_BATT_CRITICAL
            n = m[P_BATT_TICKS]
    elif n > 0:
        n -= 1
    m[S_BATT_COUNT] = n
    if v < m[P_BATT_LOW_MV]:
        warn |= W_BATT_LOW

    m[S_SLOW_ACT] = act
    m[S_SLOW_WARN] = warn


@micropython.viper
def _interlock(m: ptr32):
    # Latch faults, serve a clear request, gate a start: S_STATE says
    # whether the motor may be driven this tick.
    act = m[S_ACTIVE]
    latched = m[S_FAULTS]
    state = m[S_STATE]
    new = act
    if state != ST_RUNNING:
        # (faults restored at boot go straight into S_FAULTS, not through here)
        new = act & (F_ALL ^ _F_RUN_ONLY)
    if new & (latched ^ F_ALL):
        m[S_FAULT_TICK] = m[S_TICKS]
    latched |= new

    # A clear needs the motor commanded off and clears only what is gone.
    if m[C_CLEAR] != m[S_CLEAR_SEEN]:
        m[S_CLEAR_SEEN] = m[C_CLEAR]
        if m[C_RUN] == 0:
            latched &= act
        m[S_CLEAR_LEFT] = latched
    m[S_FAULTS] = latched

    if latched != 0:
        m[C_RUN] = 0              # no restart by itself after a clear
        m[S_STATE] = ST_FAULT
        return
    if m[C_RUN] == 0:
        m[S_STATE] = ST_IDLE
        return
    if state != ST_RUNNING:
        # Start permissives, checked again here whatever the caller checked.
        why = 0
        if act & (F_CART_MISSING | F_CART_USED):
            why |= R_CARTRIDGE
        if act & F_OVER_DEPTH or m[S_WARN] & W_DEPTH_OUTSIDE:
            why |= R_DEPTH
        if m[S_WARN] & W_BATT_LOW:
            why |= R_BATT_LOW
        if m[S_WARN] & W_LIMITS_EMPTY:
            why |= R_LIMITS
        if why != 0:
            m[S_REFUSED] = why
            m[C_RUN] = 0
            m[S_STATE] = ST_IDLE
            return
        m[S_REFUSED] = 0
        m[S_STATE] = ST_RUNNING
        m[S_RUN_TICKS] = 0
        m[S_INTEG] = 0
        m[S_RAMP_CHZ] = 0


@micropython.viper
def _stroke(m: ptr32):
    # Stroke-rate PI with feed-forward and soft start -> S_DUTY; counts the
    # cartridge's run time.
    s = 1
    s = s << 31
    k = (s << 1) - 1
    lvl = ((m[C_LEVEL] + s) & k) - s
    if lvl < 0:
        lvl = 0
    if lvl >= m[P_LEVELS]:
        lvl = m[P_LEVELS] - 1
    target = m[P_LEVEL_CHZ + lvl]
    m[S_TARGET_CHZ] = target

    ramp = ((m[S_RAMP_CHZ] + s) & k) - s   # (signed: a corrupted word reads the same everywhere)
    if ramp < 0:
        ramp = 0
    if ramp > _RAMP_MAX:
        ramp = _RAMP_MAX
    step = m[P_RAMP_CHZ]
    if ramp + step < target:
        ramp += step
    elif ramp - step > target:
        ramp -= step
    else:
        ramp = target
    m[S_RAMP_CHZ] = ramp

    rate = m[S_RATE_CHZ]

    # Feed-forward: the motor voltage this rate needs, over the battery's.
    v = ((m[S_VBAT_MV] + s) & k) - s
    if v < 1000:
        v = 1000
    if v > 32767:
        v = 32767
    ff_mv = ((m[P_FF_Q10] * ramp) >> 10) + m[P_FF_OFS_MV]   # 10240 * 40000; + 20000
    ff = (ff_mv << 12) // v * 16                              # 65536 * mv / v; 420000 << 12
    # The error one measurement can put into the PI is bounded: a glitch
    # (a 6 us tach period) moves the duty and the integral by at most this.
    err = ramp - rate
    if err > _ERR_MAX:
        err = _ERR_MAX
    if err < 0 - _ERR_MAX:
        err = 0 - _ERR_MAX
    dmax = m[P_DUTY_MAX]
    lim = dmax << 8
    integ = ((m[S_INTEG] + s) & k) - s
    if integ > lim:
        integ = lim
    if integ < 0 - lim:
        integ = 0 - lim
    u = ff + ((m[P_KP_Q8] * err) >> 8) + (integ >> 8)        # 25600 * 20000

    prev = m[O_DUTY]
    if prev < 0 or prev > dmax:
        prev = dmax
    ceiling = prev + m[P_DUTY_SLEW]
    if ceiling > dmax:
        ceiling = dmax
    # Current limit while accelerating: the duty does not rise while the
    # motor draws more than P_ILIM_MA (below the over-current trip) and
    # speeds up (the last change of the tach's rate was up, or no rate yet):
    # a heavy rotor accelerates more slowly instead of tripping it.  Only a
    # hold, never a cut, and not while the motor slows down, so a short or
    # a jammed cam still shows its full current and trips at once.
    acc = m[S_ACCEL]
    last = m[S_RATE_LAST]
    if last < 0 or last > _RATE_MAX:      # a corrupted word: no change seen
        last = rate
    if rate > last:
        acc = 1
    elif rate < last:
        acc = 0
    m[S_ACCEL] = acc
    m[S_RATE_LAST] = rate
    held = 0
    if ((m[S_CURRENT_MA] + s) & k) - s > m[P_ILIM_MA] and ceiling > prev and (acc == 1 or rate == 0):
        ceiling = prev
        held = 1
    # Integrate unless the output is pinned in the direction of the error
    # (anti-windup), and keep the integral within one full duty.
    if not ((u >= ceiling and err > 0) or (u <= 0 and err < 0)):
        integ += (m[P_KI_Q12] * err) >> 4                    # 40960 * 20000
        if integ > lim:
            integ = lim
        elif integ < 0 - lim:
            integ = 0 - lim
    m[S_INTEG] = integ
    # Saturated (for the shortfall check): the PI asks for more than the
    # duty's maximum or the current limit allows (not the soft start's slope).
    m[S_SF_SAT] = 1 if u > ceiling and (ceiling >= dmax or held) else 0
    if u > ceiling:
        u = ceiling
    if u < 0:
        u = 0
    m[S_DUTY] = u
    n = m[S_RUN_TICKS]
    if n < 0x3FFFFFFF:
        m[S_RUN_TICKS] = n + 1
    n = m[S_CART_USE_TICKS]              # cartridge run time, whole seconds
    if n < 0 or n >= m[P_TICKS_PER_S]:
        n = 0
    n += 1
    if n >= m[P_TICKS_PER_S]:
        n = 0
        u = m[S_CART_USE_S]
        if u >= 0 and u < _COUNT_MAX:     # (_observe clamps a corrupted count)
            m[S_CART_USE_S] = u + 1
    m[S_CART_USE_TICKS] = n


@micropython.viper
def _actuator(m: ptr32, target: int, retract_only: int):
    # Position loop for boards with a depth actuator: P with a dead band,
    # toward `target`; with retract_only it never drives deeper.
    m[O_ACT_DUTY] = 0
    if m[P_HAS_ACT] == 0:
        return
    s = 1
    s = s << 31
    k = (s << 1) - 1
    if target > _UM_MAX:
        target = _UM_MAX
    if target < 0 - _UM_MAX:
        target = 0 - _UM_MAX
    err = target - (((m[S_DEPTH_UM] + s) & k) - s)      # S_DEPTH_UM: +-32767, this tick's
    if err <= m[P_ACT_DEADBAND_UM] and err >= 0 - m[P_ACT_DEADBAND_UM]:
        return
    if err > _ACT_ERR_MAX:
        err = _ACT_ERR_MAX
    if err < 0 - _ACT_ERR_MAX:
        err = 0 - _ACT_ERR_MAX
    u = (m[P_ACT_KP_Q8] * err) >> 8                          # 65280 * 20000
    amax = m[P_ACT_MAX]
    if u > amax:
        u = amax
    elif u < 0 - amax:
        u = 0 - amax
    if retract_only and u > 0:
        u = 0
    m[O_ACT_DUTY] = u


@micropython.viper
def tick(m: ptr32) -> int:
    # One control period.  Returns the latched fault bits (0: healthy);
    # ints returned stay small so that the call allocates nothing.  The
    # stages talk through the memory, in this order.
    m[S_TICKS] = (m[S_TICKS] + 1) & 0x3FFFFFFF
    n = m[S_SLOW] - 1
    if n <= 0 or n > SLOW_TICKS:          # (a corrupted count must not stop _supply)
        n = SLOW_TICKS
        _supply(m)
    m[S_SLOW] = n
    window(m, S_LIMIT_LO)
    _observe(m)
    _interlock(m)
    duty = 0
    if m[S_STATE] == ST_RUNNING:
        _stroke(m)
        duty = m[S_DUTY]
    else:
        m[S_DUTY] = 0
    f = m[S_FAULTS]
    if f != 0:
        # The fault wins in the tick that saw it, whatever was computed:
        # motor off and braked, needles back to the shallowest depth (only
        # retracting, and not at all when the depth sensors disagree).
        m[O_DUTY] = 0
        m[O_BRAKE] = 1
        m[O_ENABLE] = 0
        if f & F_DEPTH_DISAGREE:
            m[O_ACT_DUTY] = 0
        else:
            _actuator(m, m[P_HARD_LO_UM], 1)
        return f
    m[O_DUTY] = duty
    m[O_BRAKE] = 1 if duty == 0 else 0
    m[O_ENABLE] = 1 if m[S_STATE] == ST_RUNNING else 0
    s = 1
    s = s << 31
    _actuator(m, ((m[S_DEPTH_TARGET] + s) & ((s << 1) - 1)) - s, 0)
    return 0
