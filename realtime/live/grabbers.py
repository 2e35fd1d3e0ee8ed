"""Frame grabbers for the capture thread: a webcam, a video file played at real time, or the built-in
demo motion. The seam: `open_grabber(DriverConfig)` returns an object with `read() -> frame_bgr | None`
(None: the device stopped delivering) and `release()`; it raises DriverUnavailable when it cannot open.
Tests pass their own opener (a fake camera) behind the same seam."""
import logging
import os
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

from .. import synthetic_face

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriverConfig:
    kind: str = "camera"          # "camera" | "demo" | "video"
    camera_index: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    mirror: bool = True
    video_path: str = ""
    fallback: str = "demo"        # driver when the camera is missing at start: "demo" or "video"

    def describe(self) -> str:
        if self.kind == "camera":
            return f"camera {self.camera_index} ({self.width}x{self.height} @ {self.fps:g} fps)"
        if self.kind == "video":
            return f"video {os.path.basename(self.video_path)}"
        return "built-in demo motion"


class DriverUnavailable(Exception):
    """The driver could not be opened; the message says why in words a user can act on."""


class _Pacer:
    """Sleeps so frames come out at `fps` in real time, like a camera."""

    def __init__(self, fps: float):
        self.period = 1.0 / max(fps, 1.0)
        self.next_t = None

    def wait(self) -> None:
        now = time.monotonic()
        if self.next_t is None or now - self.next_t > 0.5:     # first frame, or we fell far behind
            self.next_t = now
        elif self.next_t > now:
            time.sleep(self.next_t - now)
        self.next_t += self.period


class CameraGrabber:
    def __init__(self, config: DriverConfig):
        self.index = config.camera_index
        api = {"linux": cv2.CAP_V4L2, "win32": cv2.CAP_MSMF, "darwin": cv2.CAP_AVFOUNDATION}.get(sys.platform, cv2.CAP_ANY)
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{self.index}"):
            raise DriverUnavailable(f"no camera at index {self.index} (/dev/video{self.index} does not exist)")
        cap = cv2.VideoCapture(self.index, api)
        if not cap.isOpened():
            cap.release()
            raise DriverUnavailable(f"camera {self.index} could not be opened: not connected, or another app is using it")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
        cap.set(cv2.CAP_PROP_FPS, config.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise DriverUnavailable(f"camera {self.index} opened but delivers no picture (another app may be using it)")
        self._cap = cap
        self._first = frame

    def read(self):
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self._cap.read()
        return frame if ok and frame is not None else None

    def release(self) -> None:
        self._cap.release()


class VideoFileGrabber:
    """A video file played at its own frame rate in real time, looping: a camera stand-in."""

    def __init__(self, config: DriverConfig):
        path = config.video_path
        if not path or not os.path.isfile(path):
            raise DriverUnavailable(f"video file not found: {path or '(none chosen)'}")
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise DriverUnavailable(f"{path}: not a video this app can decode (expected MP4, MOV, AVI, MKV or WebM)")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else 30.0
        self.path = path
        self._cap = cap
        self._pacer = _Pacer(self.fps)
        self._frames = 0

    def read(self):
        self._pacer.wait()
        ok, frame = self._cap.read()
        if not ok:
            if self._frames == 0:
                return None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)       # loop
            ok, frame = self._cap.read()
            if not ok:
                return None
        self._frames += 1
        return frame

    def release(self) -> None:
        self._cap.release()


class DemoGrabber:
    """The built-in painted face talking, blinking and turning its head, played forward then backward
    (no jump at the seam). Frames are drawn once at 15 fps and served at the configured rate."""

    SECONDS = 8.0
    DRAW_FPS = 15.0
    SIZE = 320

    _cache = {}          # shared across grabbers: drawing is the costly part

    def __init__(self, config: DriverConfig):
        self.fps = 30.0
        self._pacer = _Pacer(self.fps)
        self._t0 = None
        self._n = int(self.SECONDS * self.DRAW_FPS)

    def _frame(self, i: int) -> np.ndarray:
        frame = self._cache.get(i)
        if frame is None:
            frame = synthetic_face.render(size=self.SIZE, who=synthetic_face.OTHER, seed=0,
                                          **synthetic_face.demo_motion(i / self.DRAW_FPS))
            frame.flags.writeable = False
            self._cache[i] = frame
        return frame

    def read(self):
        self._pacer.wait()
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        k = int((now - self._t0) * self.DRAW_FPS) % (2 * self._n - 2)
        return self._frame(k if k < self._n else 2 * self._n - 2 - k)

    def release(self) -> None:
        pass


def open_grabber(config: DriverConfig):
    """The default opener: camera, video file or demo motion, as configured."""
    if config.kind == "camera":
        return CameraGrabber(config)
    if config.kind == "video":
        return VideoFileGrabber(config)
    if config.kind == "demo":
        return DemoGrabber(config)
    raise DriverUnavailable(f"unknown driver kind {config.kind!r}; expected camera, video or demo")


def list_cameras(max_index: int = 8) -> list:
    """Camera indices that look present (Linux: /dev/videoN that are capture devices; elsewhere 0-3)."""
    if sys.platform.startswith("linux"):
        found = []
        for i in range(max_index):
            if os.path.exists(f"/dev/video{i}"):
                name_file = f"/sys/class/video4linux/video{i}/name"
                try:
                    with open(name_file) as f:
                        name = f.read().strip()
                except OSError:
                    name = f"/dev/video{i}"
                if "avatarcam" not in name.lower():          # never offer our own output as input
                    found.append((i, name))
        return found
    return [(i, f"Camera {i}") for i in range(4)]
