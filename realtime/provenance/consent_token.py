"""Consent tokens: how someone else gives consent to be animated from their photos.

The depicted person runs the app on their own machine (`run.py consent token`), ideally after the
live check that their webcam face matches the photos, and gets a token signed with their install's
Ed25519 key: their name, the exact image hashes, scope, expiry, optionally the install it is meant
for (audience), and the live-check figures. The animator imports it (`run.py consent import`):
the token is checked (signature, expiry, audience) and becomes a local consent record with
method "token" that embeds it, so it can be shown to anyone later. Without a token, consent for
someone else is only attested and outputs carry the stronger label.
"""
import base64
import hashlib
import secrets
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import ConsentError
from .consent import SCOPES, ConsentRecord, ConsentStore, _iso, _now, _parse, canonical_json

TOKEN_FORMAT = "avatarcam.consent-token/1"
FIELDS = ("format", "id", "who", "image_hashes", "scope", "created", "expires", "audience", "evidence",
          "public_key", "key_id", "signature")


def _raw_public(store: ConsentStore) -> str:
    raw = store.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def create_token(store: ConsentStore, image_hashes, name: str, scope=SCOPES, expires_days: float = 365,
                 audience: str = None, evidence: dict = None, now: datetime = None) -> dict:
    """A token signed by this install's key (run on the depicted person's machine)."""
    hashes = sorted(set(image_hashes))
    if not hashes or not all(isinstance(h, str) and len(h) == 64 for h in hashes):
        raise ConsentError("consent token: expected one or more SHA-256 hex image hashes")
    if not (name and name.strip()):
        raise ConsentError("consent token: give the name of the person who consents")
    scope = [s for s in SCOPES if s in set(scope)]
    if not scope or set(scope) - set(SCOPES):
        raise ConsentError(f"consent token: scope must be a non-empty subset of {SCOPES}")
    if expires_days <= 0:
        raise ConsentError(f"consent token: expires_days must be > 0, got {expires_days}")
    t = now or _now()
    token = {"format": TOKEN_FORMAT, "id": secrets.token_hex(8), "who": name.strip(), "image_hashes": hashes,
             "scope": scope, "created": _iso(t), "expires": _iso(t + timedelta(days=expires_days)),
             "audience": audience or None, "evidence": dict(evidence or {}),
             "public_key": _raw_public(store), "key_id": store.key_id}
    token["signature"] = store.sign_bytes(canonical_json(token))
    return token


def verify_token(token: dict, now: datetime = None, audience: str = None):
    """(ok, reason): well-formed, signed by the key it carries, unexpired, meant for this install."""
    if not isinstance(token, dict) or token.get("format") != TOKEN_FORMAT:
        return False, f"not a consent token (expected format {TOKEN_FORMAT!r})"
    if set(token) != set(FIELDS):
        return False, f"malformed token: fields {sorted(set(token) ^ set(FIELDS))} missing or unexpected"
    try:
        raw = base64.b64decode(token["public_key"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
        if hashlib.sha256(raw).hexdigest()[:16] != token["key_id"]:
            return False, "key id does not match the token's public key"
        body = {k: v for k, v in token.items() if k != "signature"}
        key.verify(base64.b64decode(token["signature"], validate=True), canonical_json(body))
    except (InvalidSignature, ValueError, TypeError):
        return False, "signature does not match: the token was altered or not signed by its key"
    try:
        expires = _parse(token["expires"])
    except (TypeError, ValueError):
        return False, f"unreadable expiry {token['expires']!r}"
    if (now or _now()) >= expires:
        return False, f"expired on {token['expires']}"
    if token["audience"] and audience and token["audience"] != audience:
        return False, f"made for another install ({token['audience']}), this one is {audience}"
    return True, "valid"


def import_token(store: ConsentStore, token: dict, image_hashes=None, now: datetime = None) -> ConsentRecord:
    """Check a token and store it as a local consent record (kind other, method token).

    image_hashes: when given (the avatar set being loaded), the token must cover exactly them.
    """
    ok, reason = verify_token(token, now=now, audience=store.key_id)
    if not ok:
        raise ConsentError(f"consent token refused: {reason}")
    if image_hashes is not None and set(image_hashes) != set(token["image_hashes"]):
        raise ConsentError("consent token refused: it covers other images than this avatar set "
                           f"({len(token['image_hashes'])} image(s) in the token, {len(set(image_hashes))} here)")
    if token["key_id"] == store.key_id:
        raise ConsentError("consent token refused: it was made by this install; a token must come from "
                           "the depicted person's own machine")
    t = now or _now()
    days = (_parse(token["expires"]) - t).total_seconds() / 86400
    return store.record(token["image_hashes"], "other", token["who"], scope=token["scope"],
                        expires_days=days, method="token", evidence={"token": token}, now=t)
