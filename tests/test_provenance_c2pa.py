"""C2PA Content Credentials (CONSENT.md C1-C3): offline signing, read-back, tamper detection."""
import os
import shutil
import socket

import pytest
from cryptography import x509

from realtime.errors import OutputError
from realtime.provenance import c2pa_sign as C
from realtime.provenance.labeller import Labeller
from tests.test_provenance_helpers import encode, talking_clip

CONSENT_HASH = "3f" * 32


@pytest.fixture(scope="module")
def plain_mp4(tmp_path_factory):
    path = tmp_path_factory.mktemp("c2pa") / "plain.mp4"
    lab = Labeller("c0ffee")
    encode([lab.apply(f) for f in talking_clip(20, size=(640, 360), seed=4)], 600, path=path)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def signed(plain_mp4, home, tmp_path):
    out = tmp_path / "signed.mp4"
    shutil.copy(plain_mp4, out)
    status = C.sign_mp4(out, "c0ffee", CONSENT_HASH, version="1.2.3")
    return out, status


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_c1_signs_offline_with_own_ca_chain(plain_mp4, home, tmp_path, no_network):
    out = tmp_path / "out.mp4"
    shutil.copy(plain_mp4, out)
    before = out.stat().st_size
    status = C.sign_mp4(out, "c0ffee", CONSENT_HASH)
    assert status["state"] == "trusted" and out.stat().st_size > before
    # first run made a root CA and a device certificate it issued
    root = x509.load_pem_x509_certificate((home / "c2pa" / "root_ca.pem").read_bytes())
    dev = x509.load_pem_x509_certificate((home / "c2pa" / "device.pem").read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert dev.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert dev.issuer == root.subject and dev.subject != root.subject
    assert (home / "c2pa" / "root_ca.key").stat().st_mode & 0o077 == 0
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".signing-")]     # no temp left behind


def test_c2_reads_back_with_the_required_assertions(signed):
    path, status = signed
    got = C.read_c2pa(path)
    assert got == status
    assert got["state"] == "trusted" and got["problems"] == []
    assert got["created"] is True
    assert got["digital_source_type"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert (got["app"], got["version"]) == ("AvatarCam", "1.2.3")
    assert got["session_id"] == "c0ffee" and got["consent_record_sha256"] == CONSENT_HASH


def test_c2_another_install_sees_valid_not_trusted(signed, tmp_path):
    path, _ = signed
    other = C.read_c2pa(path, C.SigningIdentity(tmp_path / "other-install"))
    assert other["state"] == "valid" and other["session_id"] == "c0ffee"
    assert not (tmp_path / "other-install").exists()                  # reading makes no keys


@pytest.mark.parametrize("where", ["video data", "manifest"])
def test_c3_one_flipped_byte_is_invalid(signed, where):
    path, _ = signed
    data = bytearray(path.read_bytes())
    i = data.find(b"mdat") + 2000 if where == "video data" else data.find(b"org.avatarcam.session") + 40
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    got = C.read_c2pa(path)
    assert got["state"] == "invalid" and got["problems"]


def test_unsigned_reencoded_and_unreadable_files_get_clear_states(plain_mp4, signed, home, tmp_path):
    assert C.read_c2pa(plain_mp4)["state"] == "none"
    path, _ = signed
    from tests.test_provenance_helpers import decode
    reenc = tmp_path / "reencoded.mp4"
    encode(decode(path), 600, path=reenc)                              # re-encoding strips credentials
    assert C.read_c2pa(reenc)["state"] == "none"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 10)
    for p in (junk, tmp_path / "missing.mp4"):
        got = C.read_c2pa(p)
        assert got["state"] == "unreadable" and got["problems"]
    assert "none" in C.describe(C.read_c2pa(plain_mp4))


def test_signing_failure_leaves_the_file_untouched(home, tmp_path):
    junk = tmp_path / "broken.mp4"
    junk.write_bytes(b"this is not an mp4 file" * 8)
    before = junk.read_bytes()
    with pytest.raises(OutputError, match="C2PA"):
        C.sign_mp4(junk, "c0ffee", CONSENT_HASH)
    assert junk.read_bytes() == before
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".signing-")]


def test_device_certificate_is_renewed_and_root_kept(signed, home):
    root_before = (home / "c2pa" / "root_ca.pem").read_bytes()
    (home / "c2pa" / "device.pem").unlink()
    C.SigningIdentity().load()
    assert (home / "c2pa" / "device.pem").exists()
    assert (home / "c2pa" / "root_ca.pem").read_bytes() == root_before
    path, _ = signed
    assert C.read_c2pa(path)["state"] == "trusted"                     # old signatures still chain
