"""Consent records (CONSENT.md K1-K2): signed, scoped, exact image set, expiry, revocation."""
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from realtime.errors import ConsentError
from realtime.provenance import consent as C
from realtime.provenance.consent import ConsentStore, hash_image_array, hash_image_file

H1, H2, H3 = ("a" * 64, "b" * 64, "c" * 64)


@pytest.fixture
def store(tmp_path):
    return ConsentStore(tmp_path / "consent")


def test_default_store_follows_avatarcam_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))
    assert ConsentStore.default().root == tmp_path / "home" / "consent"


def test_image_hashes_are_exact(tmp_path):
    img = np.zeros((4, 5, 3), np.uint8)
    h = hash_image_array(img)
    assert len(h) == 64 and h == hash_image_array(img.copy())
    img2 = img.copy()
    img2[0, 0, 0] = 1
    assert hash_image_array(img2) != h
    assert hash_image_array(img.reshape(5, 4, 3)) != h      # same bytes, other shape
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc")
    assert hash_image_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_record_is_signed_stored_and_found(store):
    rec = store.record([H2, H1], "other", "Ada Lovelace", expires_days=30)
    assert rec.image_hashes == (H1, H2) and rec.kind == "other" and rec.who == "Ada Lovelace"
    assert set(rec.scope) == set(C.SCOPES) and rec.method == "attestation" and rec.revoked is None
    assert store.verify(rec) == (True, "valid")
    on_disk = json.loads((store.records_dir / f"{rec.id}.json").read_text())
    for key in ("id", "who", "kind", "image_hashes", "scope", "created", "expires", "revoked",
                "method", "signature", "key_id"):
        assert key in on_disk
    assert store.find_valid([H1, H2]) == rec
    assert store.require([H2, H1], "stream").id == rec.id
    assert store.key_path.stat().st_mode & 0o077 == 0            # private key: owner only


def test_k1_outputs_refuse_without_a_matching_record(store):
    assert store.find_valid([H1]) is None                        # nothing recorded
    store.record([H1, H2], "self", scope=("animate",))
    assert store.find_valid([H1]) is None                        # subset: not exactly these images
    assert store.find_valid([H1, H2, H3]) is None                # superset
    assert store.find_valid([H1, H2], scope="stream") is None    # scope not granted
    with pytest.raises(ConsentError, match="no valid consent record"):
        store.require([H1, H3], "animate")


def test_k1_expired_record_is_refused(store):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rec = store.record([H1], "self", expires_days=10, now=t0)
    assert store.verify(rec, now=t0 + timedelta(days=9))[0]
    ok, reason = store.verify(rec, now=t0 + timedelta(days=10, seconds=1))
    assert not ok and "expired" in reason
    assert store.find_valid([H1], now=t0 + timedelta(days=11)) is None


def test_k1_revoked_record_is_refused_even_if_an_old_copy_is_restored(store):
    rec = store.record([H1], "self")
    path = store.records_dir / f"{rec.id}.json"
    old = path.read_bytes()
    revoked = store.revoke(rec.id)
    assert revoked.revoked and store.verify(revoked)[1].startswith("revoked")
    assert store.find_valid([H1]) is None
    path.write_bytes(old)                                        # put back the unrevoked copy
    ok, reason = store.verify(store.load(rec.id))
    assert not ok and reason.startswith("revoked")
    assert store.find_valid([H1]) is None


@pytest.mark.parametrize("field,value", [("who", "Someone Else"), ("image_hashes", [H3]),
                                         ("expires", "2099-01-01T00:00:00Z"), ("scope", ["animate", "stream"]),
                                         ("kind", "self"), ("revoked", None)])
def test_k2_tampered_record_fails_verification(store, field, value):
    rec = store.record([H1], "other", "Grace", scope=("animate",))
    if field == "revoked":                                       # un-revoking by hand is tampering too
        rec = store.revoke(rec.id)
        store.root.joinpath("revoked.txt").unlink()
    path = store.records_dir / f"{rec.id}.json"
    d = json.loads(path.read_text())
    d[field] = value
    path.write_text(json.dumps(d))
    ok, reason = store.verify(store.load(rec.id))
    assert not ok and "signature" in reason
    assert store.find_valid(d["image_hashes"], scope="animate") is None


def test_k2_record_signed_by_another_install_is_refused(tmp_path):
    a, b = ConsentStore(tmp_path / "a"), ConsentStore(tmp_path / "b")
    rec = a.record([H1], "self")
    (b.records_dir).mkdir(parents=True)
    (b.records_dir / f"{rec.id}.json").write_text(json.dumps(rec.to_dict()))
    ok, reason = b.verify(b.load(rec.id))
    assert not ok and "another install" in reason
    assert b.find_valid([H1]) is None


def test_unreadable_record_is_a_clear_error_not_a_crash(store):
    store.records_dir.mkdir(parents=True)
    bad = store.records_dir / "0123abcd.json"
    bad.write_text("{not json")
    with pytest.raises(ConsentError, match="unreadable"):
        store.load("0123abcd")
    assert store.records() == [] and store.find_valid([H1]) is None
    bad.write_text(json.dumps({"format": "something/else"}))
    with pytest.raises(ConsentError, match="format"):
        store.load("0123abcd")
    with pytest.raises(ConsentError, match="hex"):
        store.load("../../etc/passwd")


@pytest.mark.parametrize("kwargs,match", [
    (dict(image_hashes=[], kind="self"), "hash"),
    (dict(image_hashes=["zz"], kind="self"), "hash"),
    (dict(image_hashes=[H1], kind="friend"), "kind"),
    (dict(image_hashes=[H1], kind="other"), "name"),
    (dict(image_hashes=[H1], kind="self", scope=("broadcast",)), "scope"),
    (dict(image_hashes=[H1], kind="self", expires_days=0), "expires"),
])
def test_bad_record_requests_are_refused(store, kwargs, match):
    with pytest.raises(ConsentError, match=match):
        store.record(**kwargs)


def test_session_log_resolves_session_to_record(store):
    rec = store.record([H1], "self")
    store.log_session("1a2b3c4d", rec.id, "virtual camera 1280x720")
    store.log_session("99999999", rec.id, "recording out.mp4")
    got = store.sessions("1a2b3c4d")
    assert [e["record_id"] for e in got] == [rec.id] and got[0]["output"] == "virtual camera 1280x720"
    lines = store.sessions_path.read_text().splitlines()
    forged = json.loads(lines[0])
    forged["record_id"] = "feedfeed"
    store.sessions_path.write_text(json.dumps(forged) + "\n" + lines[1] + "\n")
    assert store.sessions("1a2b3c4d") == []                     # altered line is not trusted
    assert len(store.sessions()) == 1
