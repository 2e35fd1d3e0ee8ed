"""The live "this is me" check, driven by a synthetic person in front of a simulated webcam."""
import random
from functools import lru_cache

import numpy as np
import pytest

from realtime import synthetic_face as sf
from realtime.provenance import livecheck as LC

FPS = 30.0


@pytest.fixture(scope="module")
def models():
    from realtime.identity import FaceEmbedder
    from realtime.tracking import FaceTracker
    photos = FaceTracker(static=True)
    emb = FaceEmbedder()
    avatar = LC.embed_photos([sf.render(size=360, seed=1), sf.render(size=360, yaw=0.2, mouth=0.3, seed=2)],
                             photos, emb)
    photos.close()
    return avatar, emb


@lru_cache(maxsize=32)
def pose(who, yaw=0.0, eyes=1.0):
    return sf.render(size=360, yaw=yaw, eyes=eyes, who=who, seed=7)


def act(check, who, behaviour, i):
    """The frame a person shows for the current prompt; behaviour: 'follow', 'still', 'wrong'."""
    c = check.current
    if behaviour == "still" or c is None:
        return pose(who)
    if behaviour == "wrong":
        c = {"turn_left": "turn_right", "turn_right": "turn_left", "blink": "turn_left"}[c]
    if c == "blink":
        return pose(who, eyes=0.0 if i % 4 < 2 else 1.0)
    return pose(who, yaw=0.7 if c == "turn_left" else -0.7)


def run_check(models, who=sf.SAMPLE, behaviour="follow", seed=0, max_s=25.0):
    from realtime.tracking import FaceTracker
    avatar, emb = models
    check = LC.LiveCheck(avatar, emb, rng=random.Random(seed))
    tracker = FaceTracker(static=False)
    prompts = []
    try:
        i = 0
        while check.state == "running" and i < max_s * FPS:
            frame = act(check, who, behaviour, i)
            if not prompts or prompts[-1] != check.prompt:
                prompts.append(check.prompt)
            check.feed(frame, tracker.detect(frame), i / FPS)
            i += 1
    finally:
        tracker.close()
    return check, prompts


def test_the_depicted_person_following_the_prompts_passes(models):
    check, prompts = run_check(models, seed=1)
    res = check.result()
    assert check.state == "passed", check.reason
    assert res.passed and len(res.challenges) == 2 and all(s["after_s"] >= LC.REACTION_S for s in res.challenges)
    assert max(res.distances) < LC.MATCH_THRESHOLD
    assert prompts[0] == "Look straight at the camera" and prompts[-1] == "Look straight at the camera again"
    ev = res.evidence()
    assert ev["method"] == "live-check" and ev["passed"] is True and "embedding" not in str(ev)


def test_someone_else_following_the_prompts_fails_the_match(models):
    check, _ = run_check(models, who=sf.STRANGER, seed=2)
    assert check.state == "failed" and "does not match" in check.reason
    assert min(check.result().distances) >= LC.MATCH_THRESHOLD


def test_a_still_photo_fails_liveness(models):
    check, _ = run_check(models, behaviour="still", seed=3)
    assert check.state == "failed" and "no response" in check.reason


def test_the_wrong_action_does_not_count(models):
    check, _ = run_check(models, behaviour="wrong", seed=4)
    assert check.state == "failed" and "no response" in check.reason


def test_challenges_are_random_and_the_face_must_stay(models):
    avatar, emb = models
    orders = {tuple(LC.LiveCheck(avatar, emb, rng=random.Random(s)).challenges) for s in range(30)}
    assert len(orders) >= 4
    check = LC.LiveCheck(avatar, emb, rng=random.Random(0))
    from realtime.tracking import FaceTracker
    tr = FaceTracker(static=False)
    f = pose(sf.SAMPLE)
    check.feed(f, tr.detect(f), 0.0)
    tr.close()
    check.feed(np.zeros_like(f), None, 0.3)
    assert check.state == "running"
    check.feed(np.zeros_like(f), None, 1.0)
    assert check.state == "failed" and "left the camera view" in check.reason


def test_cli_consent_self_records_only_after_a_passed_live_check(models, tmp_path, monkeypatch):
    """`run.py consent self IMG...` with a simulated webcam whose person reads the printed prompts."""
    import argparse
    import io

    import cv2

    from realtime.commands import consent as cmd
    from realtime.errors import ConsentError
    from realtime.provenance.consent import ConsentStore, hash_image_file
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))
    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), sf.render(size=360, seed=1))

    def webcam(who, out):
        keys = {v: k for k, v in LC.CHALLENGES.items()}
        for i in range(int(30 * FPS)):
            lines = [ln[3:] for ln in out.getvalue().splitlines() if ln.startswith(">> ")]
            want = keys.get(lines[-1]) if lines else None
            if want == "blink":
                frame = pose(who, eyes=0.0 if i % 4 < 2 else 1.0)
            elif want in ("turn_left", "turn_right"):
                frame = pose(who, yaw=0.7 if want == "turn_left" else -0.7)
            else:
                frame = pose(who)
            yield frame, i / FPS

    def run(who):
        out = io.StringIO()
        monkeypatch.setattr(cmd, "camera_source", lambda index: webcam(who, out))
        parser = argparse.ArgumentParser()
        cmd.add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args(["consent", "self", str(photo), "--scope", "live"])
        return args.func(args, out=out), out.getvalue()

    with pytest.raises(ConsentError, match="does not match"):
        run(sf.STRANGER)
    store = ConsentStore.default()
    assert store.records() == []                                  # nothing recorded for an impostor
    rc, text = run(sf.SAMPLE)
    assert rc == 0 and "live check passed" in text
    rec = store.find_valid([hash_image_file(photo)], scope="live")
    assert rec.kind == "self" and rec.method == "live-check" and rec.evidence["passed"] is True
    assert max(rec.evidence["distances"]) < LC.MATCH_THRESHOLD


def test_cli_consent_self_checks_the_photo_it_records(models, tmp_path, monkeypatch):
    """The photo is replaced after it was hashed (here: as the camera opens) by the person now in
    front of the camera: the live check must compare them with the photo whose hash the record
    carries, so no record is made for the original photo."""
    import argparse
    import io

    import cv2

    from realtime.commands import consent as cmd
    from realtime.errors import ConsentError
    from realtime.provenance.consent import ConsentStore, hash_image_file
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))
    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), sf.render(size=360, seed=1))
    original = hash_image_file(photo)
    out = io.StringIO()

    def impostor_webcam(index):
        cv2.imwrite(str(photo), sf.render(who=sf.STRANGER, size=360, seed=1))   # the swap
        return frames()

    def frames():
        keys = {v: k for k, v in LC.CHALLENGES.items()}
        for i in range(int(30 * FPS)):
            lines = [ln[3:] for ln in out.getvalue().splitlines() if ln.startswith(">> ")]
            want = keys.get(lines[-1]) if lines else None
            if want == "blink":
                frame = pose(sf.STRANGER, eyes=0.0 if i % 4 < 2 else 1.0)
            elif want in ("turn_left", "turn_right"):
                frame = pose(sf.STRANGER, yaw=0.7 if want == "turn_left" else -0.7)
            else:
                frame = pose(sf.STRANGER)
            yield frame, i / FPS
    monkeypatch.setattr(cmd, "camera_source", impostor_webcam)
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["consent", "self", str(photo), "--scope", "live"])
    with pytest.raises(ConsentError, match="does not match"):
        args.func(args, out=out)
    assert ConsentStore.default().find_valid([original], scope="live") is None
