"""The live pipeline's threading behaviour: one-item mailbox, paced output that repeats frames, camera
fallback and reconnection, avatar swaps without a gap, fail-closed labelling, stop within 2 s.
The engine is a quick stand-in here (the engine is not what these tests are about); the webcam is a fake
behind the capture thread's opener seam."""
import time

import numpy as np
import pytest

from realtime.live.capture import DriverState
from realtime.live.grabbers import DriverConfig
from realtime.live.mailbox import LatestValue, Mailbox
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs.sink import Sink
from realtime.pipeline import PipelineConfig
from tests.live_fakes import FakeCamera, fake_factory, flat_avatar, pose_marker, wait_until


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))


class RecordingSink(Sink):
    name = "recording sink"

    def __init__(self):
        self.frames, self.times, self.opened = [], [], 0

    def open(self, w, h, fps):
        self.opened += 1
        self.size = (w, h)

    def send(self, frame):
        self.frames.append(frame)
        self.times.append(time.monotonic())
        del self.frames[:-300]



def make_session(cam=None, delay_s=0.0, made=None, fps=30.0, **kw):
    cam = cam or FakeCamera()
    s = LiveSession(OutputConfig(320, 180, fps), opener=cam.opener,
                    processor_factory=fake_factory(delay_s, made=made, **kw),
                    tracker_factory=lambda: None, retry_s=0.1)
    return s, cam


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def test_mailbox_keeps_only_the_newest_and_counts_drops():
    box = Mailbox()
    t0 = time.perf_counter()
    for i in range(1000):
        box.put(i)                      # the writer never waits on a reader
    assert time.perf_counter() - t0 < 0.5
    assert box.take(timeout=0) == 999
    assert box.dropped == 999
    assert box.take(timeout=0.01) is None
    slot = LatestValue()
    assert slot.peek() == (None, 0)
    slot.publish("a")
    slot.publish("b")
    assert slot.peek() == ("b", 2)
    assert slot.peek() == ("b", 2)      # peeking does not take


def test_output_is_paced_and_repeats_frames_when_processing_is_slow():
    s, cam = make_session(delay_s=0.1)            # the "engine" makes ~10 frames a second
    sink = RecordingSink()
    s.add_sink(sink)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: len(sink.times) > 5)
        n0, t0 = len(sink.times), time.monotonic()
        time.sleep(2.0)
        rate = (len(sink.times) - n0) / (time.monotonic() - t0)
        st = s.stats()
    finally:
        assert s.stop()
    assert 24 <= rate <= 33, f"output ran at {rate:.1f} fps, expected a steady ~30"
    assert 5 <= st.fresh_fps <= 12, st
    assert st.repeated > 20                       # the last frame was repeated while processing was late
    assert st.dropped > 10                        # the camera outran the engine: old frames were dropped
    assert st.latency_p50_ms >= 90 and st.latency_p95_ms < 400, st
    gaps = np.diff(sink.times[-40:])
    assert gaps.max() < 0.1, f"a {gaps.max() * 1e3:.0f} ms gap in the paced output"
    assert sink.frames[-1].shape == (180, 320, 3) and not sink.frames[-1].flags.writeable


def test_output_keeps_the_full_rate_when_processing_is_a_little_slow():
    s, cam = make_session(delay_s=0.045)          # ~20 new frames a second
    sink = RecordingSink()
    s.add_sink(sink)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: len(sink.times) > 5)
        time.sleep(0.5)
        n0, t0 = len(sink.times), time.monotonic()
        time.sleep(2.0)
        rate = (len(sink.times) - n0) / (time.monotonic() - t0)
        st = s.stats()
    finally:
        assert s.stop()
    assert 27 <= rate <= 33, f"output ran at {rate:.1f} fps, expected the steady 30"
    assert 14 <= st.fresh_fps <= 24, st
    # a new frame goes out as soon as it is made: latency = waiting for the engine + the engine, no tick wait
    assert st.latency_p50_ms < 45 + 33 + 25, st


