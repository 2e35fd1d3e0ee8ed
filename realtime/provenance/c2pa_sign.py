"""C2PA Content Credentials for every MP4 the app writes (CONSENT.md C1-C3), fully offline.

First use makes a per-install root CA and a device certificate it issues (ES256, EKU document
signing + email protection, as the C2PA SDK requires); both live under app_home()/c2pa. Each MP4
gets a manifest: action c2pa.created with digitalSourceType trainedAlgorithmicMedia, the app name
and version, and an `org.avatarcam.session` assertion with the session id and the SHA-256 of the
consent record. The signed copy is read back and checked before it replaces the original.

Reading reports "trusted" when this install's root CA issued the signer, "valid" when the signature
and hashes hold but the signer is unknown here (another install), "invalid" when anything was
altered, "none" when there is no manifest (e.g. after re-encoding), "unreadable" otherwise.
"""
import datetime
import json
import logging
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from ..errors import OutputError
from .paths import app_home, write_private

log = logging.getLogger(__name__)

APP_NAME = "AvatarCam"
APP_VERSION = "0.1.0"
SESSION_LABEL = "org.avatarcam.session"
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
ORG = "AvatarCam (local install)"
DEVICE_DAYS, ROOT_DAYS, RENEW_DAYS = 730, 3650, 7


def _key_usage(sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG)])


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class SigningIdentity:
    """The install's root CA and device certificate (made on first use, device renewed near expiry)."""

    def __init__(self, root: Path = None):
        self.dir = Path(root) if root is not None else app_home() / "c2pa"

    def _paths(self):
        d = self.dir
        return d / "root_ca.pem", d / "root_ca.key", d / "device.pem", d / "device.key"

    def load(self):
        """(chain PEM bytes: device + root, device key PEM bytes, root PEM bytes)."""
        root_pem, root_key, dev_pem, dev_key = self._paths()
        now = datetime.datetime.now(datetime.timezone.utc)
        if not (root_pem.exists() and root_key.exists()):
            self._make_root(now)
        ca = x509.load_pem_x509_certificate(root_pem.read_bytes())
        renew = True
        if dev_pem.exists() and dev_key.exists():
            dev = x509.load_pem_x509_certificate(dev_pem.read_bytes())
            renew = (dev.not_valid_after_utc - now).days < RENEW_DAYS or dev.issuer != ca.subject
        if renew:
            self._make_device(now, ca)
        return dev_pem.read_bytes() + root_pem.read_bytes(), dev_key.read_bytes(), root_pem.read_bytes()

    def existing_root_pem(self):
        """This install's root CA (PEM bytes) if it was made already, else None (reading makes nothing)."""
        p = self._paths()[0]
        return p.read_bytes() if p.exists() else None

    def _make_root(self, now):
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"{APP_NAME} install root CA")
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=ROOT_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_key_usage(sign=False, ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        root_pem, root_key, _, _ = self._paths()
        write_private(root_key, _pem(key))
        write_private(root_pem, _pem(cert), mode=0o644)
        log.info("made this install's C2PA root CA in %s", self.dir)

    def _make_device(self, now, ca: x509.Certificate):
        root_pem, root_key, dev_pem, dev_key = self._paths()
        ca_key = serialization.load_pem_private_key(root_key.read_bytes(), password=None)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(f"{APP_NAME} device signer")).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(min(now + datetime.timedelta(days=DEVICE_DAYS), ca.not_valid_after_utc))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_key_usage(sign=True, ca=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                               critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        write_private(dev_key, _pem(key))
        write_private(dev_pem, _pem(cert), mode=0o644)
        log.info("issued a C2PA device certificate valid until %s", cert.not_valid_after_utc.date())


def manifest(title: str, session_id: str, consent_record_hash: str, app_name: str, version: str) -> dict:
    agent = {"name": app_name, "version": version}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions",
             "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED, "softwareAgent": agent}]}},
            {"label": SESSION_LABEL,
             "data": {"session_id": str(session_id), "consent_record_sha256": consent_record_hash or None,
                      "app": app_name, "version": version}},
        ],
    }


