"""The live "this is me" check: the webcam face matches the avatar photos, and it is live.

Liveness: after a few frontal frames, the person is asked for two actions in a random order
(blink, turn the head left, turn it right), each within a time limit and not before it was asked,
then to look at the camera again. The face must stay in view throughout.
Match: dlib's 128-d embedding (weights ship in face_recognition_models) of several frontal webcam
frames, averaged, against every avatar photo; each distance must be below MATCH_THRESHOLD.

MATCH_THRESHOLD = 0.50, stricter than dlib's usual 0.6, from measured pairs (dev fixtures: two real
talking-head clips, 42 frames, and three portraits): genuine pairs (429) mean 0.36, max 0.54,
impostor pairs (561) min 0.62; at 0.50 a single-frame genuine pair is rejected 2.1% of the time and
no impostor pair was accepted. Averaging webcam frames lowers the genuine distance further.
Only the distances are kept (no face template is stored).

The caller owns the camera and the landmark tracker (a UI dialog or the CLI) and calls feed() with
each frame and its MediaPipe landmarks; `prompt` says what to show the person.
"""
import random
from dataclasses import asdict, dataclass, field

import numpy as np

from engines import topology as topo

MATCH_THRESHOLD = 0.50
CHALLENGES = {"blink": "Blink once", "turn_left": "Turn your head to your LEFT",
              "turn_right": "Turn your head to your RIGHT"}
FRONTAL_YAW = 0.05          # |yaw proxy - start| for "looking at the camera"
TURN_YAW = 0.08             # yaw proxy change that counts as a head turn
BLINK_CLOSED, BLINK_OPEN = 0.55, 0.8    # eye openness relative to the start
REACTION_S = 0.25           # responses sooner than this after the prompt do not count
STEP_TIMEOUT_S = 8.0
LOST_FACE_S = 0.6
EMBED_FRAMES = 3


@dataclass
class LiveCheckResult:
    passed: bool
    reason: str
    challenges: list = field(default_factory=list)
    distances: list = field(default_factory=list)     # webcam face vs each avatar photo
    threshold: float = MATCH_THRESHOLD
    frames: int = 0

    def evidence(self) -> dict:
        d = asdict(self)
        d["method"] = "live-check"
        d["distances"] = [round(float(x), 4) for x in self.distances]
        return d


def embed_photos(images_bgr, tracker, embedder) -> list:
    """Embeddings of the avatar photos (tracker: a static-image FaceTracker). ValueError if a photo has no face."""
    out = []
    for i, img in enumerate(images_bgr):
        lmk = tracker.detect(img)
        if lmk is None:
            raise ValueError(f"avatar photo {i + 1}: no face found")
        out.append(embedder.embed(img, lmk))
    return out