def test_no_camera_at_start_falls_back_to_demo_then_picks_up_the_camera():
    cam = FakeCamera(present=False)
    s, _ = make_session(cam)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: s.driver_state == DriverState.FALLBACK)
        assert s.active_driver.kind == "demo"
        ev = kinds(s.drain_events(), "driver")
        assert any("No camera" in e.message and "demo motion" in e.message for e in ev), ev
        assert wait_until(lambda: s.preview()[0] is not None and s.preview()[0].driver_bgr is not None, 10)
        cam.present = True                         # plugged in later
        assert wait_until(lambda: s.driver_state == DriverState.LIVE and s.active_driver.kind == "camera", 5)
        assert any("camera found" in e.message for e in kinds(s.drain_events(), "driver"))
    finally:
        assert s.stop()


def test_camera_unplugged_mid_stream_holds_the_avatar_and_reconnects():
    s, cam = make_session()
    sink = RecordingSink()
    s.add_sink(sink)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: s.stats().processed > 10)
        cam.present = False                                        # unplugged
        assert wait_until(lambda: s.driver_state == DriverState.LOST)
        msgs = [e.message for e in kinds(s.drain_events(), "driver")]
        assert any("stopped delivering" in m and "holds still" in m for m in msgs), msgs
        time.sleep(0.3)
        processed = s.stats().processed
        n = len(sink.frames)
        time.sleep(0.5)
        held = sink.frames[n:]
        assert len(held) >= 10, "the output must keep sending while the camera is gone"
        assert all(f is held[0] for f in held), "the output must hold the last avatar frame"
        assert s.stats().processed == processed
        cam.present = True                                         # plugged back in
        assert wait_until(lambda: s.driver_state == DriverState.LIVE, 5)
        assert wait_until(lambda: s.stats().processed > processed + 5, 5)
        assert any("reconnected" in e.message for e in kinds(s.drain_events(), "driver"))
    finally:
        assert s.stop()


def test_swapping_the_avatar_while_live_has_no_gap_and_no_raw_frame():
    green = np.zeros((240, 320, 3), np.uint8)
    green[:] = (0, 255, 0)                                         # the "raw driver" picture
    cam = FakeCamera(frame_fn=lambda i: green)
    made = []
    s, _ = make_session(cam, delay_s=0.03, made=made)
    sink = RecordingSink()
    s.add_sink(sink)
    s.set_avatar(flat_avatar("first", (200, 50, 50)), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera", mirror=False))
    try:
        assert wait_until(lambda: len(sink.frames) > 20)
        s.set_avatar(flat_avatar("second", (50, 50, 200)), PipelineConfig(size=256))
        assert wait_until(lambda: len(made) == 2 and made[1].count > 5, 5)
        time.sleep(0.3)
        ev = [e.message for e in kinds(s.drain_events(), "avatar")]
    finally:
        assert s.stop()
    gaps = np.diff(sink.times)
    assert gaps.max() < 0.12, f"a {gaps.max() * 1e3:.0f} ms gap during the swap"
    first, second = np.array((200, 50, 50)), np.array((50, 50, 200))
    for f in sink.frames:                       # only avatar pixels (watermarked); never the driver's green
        px = f[100:110, 20:30].reshape(-1, 3).mean(0)
        assert min(np.abs(px - first).max(), np.abs(px - second).max()) < 4, px
    assert np.abs(sink.frames[-1][100:110, 20:30].reshape(-1, 3).mean(0) - second).max() < 4
    assert made[0].closed, "the old processor is closed after the swap"
    assert any("Animating second" in m for m in ev)


def test_the_drivers_neutral_outlives_an_avatar_swap_but_not_a_new_driver():
    """A new avatar set (or photo ticked) is a new processor with the same driver: it takes over the
    driver's neutral. Another driver (demo motion to camera) is another face: its neutral is found
    again, waiting for a neutral-looking frame."""
    made = []
    s, _ = make_session(made=made)
    s.set_avatar(flat_avatar("first", (200, 50, 50)), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera", mirror=False))
    try:
        assert wait_until(lambda: len(made) == 1 and made[0].count > 3)
        s.set_avatar(flat_avatar("second", (50, 50, 200)), PipelineConfig(size=256))
        assert wait_until(lambda: len(made) == 2 and made[1].count > 3)
        assert made[1].neutral_from is made[0] and made[1].calibrations == []
        s.set_driver(DriverConfig(kind="demo"))
        assert wait_until(lambda: made[1].calibrations == [True])
    finally:
        assert s.stop()


def test_labelling_fails_closed():
    made = []
    s, _ = make_session(made=made, fail_label=lambda n: n > 10)   # the watermark step breaks after 10 frames
    sink = RecordingSink()
    s.add_sink(sink)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: made and made[0].count > 20, 5)
        time.sleep(0.3)
        errors = kinds(s.drain_events(), "error")
    finally:
        assert s.stop()
    assert errors and "hold the last labelled frame" in errors[0].message
    markers = {pose_marker(f) for f in sink.frames}
    assert max(markers) <= 10, "frames whose labelling failed must never reach a sink"
    assert sink.frames[-1] is sink.frames[-2]                      # the last good frame is repeated


def test_live_changes_apply_without_rebuild_and_engine_size_rebuilds():
    made = []
    s, _ = make_session(made=made)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: len(made) == 1 and made[0].count > 2)
        s.set_pipeline(PipelineConfig(size=256, expression=0.5, head_motion=False))
        assert wait_until(lambda: made[0].updates == [{"expression": 0.5, "head_motion": False}])
        s.set_pipeline(PipelineConfig(size=512, expression=0.5, head_motion=False))
        assert wait_until(lambda: len(made) == 2 and made[1].count > 2)
        assert made[1].config.size == 512
        assert {"expression": 0.5, "head_motion": False} in made[1].updates   # carried over to the new one
        assert made[1].labeller is made[0].labeller                          # same output session
    finally:
        assert s.stop()


