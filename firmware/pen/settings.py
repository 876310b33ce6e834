# Persistent settings: what the pen remembers across power cycles (last
# speed and depth, zone and profile, auto-off, calibration, the fitted
# cartridge's usage).  Loaded at boot, validated field by field; anything
# wrong falls back to the safe defaults, is reported, and never raises a
# limit: settings hold no limits, only choices the firmware checks against
# its own tables, and calibration offsets bounded to within the depth
# tolerance.
from pen import tick as T
from pen import zones
from pen.store import Store

# key: (default, kind, lo, hi) ; kind "int" or a tuple of allowed strings
SCHEMA = {
    "level": (1, "int", 1, T.MAX_LEVELS),
    "depth_um": (250, "int", 0, 5000),
    "zone": (zones.DEFAULT_ZONE, tuple(zones.zone_names()), 0, 0),
    "profile": (zones.DEFAULT_PROFILE, tuple(zones.profile_names()), 0, 0),
    "auto_off_s": (300, "int", 30, 3600),
    "cart_use_s": (0, "int", 0, 100000),
    # the use recorded before a start (use + the App's reservation), settled
    # back to the use after the stop: a power cut while running loses none
    "cart_reserved_s": (0, "int", 0, 100000),
    # cartridge types (bit per type) whose last cartridge was used up: one
    # put back counts as used up until a new one is confirmed
    "cart_locked": (0, "int", 0, 0x1FE),
    # faults latched at power-off: a power cycle is not a deliberate clear
    "latched": (0, "int", 0, T.F_ALL),
    # calibration, ADC counts added to the board's offsets, written only by
    # the unlocked service function and signed with the pen's key (cal_mac),
    # so editing the file cannot blind a check.  +-500 counts is at most
    # 23 um of depth (the depth tolerance is 100 um) and 38 mA of current
    # (below the 40 mA dead-sensor floor: a dead sensor still reads dead).
    "cal_depth_a": (0, "int", -500, 500),
    "cal_depth_b": (0, "int", -500, 500),
    "cal_current": (0, "int", -500, 500),
    "cal_mac": ("", "mac", 0, 0),
    # The safety state (faults latched at power-off, the fitted cartridge's
    # use) is signed with the pen's key too (state_mac): an edited, unsigned
    # or missing record on a pen that has a key reads as the most
    # restrictive state (settings fault latched, cartridge used up).
    "state_mac": ("", "mac", 0, 0),
}
CAL_KEYS = ("cal_depth_a", "cal_depth_b", "cal_current")
STATE_KEYS = ("latched", "cart_use_s", "cart_reserved_s", "cart_locked")
USED_UP_S = 100000                  # a use no cartridge allows: reads as used up
# A signed factory state staged beside the firmware (deploy --stage --pen-id):
# taken only by a pen that has no record yet, then removed.
INIT_PATH = "settings.init"


def defaults():
    return {k: v[0] for k, v in SCHEMA.items()}


def check(key, value):
    """Raise ValueError if `value` is not allowed for `key`."""
    if key not in SCHEMA:
        raise ValueError("unknown setting '{}'".format(key))
    _, kind, lo, hi = SCHEMA[key]
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("{} must be a whole number".format(key))
        if not lo <= value <= hi:
            raise ValueError("{} = {} is outside {}..{}".format(key, value, lo, hi))
    elif kind == "mac":
        if not isinstance(value, str) or len(value) not in (0, 64):
            raise ValueError("{} must be a signature (64 hex digits) or empty".format(key))
    elif value not in kind:
        raise ValueError("{} must be one of: {}".format(key, ", ".join(kind)))


