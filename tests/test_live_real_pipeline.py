"""The live threads around the real pipeline (MediaPipe + engine + label), with the built-in sample
avatar: no face in the driver -> the avatar holds still and no raw driver pixel reaches an output;
a face -> the avatar moves. The webcam is a fake behind the capture seam."""
import time

import numpy as np
import pytest

from realtime.avatar import avatar_from_arrays
from realtime.live.grabbers import DriverConfig
from realtime.live.live_avatar import make_live_avatar
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs.sink import Sink
from realtime.pipeline import PipelineConfig
from realtime.provenance.label import VisibleLabel
from realtime.sample_avatar import sample_images
from realtime import synthetic_face as sf
from tests.live_fakes import FakeCamera


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))


class Keep(Sink):
    name = "keep"

    def __init__(self):
        self.frames = []

    def open(self, w, h, fps):
        pass

    def send(self, f):
        if not self.frames or f is not self.frames[-1]:
            self.frames.append(f)


def test_real_pipeline_holds_without_a_face_and_never_leaks_the_driver():
    from realtime.tracking import FaceTracker
    tracker = FaceTracker(static=True, max_faces=2)
    aset = avatar_from_arrays(sample_images(), 256, tracker)
    tracker.close()
    W, H = 640, 360
    avatar = make_live_avatar("sample", aset.images, ("s" * 64,), W, H, needs_consent=False)

    green = np.zeros((240, 320, 3), np.uint8)
    green[:] = (0, 255, 0)                          # a driver picture with no face in it
    state = {"face": False}
    faces = [sf.render(size=320, who=sf.OTHER, **sf.demo_motion(i / 15)) for i in range(30)]
    cam = FakeCamera(fps=15, frame_fn=lambda i: faces[i % 30] if state["face"] else green)
    s = LiveSession(OutputConfig(W, H, 30), opener=cam.opener)
    sink = Keep()
    s.add_sink(sink)
    s.set_avatar(avatar, PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera", mirror=False))
    try:
        deadline = time.monotonic() + 60
        while s.stats().processed < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert s.stats().processed >= 8, [e.message for e in s.drain_events()]
        held = list(sink.frames)
        state["face"] = True
        deadline = time.monotonic() + 30
        while (s.stats().processed < 20 or not s.stats().face_found) and time.monotonic() < deadline:
            time.sleep(0.1)
        moving = sink.frames[len(held):]
        snap = s.stats()
    finally:
        assert s.stop()
    assert snap.face_found
    label = VisibleLabel(W, H)
    for f in sink.frames:
        assert f.shape == (H, W, 3)
        green_px = (f[:, :, 1] > 200) & (f[:, :, 0] < 60) & (f[:, :, 2] < 60)
        assert green_px.mean() < 0.001, "a raw driver frame reached the output"
        x0, y0, x1, y1 = label.rect
        assert np.median(f[y0 + 2:y1 - 2, x0 + 2:x1 - 2]) < 70, "unlabelled frame"
    # no face: the avatar holds still (every output frame the same picture)
    diffs = [np.abs(a.astype(int) - held[0]).mean() for a in held[1:]]
    assert max(diffs, default=0) < 0.5, diffs
    # a face: the avatar moves
    assert len(moving) >= 5
    assert max(np.abs(m.astype(int) - held[0]).mean() for m in moving) > 1.0
