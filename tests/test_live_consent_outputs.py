"""Consent per kind of output (CONSENT.md K1): each output gets a frame only while the frame's own avatar
set has a valid record for that output's scope (virtual camera "live", stream "stream", recording
"record"), and a recording holds one session of one avatar set under its own record. What is checked is
what a user would see: the pictures each output carries, and the ids written into a recording.
The webcam and the virtual camera device are fakes; the engine is the quick stand-in with the real
labeller; the stream, the recorder, C2PA and the watermark detector are the real ones."""
import socket
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from realtime.live.grabbers import DriverConfig
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs.mjpeg_stream import MjpegStreamSink
from realtime.outputs.recorder import Mp4RecorderSink
from realtime.outputs.virtual_camera import VirtualCameraSink
from realtime.pipeline import PipelineConfig
from realtime.provenance.consent import ConsentStore
from realtime.provenance.media import decode
from tests.live_fakes import FakeCamera, FakeProcessor, FakeVirtualCameraDevice, fake_factory, flat_avatar, wait_until

RED, BLUE = (200, 50, 50), (50, 50, 200)
HASH_A, HASH_B = "a" * 64, "b" * 64
FPS = 15
NOTICE = int(np.ceil(2.0 * FPS))          # the recording's opening notice, in frames



def which(frame) -> str:
    """Which avatar a frame shows: A (red) or B (blue), read away from the label."""
    px = frame[100:110, 20:30].reshape(-1, 3).mean(0)
    return "A" if np.abs(px - RED).max() < np.abs(px - BLUE).max() else "B"


