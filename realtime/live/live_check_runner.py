"""Runs the live "this is me" check (provenance/livecheck.py) off the UI thread, on the newest webcam
frames of the live session: its own MediaPipe tracker (tracking mode) for the landmarks, dlib for the
face match. The window polls `prompt`, `state` and `result`; nothing here knows about Qt."""
import logging
import threading
import time

log = logging.getLogger(__name__)


def _default_tracker(static: bool):
    from ..tracking import FaceTracker
    return FaceTracker(static=static, max_faces=1)


def _default_embedder():
    from ..identity import FaceEmbedder
    return FaceEmbedder()


class LiveCheckRunner(threading.Thread):
    """frames(): (frame_bgr or None, seq), the newest webcam frame; avatar_images: the set's photos."""

    def __init__(self, frames, avatar_images, tracker_factory=_default_tracker, embedder_factory=_default_embedder,
                 timeout_s: float = 60.0, rng=None):
        super().__init__(name="avatarcam-livecheck", daemon=True)
        self.frames = frames
        self.avatar_images = list(avatar_images)
        self.tracker_factory = tracker_factory
        self.embedder_factory = embedder_factory
        self.timeout_s = timeout_s
        self.rng = rng
        self.check = None
        self.state = "starting"          # starting | running | passed | failed
        self.prompt = "Getting ready…"
        self.error = None
        self._stop_evt = threading.Event()

    def stop(self) -> None:
        self._stop_evt.set()

    @property
    def current(self):
        """The action asked for now (blink, turn_left, turn_right) or None."""
        return self.check.current if self.check is not None else None

    def result(self):
        return self.check.result() if self.check is not None else None

    def _fail(self, message: str) -> None:
        self.error, self.state, self.prompt = message, "failed", f"Live check failed: {message}"

    def run(self) -> None:
        from ..provenance.livecheck import LiveCheck, embed_photos
        tracker = None
        try:
            embedder = self.embedder_factory()
            photos = self.tracker_factory(True)
            try:
                avatar = embed_photos(self.avatar_images, photos, embedder)
            finally:
                photos.close()
            self.check = LiveCheck(avatar, embedder, rng=self.rng)
            tracker = self.tracker_factory(False)
            self.state, self.prompt = "running", self.check.prompt
            t0, seq = time.monotonic(), 0
            while not self._stop_evt.is_set():
                t = time.monotonic() - t0
                if t > self.timeout_s:
                    self._fail(f"it did not finish within {self.timeout_s:g} s")
                    return
                frame, s = self.frames()
                if frame is None or s == seq:
                    self._stop_evt.wait(0.01)
                    continue
                seq = s
                state = self.check.feed(frame, tracker.detect(frame), t)
                self.prompt = self.check.prompt
                if state != "running":
                    self.state = state
                    if state == "failed":
                        self.error = self.check.reason
                    return
        except Exception as exc:            # a readable reason, never a dead dialog
            log.warning("live check failed to run", exc_info=True)
            self._fail(str(exc))
        finally:
            if tracker is not None:
                tracker.close()
