# `service ...` over the protocol: challenge-response unlock, calibration
# and hard-limit changes (docs/protocol.md).  Loaded on demand by
# pen.protocol (it is rare, and heap is scarce on the pen).
from pen import service as servicelib
from pen import settings as settingslib
from pen import tick as T
from pen.protocol import ProtocolError, _int


def service(proto, args):
    """service challenge | unlock <hex> | lock | cal <key> <value> | limits <lo_um> <hi_um>"""
    usage = "usage: service challenge | unlock <answer> | lock | cal <key> <value> | limits <lo_um> <hi_um>"
    svc = proto.app.service
    if not args or svc is None:
        raise ProtocolError("bad_argument" if svc else "unavailable", usage if svc else "no service access here")
    what = args[0].lower()
    if what == "challenge":
        try:
            return "challenge " + svc.challenge()
        except ValueError as e:
            raise ProtocolError("refused", str(e))
    if what == "unlock":
        proto._nargs(args, 2, 2, "service unlock <answer>")
        if not svc.unlock(args[1].lower()):
            proto.app.event("service", "unlock refused")
            raise ProtocolError("refused", "wrong answer (or no challenge): service challenge first")
        proto.app.event("service", "unlocked")
        return "service mode for {} min".format(servicelib.UNLOCK_MS // 60000)
    if what == "lock":
        svc.lock()
        proto.app.event("service", "locked")
        return "locked"
    if not svc.active():
        raise ProtocolError("refused", "service functions need an unlock: service challenge, service unlock")
    if proto.core.running():
        raise ProtocolError("refused", "stop the motor first")
    if what == "cal":
        proto._nargs(args, 3, 3, "service cal <cal_depth_a|cal_depth_b|cal_current> <counts>")
        key, value = args[1], _int(args[2], args[1])
        if proto.settings is None or key not in settingslib.CAL_KEYS:
            raise ProtocolError("bad_argument", "calibration keys: " + ", ".join(settingslib.CAL_KEYS))
        old = proto.settings.values.get(key)
        try:
            proto.settings.set(key, value)
        except ValueError as e:
            raise ProtocolError("out_of_range", str(e))
        proto.settings.sign_calibration(svc.key)
        proto.app.event("service", "{} {} -> {} (applied at the next boot)".format(key, old, value))
        proto._keep()
        return "{} {} (applied at the next boot)".format(key, value)
    if what == "limits":
        proto._nargs(args, 3, 3, "service limits <hard_min_um> <hard_max_um>")
        lo, hi = _int(args[1], "hard_min_um"), _int(args[2], "hard_max_um")
        if not 0 <= lo < hi <= 5000:
            raise ProtocolError("out_of_range", "hard limits must satisfy 0 <= min < max <= 5000 um")
        old = (proto.m[T.P_HARD_LO_UM], proto.m[T.P_HARD_HI_UM])
        try:
            servicelib.save_limits(svc.key, lo, hi)
        except Exception as e:
            raise ProtocolError("storage", "could not write the limits: {}".format(e))
        proto.app.event("service", "hard limits {}..{} -> {}..{} um (at the next boot)".format(
            old[0], old[1], lo, hi))
        proto._keep()
        return "hard limits {}..{} um from the next boot".format(lo, hi)
    raise ProtocolError("bad_argument", usage)
