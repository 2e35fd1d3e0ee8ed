"""Recording from the live output: a labelled MP4 that opens with the >= 2 s AI-generated notice, then
the output frames at the steady output rate; a failed recording leaves no file."""
import time

import av
import numpy as np
import pytest

from realtime.live.grabbers import DriverConfig
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs.recorder import Mp4RecorderSink
from realtime.outputs.sink import SinkError
from realtime.pipeline import PipelineConfig
from tests.live_fakes import FakeCamera, fake_factory, flat_avatar


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))


def test_recording_opens_with_the_notice_then_the_labelled_output(tmp_path):
    s = LiveSession(OutputConfig(320, 180, 30), opener=FakeCamera().opener, processor_factory=fake_factory(),
                    tracker_factory=lambda: None)
    s.set_avatar(flat_avatar(colour=(30, 160, 60)), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    path = tmp_path / "take.mp4"
    done = []
    try:
        deadline = time.monotonic() + 5
        while s.session_id is None and time.monotonic() < deadline:
            time.sleep(0.02)
        rec = Mp4RecorderSink(path, s.session_id, on_finished=lambda p, e: done.append((p, e)))
        s.add_sink(rec)
        time.sleep(1.5)
        s.remove_sink(rec)
        assert rec.finished.wait(10)
    finally:
        s.stop()
    assert done == [(str(path), None)] and path.exists()
    from realtime.provenance.c2pa_sign import read_c2pa
    status = read_c2pa(path)
    assert status["state"] == "trusted" and status["session_id"] == rec.session_id
    assert status["consent_record_sha256"] is None              # the test avatar needs no consent
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(stream)]
        fps = float(stream.average_rate)
    assert fps == 30 and (stream.width, stream.height) == (320, 180)
    notice = int(np.ceil(2.0 * fps))
    assert len(frames) >= notice + 30                     # 2 s notice + ~1.5 s of output at a steady 30 fps
    assert np.abs(frames[0].astype(int) - frames[notice - 1]).mean() < 2   # the notice holds >= 2 s
    body = frames[-1][60:120, 20:120].reshape(-1, 3).mean(0)
    assert np.abs(body - (30, 160, 60)).max() < 8         # then the avatar
    assert np.abs(frames[0][60:120, 20:120].reshape(-1, 3).mean(0) - (30, 160, 60)).max() > 20


def test_recording_to_an_unwritable_place_says_why(tmp_path):
    with pytest.raises(SinkError, match="does not exist"):
        Mp4RecorderSink(tmp_path / "missing" / "x.mp4", "abcdef")
    assert not list(tmp_path.glob("**/*.mp4"))


def test_finishing_a_recording_does_not_freeze_the_other_outputs(tmp_path, monkeypatch):
    """Stopping a recording encodes its backlog and signs the file (here made to take 1.5 s): the
    virtual camera beside it must keep getting frames meanwhile, not freeze the call."""
    from realtime.outputs.sink import Sink
    from realtime.provenance import c2pa_sign
    real_sign = c2pa_sign.sign_mp4

    def slow_sign(*args, **kwargs):
        time.sleep(1.5)
        return real_sign(*args, **kwargs)
    monkeypatch.setattr(c2pa_sign, "sign_mp4", slow_sign)

    class Camera(Sink):
        name = "camera"
        times = []

        def open(self, width, height, fps):
            pass

        def send(self, frame_bgr):
            self.times.append(time.monotonic())

    s = LiveSession(OutputConfig(320, 180, 30), opener=FakeCamera().opener, processor_factory=fake_factory(),
                    tracker_factory=lambda: None)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    cam = Camera()
    try:
        s.add_sink(cam)
        rec = Mp4RecorderSink(tmp_path / "take.mp4")
        s.add_sink(rec)
        time.sleep(1.0)
        stopped = time.monotonic()
        s.remove_sink(rec)
        assert rec.finished.wait(15) and rec.saved_path                # the file is still saved
        finished = time.monotonic()
    finally:
        s.stop()
    assert finished - stopped > 1.4                                      # the slow finish did happen
    assert len([t for t in cam.times if t < stopped]) > 10               # the camera was being fed
    during = [t for t in cam.times if stopped <= t <= finished]
    gaps = np.diff([stopped] + during + [finished])
    assert gaps.max() < 0.3, f"the camera got no frame for {gaps.max():.2f} s while the recording finished"
