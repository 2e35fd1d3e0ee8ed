"""Consent covers exactly the images that are animated: the hashes checked are those of the very bytes
that were decoded (a file changed between reading and hashing cannot borrow another photo's consent),
and an attested-only record puts the "attested, not verified" line on every output, CLI and app alike."""
import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

import run
from realtime import synthetic_face as sf
from realtime.commands import animate as animate_cmd
from realtime.provenance.consent import ConsentStore, hash_image_file, needs_stronger_label
from tests.media import read_frames, write_clip, write_png
from tests.ui_helpers import ConsentAnswer, face_photo, make_ctx, open_window


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("swap")
    m = dict(a=write_png(d / "alice.png", sf.render(who=sf.OTHER, size=256)),
             b=write_png(d / "bob.png", sf.render(who=sf.STRANGER, size=256)))
    m["driving"] = write_clip(d / "drive.mp4", [dict(mouth=0.2 * i) for i in range(5)], fps=25.0)
    return m


def animate(media, source, out, consent=None):
    args = ["animate", "--source", str(source), "--driving", media["driving"], "--output", str(out),
            "--size", "256", "--backend", "torch"]
    return run.main(args + (["--consent", consent] if consent else []))


def swap_after_decoding(monkeypatch, path, replacement):
    """The race: the file is rewritten after its image was decoded (the same-person check runs in
    between) and before anything else reads it."""
    check = animate_cmd.check_same_person

    def check_then_swap(avatar):
        check(avatar)
        shutil.copyfile(replacement, path)
    monkeypatch.setattr(animate_cmd, "check_same_person", check_then_swap)


def closer_to(frame, a_path, b_path) -> str:
    f = frame.astype(float)
    a, b = (cv2.resize(cv2.imread(p), f.shape[1::-1]).astype(float) for p in (a_path, b_path))
    return "a" if np.abs(f - a).mean() < np.abs(f - b).mean() else "b"


def test_cli_refuses_a_photo_swapped_after_decoding_under_the_other_photos_consent(media, tmp_path, monkeypatch):
    store = ConsentStore.default()
    store.record([hash_image_file(media["a"])], "other", "Alice", method="token")
    src = tmp_path / "photo.png"
    shutil.copyfile(media["b"], src)                    # Bob is what gets decoded...
    swap_after_decoding(monkeypatch, src, media["a"])   # ...then Alice's bytes are back on disk
    out = tmp_path / "out.mp4"
    assert animate(media, src, out) == 3                # no consent for Bob: refused
    assert not out.exists() and store.sessions() == []


def test_cli_animates_a_swapped_photo_only_under_its_own_consent(media, tmp_path, monkeypatch):
    store = ConsentStore.default()
    store.record([hash_image_file(media["a"])], "other", "Alice", method="token")
    rec_b = store.record([hash_image_file(media["b"])], "other", "Bob", method="token")
    src = tmp_path / "photo.png"
    shutil.copyfile(media["b"], src)
    swap_after_decoding(monkeypatch, src, media["a"])
    out = tmp_path / "out.mp4"
    assert animate(media, src, out) == 0
    frames, _ = read_frames(out)
    assert closer_to(frames[0], media["a"], media["b"]) == "b"           # Bob was animated...
    assert [e["record_id"] for e in store.sessions()] == [rec_b.id]      # ...under Bob's record


def attested_line_visible(frame) -> bool:
    """Is the label's second line ("attested, not verified") drawn under the first one?"""
    from realtime.provenance.label import VisibleLabel, texts
    h, w = frame.shape[:2]
    plain = VisibleLabel(w, h, locale="en")
    strong = VisibleLabel(w, h, subtext=texts("en")[1], locale="en")
    x0, y0, x1, y1 = strong.rect
    below = slice(plain.plate.shape[0], None)           # the rows under a one-line plate
    text = cv2.cvtColor(strong.plate, cv2.COLOR_BGR2GRAY)[below] > 160
    g = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)[below].astype(float)
    return text.any() and g[text].mean() - g[~text].mean() > 100


