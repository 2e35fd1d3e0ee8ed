"""The consent gate in front of every output: frames of an avatar set go out only while a valid consent
record covers it for that kind of output (CONSENT.md K1): the virtual camera needs "live", a recording
"record", the stream "stream". Re-checked every few seconds, so revoking a record (here or with
`run.py consent revoke`) stops its outputs. Fails closed: no store, or an unreadable one, allows nothing."""
import logging
import time

log = logging.getLogger(__name__)

# how a scope reads in a status line
SCOPE_WORDS = {"animate": "animation", "live": "live output", "record": "recording", "stream": "streaming"}


class ConsentGate:
    def __init__(self, store, scope: str = "live", interval_s: float = 2.0, clock=time.monotonic):
        self.store = store
        self.scope = scope            # the scope check() uses when given none
        self.interval_s = interval_s
        self.clock = clock
        self._cache = {}          # (scope, image hashes) -> (allowed, reason, checked_at)

    def check(self, avatar, scope: str = None) -> tuple:
        """(allowed, reason) for this LiveAvatar and output scope now."""
        if avatar is None:
            return False, "no avatar"
        if not avatar.needs_consent:
            return True, "the built-in sample depicts no one"
        scope = scope or self.scope
        key = (scope, tuple(sorted(avatar.image_hashes)))
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[2] < self.interval_s:
            return hit[0], hit[1]
        result = self._look_up(avatar, scope, key[1])
        self._cache[key] = (*result, now)
        return result

    def _look_up(self, avatar, scope: str, hashes: tuple) -> tuple:
        if self.store is None:
            return False, "no consent store"
        try:
            rec = self.store.find_valid(hashes, scope=scope)
        except Exception as exc:        # an unreadable store fails closed
            return False, f"the consent records could not be read ({exc})"
        if rec is not None:
            return True, f"consent record {rec.id}"
        return False, (f"no valid consent record covers {avatar.name} for {SCOPE_WORDS.get(scope, scope)} "
                       "(revoked, expired, never given or not for this use)")

    def forget(self) -> None:
        self._cache.clear()
