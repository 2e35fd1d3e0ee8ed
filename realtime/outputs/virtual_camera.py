"""The virtual camera that call apps (Zoom, Meet, Teams, OBS) pick up: pyvirtualcam over v4l2loopback
on Linux, OBS Virtual Camera on Windows and macOS.

The device is opened through a factory (the seam): `open_pyvirtualcam` for the real one, a fake
device in tests. A device that is missing or vanishes raises SinkUnavailable with the exact per-OS
guidance; the live output thread keeps running and retries.
"""
import collections
import logging
import sys
import threading
import time

import cv2
import numpy as np

from .guidance import install_guidance, vanished_guidance
from .sink import Sink, SinkError, SinkUnavailable, check_frame

log = logging.getLogger(__name__)

THUMB_SIZE = (64, 36)


class PyVirtualCamDevice:
    """The real device: pyvirtualcam.Camera taking BGR frames."""

    def __init__(self, width: int, height: int, fps: float, device: str = None):
        import pyvirtualcam
        self._cam = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device)
        self.device = self._cam.device
        self.backend = self._cam.backend

    def send(self, frame_bgr: np.ndarray) -> None:
        self._cam.send(frame_bgr)

    def close(self) -> None:
        self._cam.close()


def open_pyvirtualcam(width: int, height: int, fps: float, device: str = None):
    try:
        return PyVirtualCamDevice(width, height, fps, device)
    except ImportError as exc:
        raise SinkUnavailable(f"pyvirtualcam is not installed ({exc}).", "pip install pyvirtualcam") from exc
    except RuntimeError as exc:          # pyvirtualcam: "no device found" and friends, every backend listed
        log.info("pyvirtualcam: %s", exc)
        raise SinkUnavailable("No virtual camera device found.", install_guidance()) from exc


class VirtualCameraSink(Sink):
    name = "virtual camera"
    retry_s = 5.0
    scope = "live"

    def __init__(self, device_factory=open_pyvirtualcam, device: str = None, platform: str = None):
        self.device_factory = device_factory
        self.wanted_device = device
        self.platform = platform or sys.platform
        self._dev = None
        self._size = None
        self.frames_sent = 0
        # small grey copies of recently sent frames, for the loopback self-test
        self._recent = collections.deque(maxlen=90)
        self._lock = threading.Lock()

    @property
    def device(self):
        return getattr(self._dev, "device", None)

    @property
    def is_open(self) -> bool:
        return self._dev is not None

    def open(self, width: int, height: int, fps: float) -> None:
        self.close()
        try:
            dev = self.device_factory(width, height, fps, self.wanted_device)
        except SinkError:
            raise
        except Exception as exc:       # a factory's own failure: still a missing device to the user
            raise SinkUnavailable(f"No virtual camera device ({exc}).", install_guidance(self.platform)) from exc
        self._dev, self._size = dev, (width, height)
        log.info("virtual camera open: %s %dx%d @ %g fps", self.device, width, height, fps)

    def send(self, frame_bgr: np.ndarray) -> None:
        if self._dev is None:
            raise SinkUnavailable("The virtual camera is not open.", install_guidance(self.platform))
        check_frame(frame_bgr, *self._size)
        try:
            self._dev.send(frame_bgr)
        except Exception as exc:
            name = self.device or "the device"
            self.close()
            raise SinkUnavailable(f"The virtual camera ({name}) stopped accepting frames ({exc}).",
                                  vanished_guidance(self.platform)) from exc
        self.frames_sent += 1
        if self.frames_sent % 2 == 0:          # enough for the self-test, half the cost
            thumb = cv2.resize(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), THUMB_SIZE, interpolation=cv2.INTER_AREA)
            with self._lock:
                self._recent.append((time.monotonic(), thumb))

    def recent_thumbnails(self) -> list:
        with self._lock:
            return [t for _, t in self._recent]

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            try:
                dev.close()
            except Exception:
                log.debug("virtual camera close failed", exc_info=True)

    def describe(self) -> str:
        return f"on {self.device}" if self._dev is not None else "off"
