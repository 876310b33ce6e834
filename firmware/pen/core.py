# The pen's control core as the rest of the firmware sees it: the memory the
# tick runs on, plus the commands people give (start, speed, depth, zone,
# clear), each checked here with a clear refusal and checked again by the
# tick.  Commands only write command words; the tick decides.
#
# Runs in the background, which the tick may interrupt at any bytecode (on
# the rp2 pen the tick runs in a timer interrupt): a command writes each
# word with one plain store, and never read-modify-writes a word the tick
# writes too (pen.tick notes who owns which word).
from pen import faults, zones
from pen import tick as T
from pen.mem import new_memory

DEPTH_STEP_UM = 50


class Refused(Exception):
    """A command the pen will not carry out; `code` is a short word."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


class Core:
    def __init__(self, board, level=1, depth_um=None, zone=zones.DEFAULT_ZONE,
                 profile=zones.DEFAULT_PROFILE, fast_memory=False):
        from pen import board as boardlib  # boot-only: pen.startup drops it after
        boardlib.check(board)
        self.board = board
        self.m = m = new_memory(fast_memory)
        boardlib.params(board, m)
        self.levels = list(board["motor"]["speed_levels_sps"])
        self.cartridges = [c["name"] for c in board["cartridges"]]
        self.zone = zone
        self.profile = profile
        self.before_start = None         # called by start() before the motor may run
        self.cart_locked = 0             # C_CART_LOCKED's mask, kept here for the settings
        m[T.C_ZONE_LO_UM] = 0
        m[T.C_ZONE_HI_UM] = zones.zone_max_um(zone, profile)
        m[T.C_LEVEL] = max(0, min(int(level) - 1, len(self.levels) - 1))   # level is 1-based
        lo = m[T.P_HARD_LO_UM]
        m[T.C_DEPTH_UM] = lo if depth_um is None else int(depth_um)

    # ---- limits ------------------------------------------------------------
    def limits(self):
        """The active depth window (lo, hi) in um, computed by the tick's own code
        into the background's words (the tick's own are the tick's)."""
        T.window(self.m, T.B_LIMIT_LO)
        return self.m[T.B_LIMIT_LO], self.m[T.B_LIMIT_HI]

    def trim_request(self):
        """Clamp the depth request into the window now.  Boot only, before the
        tick runs; afterwards the tick trims it every period."""
        self.limits()
        self.m[T.C_DEPTH_UM] = self.m[T.B_DEPTH_TARGET]

    def limit_sources(self):
        """Which limit binds: [(source, lo, hi)], for messages and docs."""
        m = self.m
        out = [("board", m[T.P_HARD_LO_UM], m[T.P_HARD_HI_UM])]
        ct = m[T.I_CART_TYPE]
        if m[T.I_CART_PRESENT] and 1 <= ct <= m[T.P_CARTS]:
            base = T.P_CART + 3 * (ct - 1)
            out.append(("cartridge " + self.cartridges[ct - 1], m[base], m[base + 1]))
        out.append(("zone {} ({})".format(self.zone, self.profile), m[T.C_ZONE_LO_UM], m[T.C_ZONE_HI_UM]))
        return out

    # ---- commands ------------------------------------------------------------
    def set_depth(self, um):
        """Protocol depth request: refused (not truncated) outside the limits."""
        if not isinstance(um, int) or isinstance(um, bool):
            raise Refused("bad_argument", "depth must be a whole number of micrometres")
        if um % DEPTH_STEP_UM:
            raise Refused("bad_argument", "depth must be a multiple of {} um".format(DEPTH_STEP_UM))
        lo, hi = self.limits()
        if not lo <= um <= hi:
            binding = [s for s, slo, shi in self.limit_sources() if um < slo or um > shi]
            raise Refused("out_of_range", "depth {} um is outside the active limit {}..{} um (set by {})".format(
                um, lo, hi, ", ".join(binding)))
        self.m[T.C_DEPTH_UM] = um
        return um

    def step_depth(self, steps):
        """Button depth change: moves by whole steps and stops at the limit."""
        lo, hi = self.limits()
        cur = self.m[T.C_DEPTH_UM]
        want = cur + steps * DEPTH_STEP_UM
        want = max(lo, min(hi, want))
        if (want - cur) * steps < 0:   # never move against the button
            want = cur
        self.m[T.C_DEPTH_UM] = want
        return want

    def set_level(self, level):
        n = len(self.levels)
        if not isinstance(level, int) or isinstance(level, bool):
            raise Refused("bad_argument", "speed level must be a whole number")
        if not 1 <= level <= n:
            raise Refused("out_of_range", "speed level {} is outside 1..{}".format(level, n))
        self.m[T.C_LEVEL] = level - 1
        return level

    def step_level(self, steps):
        lvl = max(0, min(len(self.levels) - 1, self.m[T.C_LEVEL] + steps))
        self.m[T.C_LEVEL] = lvl
        return lvl + 1

    def set_zone(self, zone, profile=None):
        profile = profile or self.profile
        try:
            hi = zones.zone_max_um(zone, profile)
        except ValueError as e:
            raise Refused("bad_argument", str(e))
        m = self.m
        # A lower cap than the needles are at now: stop first, then move, so
        # the motor never strokes beyond the new limit.
        if m[T.S_STATE] == T.ST_RUNNING and m[T.S_DEPTH_UM] > hi + m[T.P_DEPTH_TOL_UM]:
            m[T.C_RUN] = 0
        self.zone, self.profile = zone, profile
        m[T.C_ZONE_HI_UM] = hi
        # The next tick trims the request into the new window, so that coming
        # back to a deeper zone later never deepens the needles by itself.
        return self.limits()[1]

    def start_refusal(self):
        """Why a start would be refused now (R_* bits; 0: it would start)."""
        m = self.m
        why = 0
        if m[T.S_FAULTS]:
            why |= T.R_FAULT
        act = m[T.S_ACTIVE]
        if act & (T.F_CART_MISSING | T.F_CART_USED):
            why |= T.R_CARTRIDGE
        warn = m[T.S_WARN]
        if act & T.F_OVER_DEPTH or warn & T.W_DEPTH_OUTSIDE:
            why |= T.R_DEPTH
        if warn & T.W_BATT_LOW:
            why |= T.R_BATT_LOW
        if warn & T.W_LIMITS_EMPTY:
            why |= T.R_LIMITS
        return why

    def start(self):
        why = self.start_refusal()
        if why:
            text = faults.describe(why, faults.REFUSALS)
            if why & T.R_FAULT:
                text += " (" + ", ".join(faults.names(self.m[T.S_FAULTS])) + ")"
            raise Refused("refused", "start refused: " + text)
        if self.before_start is not None:
            self.before_start()          # the App records the cartridge's use first (may refuse)
        self.m[T.C_RUN] = 1

    def stop(self):
        self.m[T.C_RUN] = 0

    # ---- used-up cartridges (the background; the tick applies the mask) -----
    def set_cart_locked(self, mask):
        self.cart_locked = mask & 0x1FE
        self.m[T.C_CART_LOCKED] = self.cart_locked

    def seated_cartridge(self):
        """The seated cartridge's type (1..n), or 0 if none is seated."""
        m = self.m
        ct = m[T.I_CART_TYPE]
        return ct if m[T.I_CART_PRESENT] and 1 <= ct <= len(self.cartridges) else 0

    def lock_used_cartridge(self):
        """If the seated cartridge is used up, lock its type (a put-back
        cartridge of it then counts as used up).  Returns the type newly
        locked, or 0."""
        ct = self.seated_cartridge()
        m = self.m
        if m[T.C_CART_NEW]:
            return 0                     # confirmed new: the tick has not reset its use yet
        if ct and m[T.S_ACTIVE] & T.F_CART_USED and not (self.cart_locked >> ct) & 1:
            self.set_cart_locked(self.cart_locked | (1 << ct))
            return ct
        return 0

    def confirm_new_cartridge(self):
        """The practitioner says the seated cartridge is new: its use starts
        at 0 and its type is unlocked.  Returns its name."""
        if self.running():
            raise Refused("refused", "stop the motor first")
        ct = self.seated_cartridge()
        if not ct:
            raise Refused("refused", "no cartridge seated: seat the new cartridge, then confirm it")
        self.set_cart_locked(self.cart_locked & ~(1 << ct))
        self.m[T.C_CART_NEW] = 1
        return self.cartridges[ct - 1]

    def clear(self):
        """Ask the tick to clear latched faults whose cause is gone.

        Returns the names of faults that will stay latched (cause present).
        """
        m = self.m
        if m[T.C_RUN]:
            raise Refused("refused", "stop the motor before clearing faults")
        m[T.C_CLEAR] = (m[T.C_CLEAR] + 1) & 0x3FFFFFFF
        return faults.names(m[T.S_FAULTS] & m[T.S_ACTIVE])

    def raise_fault(self, bit):
        """Report a fault found outside the tick; it latches next tick.
        Boot only, or from the tick's own context (the tick consumes this
        word; from the background use set_present)."""
        self.m[T.I_EXT_FAULTS] |= bit

    def set_present(self, bits):
        """The fault causes the background sees present now (storage): they
        latch at the next tick and can be cleared once they are gone."""
        self.m[T.I_BG_FAULTS] = bits & T.F_ALL

    def hold_fault(self, bit):
        """A cause found at boot that no clear can remove (integrity): it
        stays present until the pen reboots with the cause gone."""
        self.m[T.I_HELD_FAULTS] |= bit

    def restore_latched(self, bits):
        """Faults latched before a power cycle, latched again as they were
        (before the first tick, so the at-rest masking does not apply)."""
        self.m[T.S_FAULTS] |= bits & T.F_ALL

    # ---- reading -------------------------------------------------------------
    def running(self):
        return self.m[T.S_STATE] == T.ST_RUNNING

    def status(self):
        m = self.m
        lo, hi = m[T.S_LIMIT_LO], m[T.S_LIMIT_HI]
        ct = m[T.I_CART_TYPE]
        return {
            "state": ("idle", "running", "fault")[m[T.S_STATE]],
            "level": m[T.C_LEVEL] + 1,
            "levels": len(self.levels),
            "target_sps": m[T.S_TARGET_CHZ] / 100,
            "rate_sps": m[T.S_RATE_CHZ] / 100,
            "duty": m[T.O_DUTY],
            "depth_um": m[T.S_DEPTH_UM],
            "depth_target_um": m[T.S_DEPTH_TARGET],
            "depth_request_um": m[T.C_DEPTH_UM],
            "limit_um": [lo, hi],
            "zone": self.zone,
            "profile": self.profile,
            "cartridge": self.cartridges[ct - 1] if m[T.I_CART_PRESENT] and 1 <= ct <= len(self.cartridges) else None,
            "cartridge_use_s": m[T.S_CART_USE_S],
            "battery_mv": m[T.S_VBAT_MV],
            "temp_c": m[T.S_TEMP_DC] / 10,
            "current_ma": m[T.S_CURRENT_MA],
            "faults": faults.names(m[T.S_FAULTS]),
            "warnings": faults.names(m[T.S_WARN], faults.WARNINGS),
            # the motor's back-EMF constant learned this boot, % of nominal (null: not yet)
            "ke_pct": m[T.S_KE_Q10] * 100 // m[T.P_FF_Q10] if m[T.S_KE_N] >= m[T.P_KE_N] else None,
            "refused": faults.names(m[T.S_REFUSED], faults.REFUSALS),
        }
