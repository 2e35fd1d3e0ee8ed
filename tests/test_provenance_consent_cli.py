"""Consent tokens for someone else and `run.py consent list|show|revoke|export|import|token|key`."""
import argparse
import io
import json
from datetime import datetime, timedelta, timezone

import cv2
import pytest

from realtime.commands import consent as cmd
from realtime.errors import AppError, ConsentError, InputError
from realtime.provenance.consent import ConsentStore, hash_image_file, needs_stronger_label
from realtime.provenance.consent_token import create_token, import_token, verify_token
from tests.test_provenance_helpers import talking_clip

H1, H2 = "1" * 64, "2" * 64


def consent(*argv):
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["consent", *map(str, argv)])
    out = io.StringIO()
    try:
        rc = args.func(args, out=out)
    except AppError as e:                       # what run.py does with it
        return e.exit_code, str(e)
    return rc, out.getvalue()


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Two installs: the animator's (the default store, via AVATARCAM_HOME) and the depicted person's."""
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "animator"))
    return ConsentStore.default(), ConsentStore(tmp_path / "person" / "consent")


def test_token_from_the_depicted_person_becomes_a_token_record(homes):
    animator, person = homes
    token = create_token(person, [H1, H2], "Grace Hopper", scope=("animate", "live"), audience=animator.key_id)
    assert verify_token(token, audience=animator.key_id) == (True, "valid")
    rec = import_token(animator, token, image_hashes=[H2, H1])
    assert rec.kind == "other" and rec.method == "token" and rec.who == "Grace Hopper"
    assert rec.evidence["token"] == token and not needs_stronger_label(rec)
    assert animator.find_valid([H1, H2], scope="live").id == rec.id
    assert animator.find_valid([H1, H2], scope="stream") is None          # scope not granted
    attested = animator.record([H1], "other", "Someone")                  # no token: attested only
    assert needs_stronger_label(attested)


@pytest.mark.parametrize("change,reason", [
    (lambda t: t.update(who="Mallory"), "signature"),
    (lambda t: t.update(image_hashes=["3" * 64]), "signature"),
    (lambda t: t.update(expires="2999-01-01T00:00:00Z"), "signature"),
    (lambda t: t.update(key_id="0" * 16), "key id"),
    (lambda t: t.pop("audience"), "malformed"),
    (lambda t: t.update(format="other"), "not a consent token"),
])
def test_tampered_token_is_refused(homes, change, reason):
    animator, person = homes
    token = create_token(person, [H1], "Grace")
    change(token)
    ok, why = verify_token(token)
    assert not ok and reason in why
    with pytest.raises(ConsentError, match="refused"):
        import_token(animator, token)
    assert animator.records() == []


def test_expired_foreign_own_and_wrong_image_tokens_are_refused(homes):
    animator, person = homes
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    old = create_token(person, [H1], "Grace", expires_days=30, now=t0)
    with pytest.raises(ConsentError, match="expired"):
        import_token(animator, old, now=t0 + timedelta(days=31))
    other_install = create_token(person, [H1], "Grace", audience="f" * 16)
    with pytest.raises(ConsentError, match="another install"):
        import_token(animator, other_install)
    with pytest.raises(ConsentError, match="other images"):
        import_token(animator, create_token(person, [H1], "Grace"), image_hashes=[H1, H2])
    with pytest.raises(ConsentError, match="made by this install"):
        import_token(animator, create_token(animator, [H1], "Me"))
    assert animator.records() == []


def test_imported_record_expires_with_the_token(homes):
    animator, person = homes
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rec = import_token(animator, create_token(person, [H1], "Grace", expires_days=10, now=t0), now=t0)
    assert animator.find_valid([H1], now=t0 + timedelta(days=9)) is not None
    assert animator.find_valid([H1], now=t0 + timedelta(days=10, seconds=1)) is None
    assert rec.expires == "2026-01-11T00:00:00Z"


def test_cli_token_import_list_show_export_revoke(homes, tmp_path, monkeypatch):
    animator, person = homes
    img = tmp_path / "me.png"
    cv2.imwrite(str(img), talking_clip(1, size=(320, 240))[0])
    rc, key = consent("key")
    assert rc == 0 and key.strip() == animator.key_id
    # the depicted person makes a token on their machine (their own AVATARCAM_HOME)
    token_path = tmp_path / "token.json"
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "person"))
    rc, text = consent("token", img, "--name", "Grace", "--for", animator.key_id, "--days", "30",
                       "--scope", "animate", "live", "--out", token_path)
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "animator"))
    assert rc == 0 and token_path.exists()
    assert json.loads(token_path.read_text())["image_hashes"] == [hash_image_file(img)]
    rc, text = consent("import", token_path)
    assert rc == 0 and "imported consent token from Grace" in text
    rec = animator.records()[0]
    assert animator.find_valid([hash_image_file(img)], scope="live").id == rec.id
    animator.log_session("abcdef", rec.id, "live: virtual camera")
    rc, text = consent("list")
    assert rc == 0 and rec.id in text and "[valid]" in text and "method=token" in text
    rc, text = consent("show", rec.id)
    assert rc == 0 and "verification: VALID" in text and "session abcdef" in text and rec.record_hash in text
    export = tmp_path / "proof.json"
    rc, _ = consent("export", rec.id, "--out", export)
    bundle = json.loads(export.read_text())
    assert bundle["record"]["id"] == rec.id and bundle["record_sha256"] == rec.record_hash
    assert "BEGIN PUBLIC KEY" in bundle["public_key_pem"] and bundle["sessions"][0]["session_id"] == "abcdef"
    rc, text = consent("revoke", rec.id)
    assert rc == 0 and "revoked" in text
    assert animator.find_valid([hash_image_file(img)], scope="live") is None
    rc, text = consent("list")
    assert "revoked" in text
    rc, text = consent("show", rec.id)
    assert rc == 1 and "NOT VALID" in text
    # restoring an old export does not undo the revocation
    (animator.records_dir / f"{rec.id}.json").unlink()
    rc, text = consent("import", export)
    assert rc == 0 and "restored" in text and "revoked" in text
    assert animator.find_valid([hash_image_file(img)], scope="live") is None


def test_cli_bad_inputs_give_clear_errors(homes, tmp_path):
    animator, person = homes
    assert consent("show", "0123456789abcdef")[0] == ConsentError.exit_code
    assert consent("revoke", "nothex!")[0] == ConsentError.exit_code
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    rc, msg = consent("import", bad)
    assert rc == InputError.exit_code and "unreadable JSON" in msg
    bad.write_text(json.dumps({"format": "something"}))
    assert consent("import", bad)[0] == InputError.exit_code
    assert consent("import", tmp_path / "missing.json")[0] == InputError.exit_code
    # another install's export cannot be imported as if it were consent here
    rec = person.record([H1], "self")
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "avatarcam.consent-export/1", "record": rec.to_dict()}))
    rc, msg = consent("import", foreign)
    assert rc == ConsentError.exit_code and "another install" in msg
    assert animator.records() == []
    rc, text = consent("list")
    assert rc == 0 and "no consent records" in text
    assert consent("token", tmp_path / "nope.png", "--name", "X", "--out", tmp_path / "t.json")[0] == InputError.exit_code
