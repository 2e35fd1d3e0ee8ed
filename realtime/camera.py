"""A webcam as a driving source, for the command line (the live app has its own reconnecting reader)."""
import time

import cv2

from .errors import InputError


class CameraSource:
    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: float = 30.0):
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            raise InputError(f"camera:{index}", "no camera found at this index, or another app is using it")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        cap.set(cv2.CAP_PROP_FPS, fps)
        self._cap = cap
        self.fps = cap.get(cv2.CAP_PROP_FPS) or fps
        self.frame_count = 0          # unknown: runs until interrupted
        self.index = index

    def __iter__(self):
        t0 = time.monotonic()
        try:
            while True:
                ok, frame = self._cap.read()
                if not ok:
                    raise InputError(f"camera:{self.index}", "the camera stopped delivering frames (unplugged or taken by another app)")
                yield frame, time.monotonic() - t0
        finally:
            self._cap.release()
