# Service access: HMAC-SHA256 as hmac.new() computes it, the challenge-response
# unlock with its lockout, signatures that a changed byte breaks.
from pen import service

from rigs import raises

KEY = bytes(range(32))


def test_hmac_matches_the_standard():
    # RFC 2104 / Wikipedia test vector
    assert service.hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog") == \
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert service.hmac_sha256(b"x" * 100, b"") == service.hmac_sha256(service.sha256(b"x" * 100).digest(), b"")


def test_signatures_cover_every_byte_and_not_the_key_order():
    a = {"files": {"a.py": "00", "b.py": "11"}, "board": "virtual"}
    b = {"board": "virtual", "files": {"b.py": "11", "a.py": "00"}}
    assert service.sign(KEY, a) == service.sign(KEY, b)
    c = {"board": "virtual", "files": {"b.py": "11", "a.py": "01"}}
    assert service.sign(KEY, a) != service.sign(KEY, c)
    assert service.sign(KEY, a) != service.sign(bytes(32), a)


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


def test_unlock_lockout_and_expiry():
    clock = Clock()
    svc = service.Service(KEY, clock)
    assert not svc.active()
    nonce = svc.challenge()
    assert svc.unlock(svc.expected(nonce)) and svc.active()
    assert not svc.unlock(svc.expected(nonce))        # a challenge is used once
    clock.t += service.UNLOCK_MS + 1
    assert not svc.active()
    for _ in range(service.MAX_FAILURES):
        svc.challenge()
        assert not svc.unlock("00" * 32)
    raises(ValueError, svc.challenge)                  # locked out for a minute
    clock.t += service.LOCKOUT_MS + 1
    nonce = svc.challenge()
    assert svc.unlock(svc.expected(nonce))


def test_no_key_no_service():
    svc = service.Service(None, Clock())
    e = raises(ValueError, svc.challenge)
    assert "deploy" in str(e)
    assert not svc.unlock("00")
