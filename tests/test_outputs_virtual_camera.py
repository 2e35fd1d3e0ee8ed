"""The virtual camera output: exact per-OS guidance when no device exists (the real pyvirtualcam on this
machine has none), automatic retry, a device that vanishes and returns, the loopback self-test, and
the consent gate in front of every output. A fake device stands in behind the sink's factory seam."""
import glob
import time

import numpy as np
import pytest

from realtime.live.grabbers import DriverConfig
from realtime.live.output import SinkState
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs import guidance
from realtime.outputs.loopback_check import run_self_test
from realtime.outputs.sink import SinkUnavailable
from realtime.outputs.virtual_camera import VirtualCameraSink, open_pyvirtualcam
from realtime.pipeline import PipelineConfig
from realtime.provenance.consent import ConsentStore
from tests.live_fakes import FakeCamera, FakeVirtualCameraDevice, fake_factory, flat_avatar, wait_until


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))



def session_with(sink, avatar=None, store=None):
    s = LiveSession(OutputConfig(320, 180, 30), opener=FakeCamera().opener, processor_factory=fake_factory(),
                    tracker_factory=lambda: None, consent_store=store)
    s.add_sink(sink)
    s.set_avatar(avatar or flat_avatar(), PipelineConfig(size=256))
    s.start(DriverConfig(kind="camera"))
    return s


def status(s, name="virtual camera"):
    return next((x for x in s.sink_statuses() if x.name == name), None)


@pytest.mark.skipif(bool(glob.glob("/dev/video*")), reason="this machine has video devices; the test needs none")
def test_real_pyvirtualcam_without_a_device_gives_the_linux_command():
    with pytest.raises(SinkUnavailable) as info:
        open_pyvirtualcam(640, 480, 30)
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam" in info.value.guidance
    assert info.value.message == "No virtual camera device found."


def test_guidance_names_exactly_what_to_install_per_os():
    linux = guidance.install_guidance("linux")
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam" in linux
    assert "v4l2loopback-dkms" in linux and "Retry" in linux
    assert "OBS Studio" in guidance.install_guidance("win32") and "OBS Virtual Camera" in guidance.install_guidance("win32")
    mac = guidance.install_guidance("darwin")
    assert "Start Virtual Camera" in mac and "Privacy & Security" in mac


def test_missing_device_keeps_running_retries_and_survives_vanishing():
    dev = FakeVirtualCameraDevice()
    dev.present = False
    sink = VirtualCameraSink(device_factory=dev.factory, platform="linux")
    sink.retry_s = 0.3
    s = session_with(sink)
    try:
        assert wait_until(lambda: status(s) and status(s).state == SinkState.UNAVAILABLE)
        st = status(s)
        assert "modprobe v4l2loopback" in st.guidance
        assert s.stats().output_fps >= 0 and s.running          # the app keeps running
        dev.present = True                                      # the user loads the module
        assert wait_until(lambda: status(s).state == SinkState.ON, 3)
        assert wait_until(lambda: len(dev.frames) > 10)
        assert dev.frames[-1].shape == (180, 320, 3)
        dev.present = False                                     # the device vanishes mid-stream
        assert wait_until(lambda: status(s).state == SinkState.UNAVAILABLE)
        assert "went away" in status(s).guidance
        n = len(dev.frames)
        dev.present = True                                      # and comes back
        assert wait_until(lambda: status(s).state == SinkState.ON and len(dev.frames) > n + 10, 3)
        assert dev.opened == 2
        events = [e for e in s.drain_events() if e.kind == "sink"]
        assert [e.data["state"] for e in events][:4] == ["unavailable", "on", "unavailable", "on"]
    finally:
        assert s.stop()
    assert sink.device is None and dev.closed == 2


def test_steady_fps_with_repeats():
    dev = FakeVirtualCameraDevice()
    sink = VirtualCameraSink(device_factory=dev.factory)
    s = session_with(sink)
    try:
        assert wait_until(lambda: len(dev.send_times) > 10)
        time.sleep(1.5)
    finally:
        s.stop()
    gaps = np.diff(dev.send_times[-40:])
    assert abs(np.median(gaps) - 1 / 30) < 0.006 and gaps.max() < 0.1


def test_loopback_self_test_finds_our_frames():
    dev = FakeVirtualCameraDevice()
    sink = VirtualCameraSink(device_factory=dev.factory)
    assert run_self_test(sink, dev.reader, platform="linux").visible is False     # not running yet
    s = session_with(sink)
    try:
        assert wait_until(lambda: len(dev.frames) > 10)
        ok = run_self_test(sink, dev.reader, platform="linux")
        assert ok.visible is True and "Visible to other apps" in ok.message and "/dev/video9" in ok.message

        class Foreign:                          # another program feeds the device
            def read(self):
                return True, np.full((180, 320, 3), 255, np.uint8)

            def release(self):
                pass
        bad = run_self_test(sink, lambda d: Foreign(), platform="linux", timeout_s=1)
        assert bad.visible is False and "not ours" in bad.message
        assert run_self_test(sink, lambda d: None, platform="linux").visible is False
        other_os = run_self_test(sink, dev.reader, platform="win32")
        assert other_os.visible is None and "OBS Virtual Camera" in other_os.message
    finally:
        s.stop()


def test_consent_gate_refuses_then_allows_then_revocation_stops_outputs(tmp_path):
    store = ConsentStore(tmp_path / "consent")
    hashes = ("b" * 64, "c" * 64)
    avatar = flat_avatar("Alex", needs_consent=True, hashes=hashes)
    dev = FakeVirtualCameraDevice()
    sink = VirtualCameraSink(device_factory=dev.factory)
    s = session_with(sink, avatar, store)
    try:
        assert wait_until(lambda: any(e.kind == "consent" for e in s.drain_events()), 3)
        time.sleep(0.3)
        assert dev.frames == [] and dev.opened == 0             # no record: nothing leaves
        rec = store.record(hashes, "other", "Alex")
        assert wait_until(lambda: len(dev.frames) > 5, 4)       # the gate re-checks and opens
        store.revoke(rec.id)
        assert wait_until(lambda: status(s).state == SinkState.BLOCKED, 4)
        n = len(dev.frames)
        time.sleep(0.3)
        assert len(dev.frames) == n and dev.closed >= 1
        msgs = [e.message for e in s.drain_events() if e.kind == "consent"]
        assert any("revoked" in m for m in msgs), msgs
    finally:
        s.stop()