def sign_mp4(path, session_id: str, consent_record_hash: str = None, app_name: str = APP_NAME,
             version: str = APP_VERSION, identity: SigningIdentity = None) -> dict:
    """Sign the MP4 at path in place (temp file + replace) and return its read-back status.

    consent_record_hash: ConsentRecord.record_hash, or None for output that needs no consent (the
    built-in sample avatar). Raises OutputError (and leaves the file as it was) when signing or the
    read-back check fails.
    """
    import c2pa
    path = Path(path)
    identity = identity or SigningIdentity()
    chain, key, _ = identity.load()
    fd, tmp = tempfile.mkstemp(prefix=".signing-", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key, None))
        with c2pa.Builder(manifest(path.name, session_id, consent_record_hash, app_name, version)) as builder, \
                open(path, "rb") as src, open(tmp, "w+b") as dst:
            builder.sign(signer, "video/mp4", src, dst)
        status = read_c2pa(tmp, identity)
        expected = {"state": "trusted", "created": True, "digital_source_type": TRAINED,
                    "session_id": str(session_id), "consent_record_sha256": consent_record_hash or None,
                    "app": app_name, "version": version}
        wrong = {k: status.get(k) for k, v in expected.items() if status.get(k) != v}
        if wrong:
            raise OutputError(f"{path}: the C2PA manifest did not verify after writing: {wrong} "
                              f"({'; '.join(status.get('problems', []))})")
        os.replace(tmp, path)
        log.info("signed %s with C2PA (session %s)", path, session_id)
        return status
    except OutputError:
        raise
    except Exception as e:
        raise OutputError(f"{path}: C2PA signing failed ({type(e).__name__}: {e})") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_c2pa(path, identity: SigningIdentity = None) -> dict:
    """The C2PA status of a file as a dict (never raises for a bad file: state says what is wrong).

    state: trusted | valid | invalid | none | unreadable; problems: failure codes and explanations;
    plus the manifest's app, version, created, digital_source_type, session_id,
    consent_record_sha256 and signer when present.
    """
    import c2pa
    out = {"state": "unreadable", "problems": []}
    try:
        anchors = (identity or SigningIdentity()).existing_root_pem()
        ctx = c2pa.Context(c2pa.Settings.from_dict({"trust": {"trust_anchors": anchors.decode()}})) if anchors else None
        reader = c2pa.Reader.try_create(os.fspath(path), context=ctx)
        if reader is None:
            out["state"] = "none"
            return out
        with reader:
            store = json.loads(reader.json())
            state = (reader.get_validation_state() or "").lower()
    except Exception as e:                     # C2paError, OSError, JSON: a clear verdict, not a crash
        out["problems"].append(f"{type(e).__name__}: {e}".strip())
        return out
    problems = [f"{s.get('code')}: {s.get('explanation')}" for s in store.get("validation_status") or []
                if s.get("code") != "signingCredential.untrusted"]
    out["problems"] = problems
    out["state"] = {"trusted": "trusted", "valid": "valid"}.get(state, "invalid")
    if problems and out["state"] != "invalid":
        out["state"] = "invalid"
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    sig = active.get("signature_info") or {}
    out["signer"] = f"{sig.get('common_name', '?')} ({sig.get('issuer', '?')})"
    for a in active.get("assertions", []):
        label, data = a.get("label", ""), a.get("data") or {}
        if label.startswith("c2pa.actions"):
            for act in data.get("actions", []):
                if act.get("action") == "c2pa.created":
                    out["created"] = True
                    out["digital_source_type"] = act.get("digitalSourceType")
        elif label == SESSION_LABEL:
            for k in ("session_id", "consent_record_sha256", "app", "version"):
                out[k] = data.get(k)
    return out


def describe(status: dict) -> str:
    s = status.get("state")
    if s == "none":
        return "C2PA: none (no Content Credentials; re-encoding or editing removes them)"
    if s == "unreadable":
        return f"C2PA: unreadable ({'; '.join(status.get('problems', [])) or 'not a supported file'})"
    if s == "invalid":
        return f"C2PA: INVALID, the file or its manifest was altered ({'; '.join(status.get('problems', []))})"
    who = ("signed by this install" if s == "trusted"
           else "signature intact; the signer is another AvatarCam install, not on a trust list here")
    extra = ""
    if status.get("created"):
        ds = (status.get("digital_source_type") or "").rsplit("/", 1)[-1]
        extra = f"; created by {status.get('app')} {status.get('version')} ({ds})"
    if status.get("session_id"):
        extra += f"; session {status['session_id']}"
    if status.get("consent_record_sha256"):
        extra += f"; consent record sha256 {status['consent_record_sha256'][:16]}..."
    return f"C2PA: {s.upper()} ({who}){extra}"
