"""Consent records: who is depicted, self or other, the exact images, scope, expiry, revocation.

Each record is a JSON file signed with a per-install Ed25519 key (made on first use). Outputs may
start only when `find_valid` returns a record whose signature checks, which is unexpired and
unrevoked, whose scope includes the output kind, and whose image hashes are exactly the avatar
set's. No biometric template is stored: only SHA-256 hashes of the images.

Layout under the store root:
    install_ed25519.pem   private key (0600)
    records/<id>.json     one signed record per file
    revoked.txt           ids revoked here, one per line (a restored old copy of a record stays revoked)
    sessions.jsonl        signed lines: session id -> consent record id, output description
"""
import base64
import hashlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConsentError
from .paths import app_home, write_private

log = logging.getLogger(__name__)

SCOPES = ("animate", "live", "record", "stream")
KINDS = ("self", "other")
METHODS = ("attestation", "token", "live-check")
FORMAT = "avatarcam.consent/1"


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def hash_image_bytes(data: bytes) -> str:
    """SHA-256 (hex) of an image file's bytes, read once: what a consent record covers."""
    return hashlib.sha256(data).hexdigest()


def hash_image_file(path) -> str:
    """hash_image_bytes of the file, streamed (the file is not decoded here)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_image_array(image_bgr: np.ndarray) -> str:
    """SHA-256 (hex) of an image array's pixels, with its shape and dtype (so a reshape differs)."""
    a = np.ascontiguousarray(image_bgr)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class ConsentRecord:
    id: str
    who: str                   # name of the depicted person ("" when kind == "self" and not given)
    kind: str                  # "self" | "other"
    image_hashes: tuple        # sorted SHA-256 hex of each avatar image
    scope: tuple               # subset of SCOPES
    created: str               # ISO 8601 UTC
    expires: str               # ISO 8601 UTC
    method: str                # "attestation" | "token" | "live-check"
    revoked: str = None        # ISO time of revocation, or None
    key_id: str = ""           # which install key signed it
    evidence: dict = field(default_factory=dict)   # e.g. the imported token, live-check figures
    format: str = FORMAT
    signature: str = ""        # base64 Ed25519 over canonical JSON of every other field

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_hashes"] = list(self.image_hashes)
        d["scope"] = list(self.scope)
        return d

    def signed_bytes(self) -> bytes:
        d = self.to_dict()
        d.pop("signature")
        return canonical_json(d)

    @property
    def record_hash(self) -> str:
        """SHA-256 of the whole signed record: what recordings' C2PA manifests carry."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    @classmethod
    def from_dict(cls, d: dict) -> "ConsentRecord":
        if not isinstance(d, dict):
            raise ConsentError(f"consent record: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise ConsentError(f"consent record: expected format {FORMAT!r}, got {d.get('format')!r}")
        names = set(cls.__dataclass_fields__)
        unknown = set(d) - names
        if unknown:
            raise ConsentError(f"consent record: unknown fields {sorted(unknown)}")
        try:
            d = dict(d, image_hashes=tuple(d["image_hashes"]), scope=tuple(d["scope"]))
            return cls(**d)
        except (KeyError, TypeError) as e:
            raise ConsentError(f"consent record: malformed ({e})") from None

    def describe(self) -> str:
        state = "revoked" if self.revoked else f"expires {self.expires}"
        who = self.who or "(me)"
        return (f"{self.id}  {self.kind:<5} {who:<20} {len(self.image_hashes)} image(s)  "
                f"scope={','.join(self.scope)}  method={self.method}  {state}")


class ConsentStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._key = None

    @classmethod
    def default(cls) -> "ConsentStore":
        return cls(app_home() / "consent")

    # -- keys ---------------------------------------------------------------------------------
    @property
    def key_path(self) -> Path:
        return self.root / "install_ed25519.pem"

    def _private_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            if self.key_path.exists():
                key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ConsentError(f"{self.key_path}: not an Ed25519 key; move it away to make a new one")
            else:
                key = Ed25519PrivateKey.generate()
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
                write_private(self.key_path, pem)
                log.info("made a new install signing key at %s", self.key_path)
            self._key = key
        return self._key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private_key().public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign_bytes(self, data: bytes) -> str:
        return base64.b64encode(self._private_key().sign(data)).decode()

    def _sign(self, rec: ConsentRecord) -> ConsentRecord:
        rec = replace(rec, key_id=self.key_id, signature="")
        return replace(rec, signature=self.sign_bytes(rec.signed_bytes()))

    # -- records ------------------------------------------------------------------------------
    @property
    def records_dir(self) -> Path:
        return self.root / "records"

    def _path(self, record_id: str) -> Path:
        if not record_id or not all(c in "0123456789abcdef" for c in record_id):
            raise ConsentError(f"consent record id: expected hex digits, got {record_id!r}")
        return self.records_dir / f"{record_id}.json"

    def _save(self, rec: ConsentRecord) -> None:
        write_private(self._path(rec.id), json.dumps(rec.to_dict(), indent=2, sort_keys=True).encode())

    def record(self, image_hashes, kind: str, name: str = None, scope=SCOPES, expires_days: float = 365,
               method: str = "attestation", evidence: dict = None, now: datetime = None,
               save: bool = True) -> ConsentRecord:
        """Create, sign and (unless save=False: see save()) store a consent record for exactly these
        images."""
        hashes = tuple(sorted(set(image_hashes)))
        if not hashes or not all(isinstance(h, str) and len(h) == 64 for h in hashes):
            raise ConsentError("consent record: expected one or more SHA-256 hex image hashes")
        if kind not in KINDS:
            raise ConsentError(f"consent record: kind must be one of {KINDS}, got {kind!r}")
        if kind == "other" and not (name and name.strip()):
            raise ConsentError("consent record: name the person depicted when it is someone else")
        if isinstance(scope, str):
            scope = (scope,)
        bad = set(scope) - set(SCOPES)
        scope = tuple(s for s in SCOPES if s in set(scope))
        if not scope or bad:
            raise ConsentError(f"consent record: scope must be a non-empty subset of {SCOPES}")
        if method not in METHODS:
            raise ConsentError(f"consent record: method must be one of {METHODS}, got {method!r}")
        if expires_days <= 0:
            raise ConsentError(f"consent record: expires_days must be > 0, got {expires_days}")
        t = now or _now()
        rec = ConsentRecord(id=secrets.token_hex(8), who=(name or "").strip(), kind=kind,
                            image_hashes=hashes, scope=scope, created=_iso(t),
                            expires=_iso(t + timedelta(days=expires_days)), method=method,
                            evidence=dict(evidence or {}))
        rec = self._sign(rec)
        if save:
            self.save(rec)
        return rec

    def save(self, rec: ConsentRecord) -> None:
        """Store a record this install signed (record(..., save=False))."""
        self._save(rec)
        log.info("consent record %s: %s, %d image(s), scope %s", rec.id, rec.kind, len(rec.image_hashes), rec.scope)

    def restore(self, rec: ConsentRecord) -> bool:
        """Put back a record this install signed (from an export); False if it is already here.
        Revocations stay in force: a restored revoked record remains revoked."""
        ok, reason = self.verify(rec, check_state=False)
        if not ok:
            raise ConsentError(f"cannot restore consent record {rec.id}: {reason} (records move between "
                               "installs only as consent tokens)")
        if self._path(rec.id).exists():
            return False
        self._save(rec)
        return True

    def load(self, record_id: str) -> ConsentRecord:
        path = self._path(record_id)
        if not path.exists():
            raise ConsentError(f"no consent record {record_id!r} in {self.records_dir}")
        return self.load_file(path)

    @staticmethod
    def load_file(path) -> ConsentRecord:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConsentError(f"{path}: unreadable consent record ({e})") from None
        return ConsentRecord.from_dict(d)

    def records(self) -> list:
        """Every record file that parses (unparseable ones are logged and skipped), oldest first."""
        out = []
        for p in sorted(self.records_dir.glob("*.json")) if self.records_dir.exists() else []:
            try:
                out.append(self.load_file(p))
            except ConsentError as e:
                log.warning("skipping %s", e)
        return sorted(out, key=lambda r: (r.created, r.id))

    def revoked_ids(self) -> set:
        p = self.root / "revoked.txt"
        return set(p.read_text().split()) if p.exists() else set()

    def revoke(self, record_id: str, now: datetime = None) -> ConsentRecord:
        rec = self.load(record_id)
        ok, reason = self.verify(rec, check_state=False)
        if not ok:
            raise ConsentError(f"consent record {record_id}: cannot revoke, {reason}")
        p = self.root / "revoked.txt"
        write_private(p, "".join(f"{i}\n" for i in sorted(self.revoked_ids() | {record_id})).encode())
        if not rec.revoked:
            rec = self._sign(replace(rec, revoked=_iso(now or _now())))
            self._save(rec)
        log.info("consent record %s revoked", record_id)
        return rec

    def verify(self, rec: ConsentRecord, now: datetime = None, check_state: bool = True):
        """(ok, reason): signature by this install's key, then unrevoked and unexpired."""
        if not isinstance(rec, ConsentRecord):
            return False, f"expected a ConsentRecord, got {type(rec).__name__}"
        if rec.key_id != self.key_id:
            return False, f"signed by another install's key ({rec.key_id or 'none'}), not this one ({self.key_id})"
        try:
            sig = base64.b64decode(rec.signature, validate=True)
            self.public_key.verify(sig, rec.signed_bytes())
        except (InvalidSignature, ValueError, TypeError):
            return False, "signature does not match: the record was altered or not signed here"
        if not check_state:
            return True, "signature valid"
        if rec.revoked or rec.id in self.revoked_ids():
            return False, f"revoked{' on ' + rec.revoked if rec.revoked else ''}"
        try:
            expires = _parse(rec.expires)
        except (TypeError, ValueError):
            return False, f"unreadable expiry {rec.expires!r}"
        if (now or _now()) >= expires:
            return False, f"expired on {rec.expires}"
        return True, "valid"

    def find_valid(self, image_hashes, scope: str = "animate", now: datetime = None):
        """The newest valid record covering exactly these images for this scope, else None."""
        want = set(image_hashes)
        for rec in reversed(self.records()):
            if set(rec.image_hashes) != want or scope not in rec.scope:
                continue
            ok, reason = self.verify(rec, now=now)
            if ok:
                return rec
            log.info("consent record %s does not apply: %s", rec.id, reason)
        return None

    def require(self, image_hashes, scope: str = "animate", now: datetime = None) -> ConsentRecord:
        """find_valid, or a ConsentError that says why and what to do."""
        rec = self.find_valid(image_hashes, scope, now)
        if rec is None:
            raise ConsentError(
                f"no valid consent record covers these {len(set(image_hashes))} avatar image(s) for "
                f"'{scope}': record consent for exactly this set (a record for other images, an "
                f"expired, revoked or altered one does not count)")
        return rec

    # -- session log --------------------------------------------------------------------------
    @property
    def sessions_path(self) -> Path:
        return self.root / "sessions.jsonl"

    def log_session(self, session_id: str, record_id: str, output_desc: str, now: datetime = None) -> dict:
        """Append a signed line: this output session ran under this consent record."""
        entry = {"session_id": str(session_id), "record_id": str(record_id),
                 "output": str(output_desc), "time": _iso(now or _now()), "key_id": self.key_id}
        entry["signature"] = self.sign_bytes(canonical_json(entry))
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.sessions_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
        return entry

    def sessions(self, session_id: str = None) -> list:
        """Logged session entries whose signature checks (optionally only one session id)."""
        out = []
        if not self.sessions_path.exists():
            return out
        for line in self.sessions_path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
                body = {k: v for k, v in e.items() if k != "signature"}
                self.public_key.verify(base64.b64decode(e["signature"]), canonical_json(body))
            except (ValueError, KeyError, TypeError, InvalidSignature):
                log.warning("skipping an unreadable or altered line in %s", self.sessions_path)
                continue
            if session_id is None or e["session_id"] == session_id:
                out.append(e)
        return out


def needs_stronger_label(rec: ConsentRecord) -> bool:
    """The one rule for the label's "attested, not verified" line, CLI and app alike: consent that is
    only attested (self or other; neither a live check nor a token from the person) says so on screen."""
    return rec is not None and rec.method == "attestation"