class LiveCheck:
    def __init__(self, avatar_embeddings, embedder, rng: random.Random = None, steps: int = 2,
                 threshold: float = MATCH_THRESHOLD):
        if not avatar_embeddings:
            raise ValueError("live check: no avatar photo embeddings")
        self.avatar = [np.asarray(e, np.float32) for e in avatar_embeddings]
        self.embedder = embedder
        self.threshold = threshold
        rng = rng or random.SystemRandom()
        self.challenges = rng.sample(sorted(CHALLENGES), steps)
        self.state = "running"
        self.reason = ""
        self._phase = "look"          # look -> challenge i -> final -> done
        self._step = 0
        self._step_t0 = None
        self._closed_seen = False
        self._eyes0 = []
        self._yaw0 = []
        self._embs = []
        self._last_embed_frame = -99
        self._last_face_t = None
        self.frames = 0
        self.done_steps = []

    @property
    def prompt(self) -> str:
        if self.state != "running":
            return "Live check passed" if self.state == "passed" else f"Live check failed: {self.reason}"
        if self._phase == "look":
            return "Look straight at the camera"
        if self._phase == "final":
            return "Look straight at the camera again"
        return CHALLENGES[self.challenges[self._step]]

    @property
    def current(self):
        """The action being asked for now (a key of CHALLENGES), or None."""
        return self.challenges[self._step] if self._phase == "challenge" and self.state == "running" else None

    def _fail(self, reason):
        self.state, self.reason = "failed", reason
        return self.state

    def _embed(self, frame_bgr, lmk):
        self._embs.append(self.embedder.embed(frame_bgr, lmk))
        self._last_embed_frame = self.frames

    def feed(self, frame_bgr, lmk_px, t: float) -> str:
        """One webcam frame (BGR), its landmarks (None when no face) and its time in seconds."""
        if self.state != "running":
            return self.state
        self.frames += 1
        if lmk_px is None:
            if self._last_face_t is not None and t - self._last_face_t > LOST_FACE_S:
                return self._fail("the face left the camera view")
            return self.state
        self._last_face_t = t
        eyes = topo.eye_openness(lmk_px)
        yaw = topo.head_yaw_pitch(lmk_px)[0]
        if self._phase == "look":
            if abs(yaw) < 2 * FRONTAL_YAW and eyes > 0.15:
                self._eyes0.append(eyes)
                self._yaw0.append(yaw)
                if len(self._embs) < EMBED_FRAMES and self.frames - self._last_embed_frame >= 3:
                    self._embed(frame_bgr, lmk_px)
            if len(self._embs) >= EMBED_FRAMES and len(self._eyes0) >= 5:
                self._phase, self._step, self._step_t0 = "challenge", 0, t
            return self.state
        e0, y0 = float(np.median(self._eyes0)), float(np.median(self._yaw0))
        if self._phase == "challenge":
            if t - self._step_t0 > STEP_TIMEOUT_S:
                return self._fail(f"no response to '{CHALLENGES[self.current]}' within {STEP_TIMEOUT_S:g} s")
            if t - self._step_t0 < REACTION_S:
                return self.state
            c = self.current
            ok = False
            if c == "blink":
                if eyes < BLINK_CLOSED * e0:
                    self._closed_seen = True
                ok = self._closed_seen and eyes > BLINK_OPEN * e0
            elif c == "turn_left":
                ok = yaw - y0 > TURN_YAW
            elif c == "turn_right":
                ok = yaw - y0 < -TURN_YAW
            if ok:
                self.done_steps.append({"action": c, "after_s": round(t - self._step_t0, 2)})
                self._step += 1
                self._closed_seen = False
                self._step_t0 = t
                if self._step == len(self.challenges):
                    self._phase = "final"
            return self.state
        # final: frontal again, same face
        if t - self._step_t0 > STEP_TIMEOUT_S:
            return self._fail("did not look back at the camera")
        if abs(yaw - y0) < FRONTAL_YAW and eyes > BLINK_OPEN * e0:
            self._embed(frame_bgr, lmk_px)
            return self._decide()
        return self.state

    def distances(self) -> list:
        mean = np.mean(self._embs, axis=0)
        return [self.embedder.distance(mean, a) for a in self.avatar]

    def _decide(self) -> str:
        d = self.distances()
        first = np.mean(self._embs[:-1], axis=0)
        drift = self.embedder.distance(first, self._embs[-1])
        if drift >= self.threshold:
            return self._fail(f"a different face came back after the actions (distance {drift:.2f})")
        if max(d) >= self.threshold:
            return self._fail(f"the webcam face does not match the avatar photos (distance {max(d):.2f}, "
                              f"same person is below {self.threshold:.2f})")
        self.state, self.reason = "passed", f"matches every photo (largest distance {max(d):.2f})"
        return self.state

    def result(self) -> LiveCheckResult:
        d = self.distances() if self._embs else []
        return LiveCheckResult(self.state == "passed", self.reason or self.state, list(self.done_steps),
                               d, self.threshold, self.frames)
