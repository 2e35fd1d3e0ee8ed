"""The consent gate in front of every output: frames of an avatar set go out only while a valid consent
record covers it (CONSENT.md K1). Re-checked every few seconds, so revoking a record (here or with
`run.py consent revoke`) stops its outputs."""
import logging
import time

log = logging.getLogger(__name__)


class ConsentGate:
    def __init__(self, store, scope: str = "live", interval_s: float = 2.0, clock=time.monotonic):
        self.store = store
        self.scope = scope
        self.interval_s = interval_s
        self.clock = clock
        self._cache = {}          # image hashes -> (allowed, reason, checked_at)

    def check(self, avatar) -> tuple:
        """(allowed, reason) for this LiveAvatar now."""
        if avatar is None:
            return False, "no avatar"
        if not avatar.needs_consent:
            return True, "the built-in sample depicts no one"
        key = tuple(sorted(avatar.image_hashes))
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[2] < self.interval_s:
            return hit[0], hit[1]
        if self.store is None:
            result = (False, "no consent store")
        else:
            try:
                rec = self.store.find_valid(key, scope=self.scope)
                result = (True, f"consent record {rec.id}") if rec else \
                    (False, f"no valid consent record covers {avatar.name} (revoked, expired or never given)")
            except Exception as exc:        # an unreadable store fails closed
                result = (False, f"the consent records could not be read ({exc})")
        self._cache[key] = (*result, now)
        return result

    def forget(self) -> None:
        self._cache.clear()
