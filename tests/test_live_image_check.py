"""Per-photo checks of an avatar set and of the guided capture: a clear reason for every rejection."""
import numpy as np

from realtime import synthetic_face as sf
from realtime.live.image_check import ImageCheck, check_image, check_shot, reject_other_people


def test_what_each_photo_shows_and_why_one_is_rejected(tracker):
    ok = check_image("front", sf.render(size=480, who=sf.OTHER), tracker)
    assert ok.ok and ok.reason == "Face found: front-facing, mouth closed, eyes open."
    assert check_image("open", sf.render(size=480, mouth=0.9), tracker).facts.describe().startswith("front-facing, mouth open")
    assert "eyes closed" in check_image("closed", sf.render(size=480, eyes=0.0), tracker).reason
    blank = np.full((300, 400, 3), 128, np.uint8)
    r = check_image("wall", blank, tracker)
    assert not r.ok and r.reason.startswith("No face found") and r.reason.endswith(".")
    two = np.hstack([sf.render(size=360, who=sf.OTHER), sf.render(size=360, who=sf.STRANGER)])
    r = check_image("pair", two, tracker)
    assert not r.ok and "2 faces found" in r.reason
    dark = (sf.render(size=480, who=sf.OTHER) * 0.12).astype(np.uint8)
    r = check_image("dark", dark, tracker)
    assert not r.ok and ("too dark" in r.reason or "No face" in r.reason)
    cut = sf.render(size=480, who=sf.OTHER)[:, 200:]
    r = check_image("cut", cut, tracker)
    assert not r.ok and ("cut off" in r.reason or "No face" in r.reason)


def test_guided_shots_want_the_pose_they_ask_for(tracker):
    neutral = check_image("n", sf.render(size=480, who=sf.OTHER), tracker)
    mouth = check_image("m", sf.render(size=480, who=sf.OTHER, mouth=0.9), tracker)
    closed = check_image("c", sf.render(size=480, who=sf.OTHER, eyes=0.0), tracker)
    right = check_image("r", sf.render(size=480, who=sf.OTHER, yaw=0.6), tracker)      # nose to the picture's right
    assert check_shot("neutral", neutral)[0] and not check_shot("neutral", mouth)[0]
    assert check_shot("mouth_open", mouth)[0]
    kept, why = check_shot("mouth_open", neutral)
    assert not kept and "Open your mouth wider" in why
    assert check_shot("eyes_closed", closed)[0] and not check_shot("eyes_closed", neutral)[0]
    kept, why = check_shot("smile", neutral, neutral=neutral.facts)
    assert not kept and "smile" in why
    # mirrored (selfie) view: turning to your right moves the nose to the picture's right
    assert check_shot("head_right", right, mirrored=True)[0]
    kept, why = check_shot("head_left", right, mirrored=True)
    assert not kept and "other side" in why
    assert check_shot("head_left", right, mirrored=False)[0]
    kept, why = check_shot("head_left", neutral)
    assert not kept and "further" in why


def test_a_photo_of_someone_else_is_rejected():
    base = ImageCheck("base", True, "ok", np.zeros((478, 3), np.float32))
    same = ImageCheck("same", True, "ok", np.ones((478, 3), np.float32))
    other = ImageCheck("other", True, "ok", np.full((478, 3), 5, np.float32))
    bad = ImageCheck("bad", False, "No face found.")
    imgs = [np.zeros((2, 2, 3), np.uint8)] * 4
    out = reject_other_people(list(zip(imgs, [base, same, other, bad])),
                              embed=lambda img, lmk: np.array([lmk[0, 0]]),
                              distance=lambda a, b: float(abs(a - b)[0]) / 10, threshold=0.3)
    assert [c.ok for c in out] == [True, True, False, False]
    assert "different person than the base photo" in out[2].reason and out[3] is bad