def test_cli_consent_self_is_an_attestation_and_every_frame_says_so(media, tmp_path):
    out = tmp_path / "self.mp4"
    assert animate(media, media["b"], out, consent="self") == 0
    frames, _ = read_frames(out)
    assert frames and all(attested_line_visible(f) for f in frames)
    rec = ConsentStore.default().find_valid([hash_image_file(media["b"])], scope="animate")
    assert (rec.kind, rec.method) == ("self", "attestation") and needs_stronger_label(rec)
    # a verified record (a token from the person) gets the plain label
    verified = tmp_path / "verified.mp4"
    ConsentStore.default().record([hash_image_file(media["a"])], "other", "Alice", method="token")
    assert animate(media, media["a"], verified) == 0
    assert not any(attested_line_visible(f) for f in read_frames(verified)[0])


@pytest.mark.parametrize("kind,method,stronger", [
    ("self", "attestation", True), ("other", "attestation", True),
    ("self", "live-check", False), ("other", "token", False)])
def test_one_rule_for_the_attested_line(kind, method, stronger, tmp_path):
    """The app's LiveAvatar gets the same answer as the CLI (needs_stronger_label) for every record."""
    from realtime.live.image_check import ImageCheck
    from ui.avatar_checker import CheckedImage, CheckedSet
    from ui.settings import AppSettings
    from ui.window_sets import AvatarSetActions
    store = ConsentStore(tmp_path / "consent")
    sha = "ab" * 32
    rec = store.record([sha], kind, "Someone", method=method)
    assert needs_stronger_label(rec) is stronger
    info = type("Info", (), dict(is_sample=False, name="set", set_id="s1"))()
    img = np.zeros((64, 64, 3), np.uint8)
    host = AvatarSetActions()
    host.consent_store, host.settings = store, AppSettings()
    host.current = CheckedSet(info, [CheckedImage("a.png", img, ImageCheck("a.png", True, "ok", np.zeros((478, 3))),
                                                  True, sha)])
    assert host._live_avatar().stronger_label is stronger


def test_live_avatar_refuses_an_image_its_hashes_do_not_cover():
    from realtime.avatar import AvatarImage
    from realtime.live.live_avatar import make_live_avatar
    img, lmk = np.zeros((64, 64, 3), np.uint8), np.zeros((478, 3))
    covered = make_live_avatar("x", [AvatarImage("a", img, lmk, "a" * 64)], ["a" * 64], 64, 64)
    assert covered.images[0].sha256 == "a" * 64                         # carried through fitting
    with pytest.raises(ValueError):
        make_live_avatar("x", [AvatarImage("b", img, lmk, "b" * 64)], ["a" * 64], 64, 64)
    with pytest.raises(ValueError):
        make_live_avatar("x", [AvatarImage("c", img, lmk)], ["a" * 64], 64, 64)   # no hash at all


def test_app_checks_consent_for_the_photo_it_decoded_not_the_file_on_disk_at_start(qtbot, tmp_path, monkeypatch):
    """Photo B is copied over a consented set's photo A, the set is checked (B decoded), A is copied
    back, then Start: B must not go out under A's record; with a record of its own, B's is used."""
    monkeypatch.setattr("ui.window_sets.ConsentDialog", ConsentAnswer)
    ConsentAnswer.answer, ConsentAnswer.asked = None, 0             # the person declines
    ctx = make_ctx(tmp_path)
    lib, store = ctx.library(), ctx.consent_store()
    a, b = face_photo(tmp_path / "a.png"), face_photo(tmp_path / "b.png", who=sf.STRANGER)
    info = lib.create("Alice")
    lib.add_files(info.set_id, [a])
    photo = lib.get(info.set_id).paths()[0]
    store.record([hash_image_file(photo)], "self", method="live-check")
    shutil.copyfile(b, photo)
    ctx.home.mkdir(parents=True, exist_ok=True)
    (ctx.home / "settings.json").write_text('{"welcome_done": true, "current_set": "%s"}' % info.set_id)
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: w.current is not None and w.current.usable and ConsentAnswer.asked >= 1,
                    timeout=20000)
    shutil.copyfile(a, photo)                            # A is back on disk; nothing re-checks
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.wait(300)
    assert not w.live.running and ctx.vcam.frames == [] and ctx.vcam.opened == 0
    rec_b = store.record([hash_image_file(b)], "other", "Bob", method="token")
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 3, timeout=20000)
    avatar = w.live.session.avatar
    assert avatar.image_hashes == (hash_image_file(b),)                 # what the gate checks...
    assert {i.sha256 for i in avatar.images} == {hash_image_file(b)}    # ...is what is animated
    assert [e["record_id"] for e in store.sessions()] == [rec_b.id]
