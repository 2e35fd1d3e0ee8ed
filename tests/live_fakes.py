"""Fakes for hardware that cannot exist on a test machine (a webcam, a virtual camera device), behind
the same seams the real ones use, and a quick stand-in for the engine where the engine is not what a
test is about."""
import threading
import time

import numpy as np

from realtime.avatar import AvatarImage
from realtime.live.grabbers import DriverUnavailable
from realtime.live.live_avatar import LiveAvatar
from realtime.pipeline import FrameResult


class FakeCamera:
    """A webcam that can be plugged in and out. opener() is the seam the capture thread uses."""

    def __init__(self, fps: float = 30.0, size=(320, 240), present: bool = True, frame_fn=None):
        self.fps = fps
        self.size = size
        self.present = present
        self.opens = 0
        self.releases = 0
        self.open_grabbers = 0
        self.frame_fn = frame_fn or (lambda i: np.full((size[1], size[0], 3), (i * 7) % 200 + 20, np.uint8))
        self._i = 0
        self._lock = threading.Lock()

    def opener(self, config):
        if config.kind != "camera":
            from realtime.live.grabbers import open_grabber
            return open_grabber(config)
        if not self.present:
            raise DriverUnavailable(f"no camera at index {config.camera_index} (fake camera unplugged)")
        with self._lock:
            self.opens += 1
            self.open_grabbers += 1
        return _FakeGrabber(self)


class _FakeGrabber:
    def __init__(self, cam: FakeCamera):
        self.cam = cam
        self.next_t = time.monotonic()
        self.released = False

    def read(self):
        if not self.cam.present:
            time.sleep(0.05)
            return None
        now = time.monotonic()
        if self.next_t > now:
            time.sleep(self.next_t - now)
        self.next_t = max(self.next_t + 1 / self.cam.fps, time.monotonic() - 0.1)
        self.cam._i += 1
        return self.cam.frame_fn(self.cam._i)

    def release(self):
        if not self.released:
            self.released = True
            with self.cam._lock:
                self.cam.releases += 1
                self.cam.open_grabbers -= 1


class FakeProcessor:
    """Stands in for FrameProcessor: output = the avatar's base image with a frame counter in its top
    rows, labelled by the real Labeller; `delay_s` simulates a slow engine. A driver frame whose mean is
    above `face_threshold` counts as "face found"."""

    def __init__(self, avatar, config, labeller, tracker=None, delay_s: float = 0.0, fail_label=None):
        self.avatar, self.config, self.labeller = avatar, config, labeller
        self.delay_s = delay_s
        self.base = avatar.images[0].image_bgr
        self.count = 0
        self.fail_label = fail_label            # callable(count) -> True to raise in labelling
        self.backend, self.backend_notes = "fake", []
        self.updates = []
        self.closed = False
        self.last_pose = 0
        self.calibrations = []                  # each calibrate(wait) asked of it
        self.neutral_from = None                # the processor whose driver neutral it took over
        self.finding_neutral = False

    def update(self, **changes):
        self.updates.append(changes)

    def calibrate(self, wait=False):
        self.calibrations.append(wait)

    def keep_neutral_of(self, other):
        self.neutral_from = other

    def process(self, frame, t):
        return self.render(self.track(frame, t))

    def track(self, frame, t):
        from realtime.pipeline import Tracked
        face = frame is not None and float(frame.mean()) > 30
        return Tracked(np.zeros((478, 3), np.float32) if face else None,
                       np.zeros((478, 2), np.float32) if face else None, {})

    def render(self, tracked):
        if self.delay_s:
            time.sleep(self.delay_s)                 # the slow "engine"
        face = tracked.target is not None
        if face:
            self.count += 1
            self.last_pose = self.count
        out = self.base.copy()
        out[:8, :8] = (self.last_pose % 25) * 10     # pose marker (read with pose_marker): moves only with a face
        if self.fail_label and self.fail_label(self.count):
            raise RuntimeError("watermark failed (test)")
        self.labeller.apply(out)
        return FrameResult(out, face, np.zeros((478, 3), np.float32) if face else None, {})

    def close(self):
        self.closed = True


def pose_marker(frame) -> int:
    return int(round(float(frame[:8, :8].mean()) / 10))


def fake_factory(delay_s: float = 0.0, fail_label=None, made=None):
    def factory(avatar, config, labeller, tracker):
        p = FakeProcessor(avatar, config, labeller, tracker, delay_s, fail_label)
        if made is not None:
            made.append(p)
        return p
    return factory


def flat_avatar(name="test avatar", colour=(90, 120, 150), size=(320, 180), needs_consent=False, hashes=("a" * 64,)):
    img = np.empty((size[1], size[0], 3), np.uint8)
    img[:] = colour
    lmk = np.zeros((478, 3), np.float32)
    return LiveAvatar(name, (AvatarImage(name, img, lmk),), tuple(hashes), needs_consent)


class FakeVirtualCameraDevice:
    """Stands in for pyvirtualcam behind VirtualCameraSink's device-factory seam. `present` False:
    opening fails like pyvirtualcam does with no v4l2loopback device; set it False while open and the
    next send fails like a vanished device."""

    def __init__(self):
        self.present = True
        self.frames = []
        self.opened = 0
        self.closed = 0
        self.device = "/dev/video9"
        self.keep = 120
        self.send_times = []

    def factory(self, width, height, fps, device=None):
        if not self.present:
            raise RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found at /dev/video[0-99]. "
                               "Did you run 'modprobe v4l2loopback'?")
        self.opened += 1
        self.size = (width, height)
        return _FakeVcamHandle(self)

    def reader(self, device):
        """A loopback reader (the self-test's seam) that reads back what the device was sent."""
        return _FakeReader(self)


class _FakeVcamHandle:
    def __init__(self, dev):
        self.dev = dev
        self.device = dev.device

    def send(self, frame):
        if not self.dev.present:
            raise RuntimeError("write: No such device")
        self.dev.frames.append(frame)
        self.dev.send_times.append(time.monotonic())
        del self.dev.frames[:-self.dev.keep]
        del self.dev.send_times[:-1000]

    def close(self):
        self.dev.closed += 1


class _FakeReader:
    def __init__(self, dev):
        self.dev = dev

    def read(self):
        time.sleep(0.02)
        return (True, self.dev.frames[-1].copy()) if self.dev.frames else (False, None)

    def release(self):
        pass


def wait_until(cond, timeout=5.0, step=0.02):
    """True as soon as cond() holds; cond()'s last answer once timeout seconds have passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()
