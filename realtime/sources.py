"""Driving frame sources: a video file, a camera, or the built-in demo motion. Each yields (frame_bgr, t)."""
import logging

import cv2

from . import synthetic_face
from .errors import InputError, check_input_file

log = logging.getLogger(__name__)

VIDEO_EXTS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif"}

# the first bytes of still-image formats FFmpeg would also open, as a one-frame "video"
_STILL_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"BM", "BMP"),
                (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _still_image_format(path):
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _STILL_MAGIC if head.startswith(magic)), None)


class VideoFileSource:
    def __init__(self, path):
        path = check_input_file(path, "a video file")
        still = _still_image_format(path)
        if still:
            raise InputError(path, f"is a still image ({still}), not a video; drive the avatar with a video "
                                   "file, camera or demo")
        self.path = path
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise InputError(path, "not a video this app can decode (expected MP4, MOV, AVI, MKV or WebM)")
        self._cap = cap
        self._first = first
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else 30.0
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)   # the container's count
        self.frames_read = 0
        self.size = (first.shape[1], first.shape[0])

    def __iter__(self):
        frame = self._first
        while frame is not None:
            yield frame, self.frames_read / self.fps
            self.frames_read += 1
            ok, frame = self._cap.read()
            if not ok:
                frame = None
        self._cap.release()

    def shortfall(self) -> str:
        """After reading: why fewer frames came out than the container lists, or "" (a truncated or
        damaged file decodes up to the damage and then just ends)."""
        if self.frame_count and self.frames_read < self.frame_count - 1:
            return (f"the video ended after {self.frames_read} of the {self.frame_count} frames it lists: "
                    "it may be truncated or damaged")
        return ""


class DemoMotionSource:
    """The built-in demo driver: a painted face talking, blinking and turning its head."""

    def __init__(self, seconds: float = 8.0, fps: float = 30.0, size: int = 320,
                 who=synthetic_face.OTHER):
        self.fps = fps
        self.frame_count = int(round(seconds * fps))
        self.size = (size, size)
        self._px = size
        self.who = who

    def frame_at(self, t: float):
        return synthetic_face.render(size=self._px, who=self.who, seed=0, **synthetic_face.demo_motion(t))

    def __iter__(self):
        for i in range(self.frame_count):
            t = i / self.fps
            yield self.frame_at(t), t


def open_driving(spec: str):
    """'demo', 'camera', 'camera:N', or a video file path."""
    if spec == "demo":
        return DemoMotionSource()
    if spec == "camera" or spec.startswith("camera:"):
        from .camera import CameraSource
        index = spec.split(":", 1)[1] if ":" in spec else "0"
        if not index.isdigit():
            raise InputError(spec, "not a camera: use camera or camera:N with N a number (0 is the first camera)")
        return CameraSource(int(index))
    return VideoFileSource(spec)
