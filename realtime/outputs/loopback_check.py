"""Proof that other apps can see the virtual camera: read the device back like a call app would and
find our own frames in it.

Linux (v4l2loopback): open the device with OpenCV and compare what comes out with what we sent.
Windows and macOS: the OBS Virtual Camera cannot be read back by the app feeding it, so the result
says so and how to check by hand. The reader opener is a seam; tests read from a fake device.
"""
import logging
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

from .virtual_camera import THUMB_SIZE

log = logging.getLogger(__name__)

MATCH_MAD = 10.0          # mean abs grey difference (0-255) at thumbnail size that counts as "our frame"


@dataclass(frozen=True)
class SelfTestResult:
    visible: object           # True: seen by other apps; False: not; None: cannot be checked on this OS
    message: str


def open_v4l2_reader(device: str):
    cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
    if not cap.isOpened():
        cap.release()
        return None
    return cap


def best_match(frame_bgr: np.ndarray, thumbs: list) -> float:
    """Smallest mean abs difference between the frame and any sent thumbnail (inf when none)."""
    if not thumbs:
        return float("inf")
    grey = frame_bgr if frame_bgr.ndim == 2 else cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    t = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(min(np.abs(t - th.astype(np.float32)).mean() for th in thumbs))


def run_self_test(sink, reader_opener=open_v4l2_reader, platform: str = None, frames: int = 15,
                  timeout_s: float = 4.0) -> SelfTestResult:
    """Blocking (a few seconds): run it off the UI thread and off the pipeline threads."""
    platform = platform or sys.platform
    if not getattr(sink, "is_open", False):
        return SelfTestResult(False, "The virtual camera is not on (no device, or the output stopped): there is "
                                     "nothing to read back yet.")
    if not platform.startswith("linux"):
        return SelfTestResult(None, "On this system the virtual camera cannot be read back by the app that feeds "
                                    "it. Check it in your call app's camera list: \"OBS Virtual Camera\".")
    device = sink.device
    reader = reader_opener(device)
    if reader is None:
        return SelfTestResult(False, f"{device} could not be opened for reading: other apps will not see it either. "
                                     "Reload v4l2loopback with exclusive_caps=1 and press Retry.")
    best, got = float("inf"), 0
    try:
        t_end = time.monotonic() + timeout_s
        while got < frames and time.monotonic() < t_end:
            ok, frame = reader.read()
            if not ok or frame is None:
                time.sleep(0.05)
                continue
            got += 1
            best = min(best, best_match(frame, sink.recent_thumbnails()))
            if best <= MATCH_MAD and got >= 3:
                break
    finally:
        reader.release()
    if got == 0:
        return SelfTestResult(False, f"{device} delivered no frames when read back: other apps would see nothing.")
    if best <= MATCH_MAD:
        return SelfTestResult(True, f"Visible to other apps: {device} shows AvatarCam's frames (read back {got}).")
    return SelfTestResult(False, f"{device} delivers frames, but not ours (difference {best:.0f}): "
                                 "another program may be feeding it.")