def test_stop_ends_every_thread_and_releases_the_camera_within_2s():
    s, cam = make_session(delay_s=0.05)
    s.set_avatar(flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    assert wait_until(lambda: s.stats().processed > 3)
    t0 = time.monotonic()
    assert s.stop(timeout=2.0)
    assert time.monotonic() - t0 < 2.0
    assert cam.open_grabbers == 0 and cam.releases == cam.opens
    for t in (s.capture, s.processing, s.output, s.builder):
        assert not t.is_alive(), t.name


def _rss_mb():
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_memory_stays_flat_while_running():
    """A short version of the benchmark's 30-minute run: every output and the preview active; a leaked
    640x360 frame per tick would add ~20 MB a second."""
    import urllib.request
    from realtime.outputs.mjpeg_stream import MjpegStreamSink
    from realtime.outputs.virtual_camera import VirtualCameraSink
    from tests.live_fakes import FakeVirtualCameraDevice
    s = LiveSession(OutputConfig(640, 360, 30), opener=FakeCamera().opener, processor_factory=fake_factory(),
                    tracker_factory=lambda: None)
    dev = FakeVirtualCameraDevice()
    dev.keep = 5
    stream = MjpegStreamSink()
    s.add_sink(VirtualCameraSink(device_factory=dev.factory))
    s.add_sink(stream)
    s.set_avatar(flat_avatar(size=(640, 360)), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    try:
        assert wait_until(lambda: stream.port and len(dev.frames) > 0)
        viewer = urllib.request.urlopen(stream.stream_url, timeout=5)
        samples = []
        t_end = time.monotonic() + 7
        while time.monotonic() < t_end:
            viewer.read1(1 << 20)                          # a browser watching the stream
            s.preview()                                    # the window peeking
            samples.append((time.monotonic(), _rss_mb()))
            time.sleep(0.05)
        viewer.close()
        processed = s.stats().processed
    finally:
        assert s.stop()
    assert processed > 100
    start = np.median([m for t, m in samples[:20]])        # after ~1 s of warm-up...
    end = np.median([m for t, m in samples[-20:]])
    assert end - start < 15, f"memory grew {end - start:.1f} MB in 6 s"
