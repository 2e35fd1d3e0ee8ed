"""Face landmarks from MediaPipe's face mesh (models ship inside the 0.10.21 wheel) and One Euro smoothing."""
import logging
import threading

import numpy as np

from engines import topology as topo
from . import geometry
from .native_logs import quiet_native_startup

log = logging.getLogger(__name__)


class FaceTracker:
    """478 landmarks (x, y in pixels, z relative) for BGR frames.

    `static=True` runs detection on every image (avatar photos); `static=False` tracks across
    video frames, which is what makes it ~6 ms a frame. Not thread-safe: one owner thread.
    """

    def __init__(self, static: bool = False, max_faces: int = 1):
        with quiet_native_startup():
            import mediapipe as mp  # heavy import, only where landmarks are needed
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=0.5, min_tracking_confidence=0.5)
            # the graph opens its models on worker threads after this returns; one blank frame
            # waits for that, so their notices fall inside this block
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))
        self._lock = threading.Lock()
        self._started = False           # MediaPipe has more start-up notices on its first frame

    def detect_all(self, frame_bgr: np.ndarray) -> list:
        """All faces found, each 478 x 3 float32 in pixels."""
        h, w = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        with self._lock:
            if self._started:
                result = self._mesh.process(rgb)
            else:
                with quiet_native_startup():
                    result = self._mesh.process(rgb)
                self._started = True
        faces = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], np.float32)
            faces.append(pts)
        return faces

    def detect(self, frame_bgr: np.ndarray):
        faces = self.detect_all(frame_bgr)
        return faces[0] if faces else None

    def close(self):
        self._mesh.close()


class OneEuroFilter:
    """Casiez et al.'s One Euro filter over an array of coordinates: smooth when still, fast when moving."""

    def __init__(self, min_cutoff: float = 2.5, beta: float = 5.0, d_cutoff: float = 4.0):
        # d_cutoff 4 Hz (not the paper's 1): the speed estimate must catch a blink's onset, or the
        # lid's first frames are smoothed away
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x = None
        self._dx = None

    def reset(self):
        self._x = None
        self._dx = None

    def __call__(self, x: np.ndarray, dt: float, scale: float = 1.0) -> np.ndarray:
        """`scale` normalises speed (e.g. the face size in pixels) so the settings are resolution-free."""
        x = np.asarray(x, np.float32)
        if self._x is None or dt <= 0:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            return self._x.copy()
        dx = (x - self._x) / dt / max(scale, 1e-6)
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()

    @staticmethod
    def _alpha(cutoff, dt):
        """Smoothing factor for a cutoff in Hz (a number, or one per coordinate)."""
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)


class LandmarkSmoother:
    """One Euro smoothing of a face's 478 landmarks over time, head and expression apart.

    The whole face is smoothed at one cutoff (the head moves as one piece: no part lags another,
    and its jitter is what reads as the avatar shaking). Lips, lids and irises (a blink, a plosive:
    a tenth of a second) are smoothed 4x quicker and then put back on the smoothed head by the
    similarity that maps the quick face's stable points onto the smoothed ones: their shape is quick,
    their pose is the head's. On the d6 clip the driver's mouth and eye signals come through at
    r = 0.99 / 0.98 (one 4 Hz cutoff for everything: 0.94 / 0.92), head jitter on d18 as before.

    strength: 0 off, 1 default, 2 heavier (cutoffs divided by it).
    """
    HEAD_HZ, EXPRESSION_HZ = 2.5, 10.0

    def __init__(self, strength: float = 1.0):
        self.strength = strength
        self._head = OneEuroFilter(self.HEAD_HZ)
        self._quick = OneEuroFilter(self.EXPRESSION_HZ)
        self._last_t = None

    def reset(self):
        """The face was lost: start afresh (no smoothing across the gap)."""
        self._head.reset()
        self._quick.reset()

    def __call__(self, lmk: np.ndarray, t: float) -> np.ndarray:
        if self.strength <= 0:
            return lmk
        dt = 1 / 30 if self._last_t is None else max(t - self._last_t, 1e-3)
        self._last_t = t
        self._head.min_cutoff = self.HEAD_HZ / self.strength
        self._quick.min_cutoff = self.EXPRESSION_HZ / self.strength
        scale = float(np.ptp(lmk[topo.FACE_OVAL, 1])) or 1.0
        head = self._head(lmk, dt, scale)
        quick = self._quick(lmk, dt, scale)
        M = geometry.fit_similarity(quick[topo.STABLE], head[topo.STABLE])
        fast = topo.EXPRESSION_FAST
        head[fast, :2] = geometry.apply(M, quick[fast])
        return head