class Settings:
    def __init__(self, path="settings.rec", fs=None):
        self.store = Store(path, fs)
        self.values = defaults()
        self.saved = None          # what is on flash, to skip needless writes
        self.problems = []
        self.found = False         # a record was on flash at load()
        self.key = None            # the pen's key, from apply(): save() signs with it
        self.notes = []            # what apply() found worth logging (not a problem)

    def load(self):
        """Read the flash.  Returns True if the settings are usable as read
        (or there were none yet); False if defaults replace bad ones."""
        data, problems = self.store.load()
        self.problems = list(problems)
        if data is None and not problems:
            data = self._initial()
        self.found = data is not None
        if data is None:
            self.values = defaults()
            return not problems
        if not isinstance(data, dict):
            self.problems.append("settings are not a table")
            self.values = defaults()
            return False
        vals = defaults()
        ok = not problems
        for key, value in data.items():
            try:
                check(key, value)
                vals[key] = value
            except ValueError as e:
                self.problems.append(str(e) + " (default used)")
                ok = False
        self.values = vals
        self.saved = dict(vals)
        return ok

    def _initial(self):
        # The staged factory state, if any (its signature is checked in
        # apply() like any record's).  Removed once read: the first save
        # makes the pen's own record.
        from pen.store import decode
        fs = self.store.fs
        raw = fs.read(INIT_PATH)
        if raw is None:
            return None
        try:
            fs.remove(INIT_PATH)
        except OSError:
            pass
        try:
            return decode(raw)[1]
        except ValueError as e:
            self.problems.append("{}: {}".format(INIT_PATH, e))
            return None

    def save(self):
        """Write if anything changed (signed, once the pen's key is known).
        Returns True if it wrote."""
        if self.key is not None:
            self.values["state_mac"] = self._state_mac(self.key)
        if self.values == self.saved:
            return False
        self.store.save(self.values)
        self.saved = dict(self.values)
        return True

    def set(self, key, value):
        check(key, value)
        self.values[key] = value

    # ---- between the settings and a running core ---------------------------
    def _cal_mac(self, key):
        from pen.service import sign
        return sign(key, [self.values[k] for k in CAL_KEYS])

    def _state_mac(self, key):
        from pen.service import sign
        return sign(key, ["state"] + [self.values[k] for k in STATE_KEYS])

    def _state_problem(self, key):
        # On a pen with a key the safety state must be signed by it; if not
        # (edited, unsigned, missing: a power-off is no clear and a file is
        # no new cartridge) the most restrictive state replaces it.
        if key is None:
            return None
        v = self.values
        if self.found and v["state_mac"] == self._state_mac(key):
            return None
        v["latched"] |= T.F_SETTINGS
        v["cart_use_s"] = v["cart_reserved_s"] = USED_UP_S
        v["cart_locked"] = 0x1FE                 # and any cartridge needs confirming as new
        return ("safety state " + ("not signed by this pen's key" if self.found else "missing") +
                ": settings fault latched, cartridge taken as used up (clear, and fit a new cartridge)")

    def sign_calibration(self, key):
        """Sign the calibration fields with the pen's key (service function)."""
        self.values["cal_mac"] = self._cal_mac(key)

    def _calibration_problem(self, key):
        # Unsigned or foreign calibration is dropped (the board's own
        # offsets stay): a problem string, or None when it is genuine.
        v = self.values
        if not any(v[k] for k in CAL_KEYS):
            return None
        if key is not None and v["cal_mac"] == self._cal_mac(key):
            return None
        for k in CAL_KEYS:
            v[k] = 0
        v["cal_mac"] = ""
        return "calibration is not signed by this pen's key: ignored (service cal to redo it)"

    def apply(self, core, key=None):
        """Put the remembered choices into a freshly built core.  Returns a
        problem string if something remembered had to be dropped."""
        self.key = key
        problems = [p for p in (self._state_problem(key), self._calibration_problem(key)) if p]
        problem = "; ".join(problems) if problems else None
        v = self.values
        m = core.m
        # (offsets stay 0..65535: the tick's ADC products are bounded by it)
        for ofs, key in ((T.P_DA_OFS, "cal_depth_a"), (T.P_DB_OFS, "cal_depth_b"), (T.P_CUR_OFS, "cal_current")):
            m[ofs] = max(0, min(65535, m[ofs] + v[key]))
        core.set_zone(v["zone"], v["profile"])
        core.m[T.C_LEVEL] = min(v["level"], len(core.levels)) - 1
        m[T.C_DEPTH_UM] = v["depth_um"]
        core.trim_request()
        # the cartridge seated at boot is taken for the one that was seated
        # at power-off: its usage continues (a reboot does not renew it).  A
        # reservation never settled: the power went while the motor ran, for
        # at most the reservation -- counted in full.
        if v["cart_reserved_s"] > v["cart_use_s"]:
            self.notes.append("power lost while running: cartridge use {} s counted as its reservation {} s".format(
                v["cart_use_s"], v["cart_reserved_s"]))
            v["cart_use_s"] = v["cart_reserved_s"]
        m[T.S_CART_USE_S] = v["cart_use_s"]
        core.set_cart_locked(v["cart_locked"])
        m[T.S_CART_SEEN] = 1 if m[T.I_CART_PRESENT] else 0
        if v["latched"]:
            core.restore_latched(v["latched"])  # still latched: clear them deliberately
        return problem

    def capture(self, core, auto_off_s=None, reserved_s=0):
        """Take the current choices from a running core; `reserved_s`: the
        cartridge use reserved for a start (0: settled, the use itself)."""
        v = self.values
        m = core.m
        v["level"] = m[T.C_LEVEL] + 1
        v["depth_um"] = m[T.C_DEPTH_UM]
        v["zone"] = core.zone
        v["profile"] = core.profile
        v["cart_use_s"] = m[T.S_CART_USE_S] if m[T.I_CART_PRESENT] else 0
        v["cart_reserved_s"] = min(USED_UP_S, max(v["cart_use_s"], reserved_s))
        v["cart_locked"] = core.cart_locked
        v["latched"] = m[T.S_FAULTS]
        if auto_off_s is not None:
            v["auto_off_s"] = auto_off_s