def avatars():
    return (flat_avatar("A", RED, needs_consent=True, hashes=(HASH_A,)),
            flat_avatar("B", BLUE, needs_consent=True, hashes=(HASH_B,)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_frame(stream):
    """What a browser gets from the stream's address now: a picture, or None (nothing served)."""
    url = f"http://127.0.0.1:{stream.port}/{stream.token}/frame.jpg"
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return cv2.imdecode(np.frombuffer(r.read(), np.uint8), cv2.IMREAD_COLOR)
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def status(session, name):
    return next((s for s in session.sink_statuses() if s.name == name), None)


@pytest.fixture
def store(tmp_path):
    return ConsentStore(tmp_path / "consent")


def live_session(store, *sinks):
    s = LiveSession(OutputConfig(320, 180, FPS), opener=FakeCamera(fps=FPS).opener, processor_factory=fake_factory(),
                    tracker_factory=lambda: None, consent_store=store, retry_s=0.1)
    for sink in sinks:
        s.add_sink(sink)
    return s


def started_on_camera_and_stream(store, avatar):
    """A live session animating `avatar`, sending to a (fake) virtual camera and the MJPEG stream."""
    dev = FakeVirtualCameraDevice()
    stream = MjpegStreamSink(port=free_port(), max_fps=FPS)
    s = live_session(store, VirtualCameraSink(device_factory=dev.factory), stream)
    s.set_avatar(avatar, PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    return s, dev, stream


def test_a_set_without_live_consent_reaches_no_output_even_one_its_record_covers(store):
    """"live" is the consent to animate a set in real time at all: a record for streaming only does not
    put the set on the stream (nor on the virtual camera)."""
    _, b = avatars()
    store.record([HASH_B], "other", "Bob", scope=("stream",), method="token")
    s, dev, stream = started_on_camera_and_stream(store, b)
    try:
        time.sleep(1.5)
        served = [f for f in (fetch_frame(stream) for _ in range(10)) if f is not None]
        assert served == [] and dev.frames == []
        assert status(s, "stream").state == "blocked"
    finally:
        s.stop()


def test_a_set_without_stream_consent_never_reaches_the_stream_while_its_live_output_works(store):
    a, b = avatars()
    store.record([HASH_A], "other", "Alice", method="token")                       # every use
    store.record([HASH_B], "other", "Bob", scope=("live",), method="token")        # live only, no stream
    s, dev, stream = started_on_camera_and_stream(store, b)
    try:
        assert wait_until(lambda: len(dev.frames) > 10, timeout=8.0)                  # B's live output works...
        assert which(dev.frames[-1]) == "B"
        assert fetch_frame(stream) is None                                 # ...its stream serves nothing
        st = status(s, "stream")
        assert st.state == "blocked" and "streaming" in st.detail, st
        # a set whose record covers streaming is served; switching back to B takes it off the stream again
        s.set_avatar(a, PipelineConfig(size=256))
        assert wait_until(lambda: (f := fetch_frame(stream)) is not None and which(f) == "A", timeout=8.0)
        s.set_avatar(b, PipelineConfig(size=256))
        served = []
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            f = fetch_frame(stream)
            if f is not None:
                served.append(which(f))
            time.sleep(0.05)
        assert which(dev.frames[-1]) == "B"
        sink_events = [e.message for e in s.drain_events() if e.kind == "sink"]
    finally:
        assert s.stop()
    assert "B" not in served, served
    assert any(m.startswith("stream: no valid consent record covers B for streaming") for m in sink_events), \
        sink_events


def test_a_recording_started_for_the_sample_never_holds_a_consented_face(store, tmp_path):
    """The window starts a recording without a consent record when the built-in sample is selected;
    if another set's frames are still coming (the sample loading, a quick switch), the file must not
    take them: it would hold someone's face tied to no consent record."""
    a, _ = avatars()
    store.record([HASH_A], "other", "Alice", method="token")                       # every use, recording too
    dev = FakeVirtualCameraDevice()
    s = live_session(store, VirtualCameraSink(device_factory=dev.factory))
    s.set_avatar(a, PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    path = tmp_path / "sample.mp4"
    try:
        assert wait_until(lambda: len(dev.frames) > 5, timeout=8.0)
        rec = Mp4RecorderSink(path, sign=False)                          # no record: the sample's recording
        s.add_sink(rec)
        time.sleep(1.5)
        s.remove_sink(rec)
        assert rec.finished.wait(10)
    finally:
        assert s.stop()
    assert not path.exists() and rec.frames_written == 0 and "nothing was recorded" in rec.error


def test_a_set_without_record_consent_is_never_recorded(store, tmp_path):
    _, b = avatars()
    store.record([HASH_B], "other", "Bob", scope=("live", "stream"), method="token")
    dev = FakeVirtualCameraDevice()
    s = live_session(store, VirtualCameraSink(device_factory=dev.factory))
    s.set_avatar(b, PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    path = tmp_path / "b.mp4"
    done = []
    try:
        assert wait_until(lambda: s.session_id is not None and len(dev.frames) > 5, timeout=8.0)
        rec = Mp4RecorderSink(path, s.session_id, on_finished=lambda p, e: done.append((p, e)), sign=False)
        s.add_sink(rec)
        time.sleep(1.5)
        n = len(dev.frames)
        assert wait_until(lambda: len(dev.frames) > n + 5, timeout=8.0)               # the live output keeps going
        why = status(s, "recording")
        s.remove_sink(rec)                                               # the user stops the recording
        assert rec.finished.wait(10)
    finally:
        assert s.stop()
    assert not path.exists() and rec.frames_written == 0
    assert why.state == "blocked" and "for recording" in why.detail, why
    assert done and done[0][0] is None and "nothing was recorded" in done[0][1]


@pytest.mark.parametrize("b_scope", [("live",), ("live", "record", "stream")], ids=["B-no-record", "B-consented"])
def test_switching_sets_mid_recording_finishes_the_recording_without_the_new_set(qtbot, store, tmp_path, b_scope):
    """B lacking "record" must never be written; B with its own record must not go into A's file under
    A's record either: the recording ends when the set changes, and says why."""
    from realtime.provenance.c2pa_sign import read_c2pa
    from ui.context import AppContext
    from ui.live_controller import LiveController
    a, b = avatars()
    rec_a = store.record([HASH_A], "other", "Alice", method="token")
    rec_b = store.record([HASH_B], "other", "Bob", scope=b_scope, method="token")
    dev = FakeVirtualCameraDevice()
    ctx = AppContext(tmp_path / "home", opener=FakeCamera(fps=FPS).opener, vcam_factory=dev.factory,
                     processor_factory=fake_factory(), tracker_factory=lambda: None)
    lc = LiveController(ctx)
    finished, events = [], []
    lc.recording_finished.connect(lambda p, e: finished.append((p, e)))
    lc.event_ready.connect(events.append)                   # what the window shows
    lc.start(a, PipelineConfig(size=256), DriverConfig(kind="camera"), OutputConfig(320, 180, FPS), store, True, False)
    path = tmp_path / "a.mp4"
    try:
        qtbot.waitUntil(lambda: len(dev.frames) > 5, timeout=8000)
        rec = lc.start_recording(path, rec_a)
        qtbot.waitUntil(lambda: rec.frames_written > 10, timeout=8000)
        lc.set_avatar(b)                                                 # the user picks another set
        qtbot.waitUntil(lambda: which(dev.frames[-1]) == "B", timeout=8000)
        qtbot.wait(1500)                                                 # B is live for a while
        ended_by_itself = lc.recorder is None and bool(finished)
        if lc.recorder is not None:
            lc.stop_recording()
        qtbot.waitUntil(lambda: bool(finished), timeout=15000)
    finally:
        lc.stop()
    assert finished == [(str(path), None)]
    frames = decode(path)
    shown = [which(f) for f in frames[NOTICE:]]
    assert len(shown) >= 10 and set(shown) == {"A"}, shown
    c2pa = read_c2pa(path)
    assert c2pa["consent_record_sha256"] == rec_a.record_hash != rec_b.record_hash
    ended = [e for e in events if e.data.get("sink") == "recording" and e.data.get("state") == "ended"]
    assert ended_by_itself and ended and "avatar changed to B" in ended[0].message, [e.message for e in events]


def test_a_recording_started_before_the_engine_is_ready_carries_the_frames_session_id(qtbot, store, tmp_path):
    from realtime import synthetic_face as sf
    from realtime.avatar import AvatarImage
    from realtime.live.live_avatar import LiveAvatar
    from realtime.provenance.c2pa_sign import read_c2pa
    from realtime.provenance.detect import detect_file, detect_frames
    from ui.context import AppContext
    from ui.live_controller import LiveController
    img = cv2.resize(sf.render(size=360, who=sf.OTHER), (640, 360))     # texture for the watermark to hide in
    record = store.record([HASH_A], "other", "Alice", method="token")
    avatar = LiveAvatar("A", (AvatarImage("A", img, np.zeros((478, 3), np.float32)),), (HASH_A,), True)

    def slow_engine(avatar, config, labeller, tracker):
        time.sleep(1.0)                                        # the real engine takes seconds to load
        return FakeProcessor(avatar, config, labeller)
    ctx = AppContext(tmp_path / "home", opener=FakeCamera(fps=FPS).opener, processor_factory=slow_engine,
                     tracker_factory=lambda: None)
    lc = LiveController(ctx)
    lc.start(avatar, PipelineConfig(size=256), DriverConfig(kind="camera"), OutputConfig(640, 360, FPS), store,
             False, False)
    path = tmp_path / "early.mp4"
    try:
        rec = lc.start_recording(path, record)               # Record pressed right after Start
        assert lc.session.session_id is None                 # the engine is still loading
        qtbot.waitUntil(lambda: rec.frames_written > 2 * FPS, timeout=15000)
        live_session_id = lc.session.session_id
        lc.stop_recording()
        assert rec.finished.wait(15)
    finally:
        lc.stop()
    assert rec.saved_path == str(path) and rec.error is None
    c2pa = read_c2pa(path)
    in_notice = detect_file(path).detection                  # the opening notice's watermark
    in_frames = detect_frames(decode(path)[NOTICE:])           # the animated frames' watermark
    assert in_notice.found and in_frames.found
    assert c2pa["session_id"] == in_notice.session_id == in_frames.session_id == live_session_id
    assert rec.session_id == live_session_id                 # what the window writes into the consent log
