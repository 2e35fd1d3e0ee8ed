"""Landmark smoothing: a still head stops shimmering, yet a blink and a quickly opened mouth come
through in time (lag on lips and lids is what makes an avatar look dubbed)."""
import numpy as np
import pytest

from engines import topology as topo
from realtime import synthetic_face as sf
from realtime.tracking import FaceTracker, LandmarkSmoother

FPS = 30.0


@pytest.fixture(scope="module")
def face():
    tracker = FaceTracker(static=True)
    lmk = tracker.detect(sf.render(who=sf.OTHER))
    tracker.close()
    return lmk


def run(smoother, frames):
    return [smoother(f, i / FPS) for i, f in enumerate(frames)]


def test_a_still_head_stops_shimmering(face):
    rng = np.random.default_rng(0)
    height = np.ptp(face[topo.FACE_OVAL, 1])
    noisy = [face + rng.normal(0, 0.004 * height, face.shape).astype(np.float32) for _ in range(90)]
    out = np.array(run(LandmarkSmoother(), noisy))[30:]          # after the first second
    raw = np.array(noisy)[30:]
    jitter = lambda seq, idx: np.diff(seq[:, idx, :2], axis=0).std()  # noqa: E731
    assert jitter(out, topo.STABLE) < 0.5 * jitter(raw, topo.STABLE)      # the head: what shakes
    assert jitter(out, topo.LIPS_INNER) < 0.8 * jitter(raw, topo.LIPS_INNER)
    off = LandmarkSmoother(strength=0.0)
    assert np.array_equal(np.array(run(off, noisy)), np.array(noisy))   # 0 switches it off


def lids_closed(face, amount):
    out = face.copy()
    for upper, lower in topo.LID_PAIRS:
        mid = (face[upper, 1] + face[lower, 1]) / 2
        out[upper, 1] += amount * (mid - face[upper, 1])
        out[lower, 1] += amount * (mid - face[lower, 1])
    return out


def test_a_blink_comes_through(face):
    """A 100 ms blink (3 frames shut) after a still second: the smoothed lids close at least 80 % and
    are open again (>= 75 %) one frame after the driver's are."""
    frames = [face] * 30 + [lids_closed(face, 0.5)] + [lids_closed(face, 1.0)] * 3 + [lids_closed(face, 0.5)] + [face] * 10
    out = run(LandmarkSmoother(), frames)
    open_ = topo.eye_openness(out[29])
    least = min(topo.eye_openness(f) for f in out[30:40])
    assert least < 0.2 * open_, f"eye openness {open_:.3f} -> at most closed {least:.3f}"
    assert topo.eye_openness(out[35]) > 0.75 * open_, "the lids lag behind the driver's"


def test_an_opened_mouth_arrives_within_two_frames(face):
    opened = face.copy()
    height = np.ptp(face[topo.FACE_OVAL, 1])
    opened[topo.LIPS_INNER_LOWER + [17, 84, 314, 181, 405, 91, 321], 1] += 0.15 * height
    target = topo.mouth_openness(opened)
    out = run(LandmarkSmoother(), [face] * 30 + [opened] * 10)
    got = [topo.mouth_openness(f) / target for f in out[30:33]]
    assert got[0] > 0.7 and got[1] > 0.9, f"fraction of the opening shown 1, 2, 3 frames on: {got}"
