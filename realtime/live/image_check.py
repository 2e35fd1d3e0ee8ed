"""The per-image check of an avatar set: is there exactly one usable face, and what does it show
(pose, mouth, eyes)? Each rejection says why in words a user can act on. Also the checks of the
guided webcam capture (neutral, smile, mouth open, eyes closed, head left, head right)."""
from dataclasses import dataclass

import numpy as np

from engines import topology as topo
from ..avatar import AvatarImage, detect_single_face
from ..errors import InputError

MOUTH_OPEN = 0.15          # inner-lip gap / mouth width
EYES_CLOSED = 0.15         # lid gap / eye width
TURNED = 0.08              # |yaw| above: head turned
TOO_TURNED = 0.35          # |yaw| above: too far to animate from
PITCH_RANGE = (0.18, 0.6)  # nose between eye line and chin; outside: looking far up or down
MIN_BRIGHTNESS = 45        # mean grey of the face; below: too dark
SMILE_WIDER = 1.06         # smile: mouth at least this much wider (over eye distance) than neutral


@dataclass(frozen=True)
class FaceFacts:
    yaw: float
    pitch: float
    mouth: float
    eyes: float
    mouth_width: float        # mouth corners distance / inter-ocular distance

    @property
    def pose(self) -> str:
        if abs(self.yaw) <= TURNED:
            return "front-facing"
        return "turned to the picture's right" if self.yaw > 0 else "turned to the picture's left"

    def describe(self) -> str:
        return (f"{self.pose}, mouth {'open' if self.mouth > MOUTH_OPEN else 'closed'}, "
                f"eyes {'closed' if self.eyes < EYES_CLOSED else 'open'}")


@dataclass(frozen=True)
class ImageCheck:
    name: str
    ok: bool
    reason: str                       # why it was rejected; or what the face shows when ok
    lmk_px: np.ndarray = None
    facts: FaceFacts = None

    def to_avatar_image(self, image_bgr: np.ndarray, sha256: str = None) -> AvatarImage:
        """sha256: the hash of the file bytes image_bgr was decoded from (what its consent covers)."""
        if not self.ok:
            raise ValueError(f"{self.name}: rejected ({self.reason})")
        return AvatarImage(self.name, image_bgr, self.lmk_px, sha256)


def face_facts(lmk: np.ndarray) -> FaceFacts:
    yaw, pitch = topo.head_yaw_pitch(lmk)
    width = float(np.linalg.norm(lmk[61, :2] - lmk[291, :2]) / max(topo.inter_ocular(lmk), 1e-6))
    return FaceFacts(yaw, pitch, topo.mouth_openness(lmk), topo.eye_openness(lmk), width)


def check_image(name: str, image_bgr: np.ndarray, tracker) -> ImageCheck:
    """tracker: a FaceTracker(static=True, max_faces=2) (two, so a second person is noticed)."""
    try:
        lmk = detect_single_face(name, image_bgr, tracker)
    except InputError as exc:
        return ImageCheck(name, False, _sentence(exc.problem))
    h, w = image_bgr.shape[:2]
    pts = lmk[topo.FACE_OVAL, :2]
    margin = 0.02 * max(w, h)
    if pts[:, 0].min() < -margin or pts[:, 1].min() < -margin or pts[:, 0].max() > w + margin \
            or pts[:, 1].max() > h + margin:
        return ImageCheck(name, False, "The face is cut off at the edge of the picture; use one that shows the whole face.", lmk)
    x0, y0 = np.clip(pts.min(0).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(pts.max(0).astype(int), 1, [w, h])
    face = image_bgr[y0:y1, x0:x1]
    if face.size and float(face.mean()) < MIN_BRIGHTNESS:
        return ImageCheck(name, False, "The face is too dark; use a brighter, evenly lit photo.", lmk)
    facts = face_facts(lmk)
    if abs(facts.yaw) > TOO_TURNED:
        return ImageCheck(name, False, "The head is turned too far to the side; use a photo where both eyes are "
                                       "clearly visible.", lmk, facts)
    if not PITCH_RANGE[0] <= facts.pitch <= PITCH_RANGE[1]:
        up = facts.pitch < PITCH_RANGE[0]
        return ImageCheck(name, False, f"The head is tilted too far {'up' if up else 'down'}; use a photo taken "
                                       "at eye level.", lmk, facts)
    return ImageCheck(name, True, "Face found: " + facts.describe() + ".", lmk, facts)


def reject_other_people(named_checks, embed, distance, threshold: float) -> list:
    """named_checks: [(image_bgr, ImageCheck)], base first. Returns the checks with every usable image
    that shows someone else than the base rejected (an avatar set shows one person).
    embed(image_bgr, lmk_px) -> vector; distance(a, b) -> float; same person below `threshold`."""
    out = [c for _, c in named_checks]
    if not named_checks or not out[0].ok:
        return out
    base_img, base = named_checks[0]
    ref = embed(base_img, base.lmk_px)
    for i, (img, c) in enumerate(named_checks[1:], 1):
        if not c.ok:
            continue
        d = distance(ref, embed(img, c.lmk_px))
        if d >= threshold:
            out[i] = ImageCheck(c.name, False, f"Shows a different person than the base photo (face distance {d:.2f}; "
                                               f"the same person is below {threshold}). An avatar set shows one person.",
                                c.lmk_px, c.facts)
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


# -- the guided capture --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaptureShot:
    key: str
    title: str
    instruction: str


SHOTS = (
    CaptureShot("neutral", "Neutral", "Look straight into the camera with a relaxed face, mouth closed."),
    CaptureShot("smile", "Smile", "Look straight into the camera and smile."),
    CaptureShot("mouth_open", "Mouth open", "Look straight into the camera and open your mouth wide, as if saying \"ah\"."),
    CaptureShot("eyes_closed", "Eyes closed", "Look straight into the camera and close your eyes when the countdown starts."),
    CaptureShot("head_left", "Head left", "Turn your head a little to your left (about 20 degrees); keep both eyes visible."),
    CaptureShot("head_right", "Head right", "Turn your head a little to your right (about 20 degrees); keep both eyes visible."),
)


def check_shot(shot_key: str, check: ImageCheck, mirrored: bool = True, neutral: FaceFacts = None) -> tuple:
    """(kept, reason) for one guided-capture shot. In a mirrored (selfie) view, turning to your left
    moves the nose to the picture's left."""
    if not check.ok:
        return False, check.reason
    f = check.facts
    front = abs(f.yaw) <= TURNED
    if shot_key == "neutral":
        if not front:
            return False, "Look straight into the camera."
        if f.mouth > MOUTH_OPEN:
            return False, "Close your mouth for the neutral shot."
        if f.eyes < EYES_CLOSED:
            return False, "Keep your eyes open for the neutral shot."
    elif shot_key == "smile":
        if neutral is not None and f.mouth_width < neutral.mouth_width * SMILE_WIDER:
            return False, "That does not look like a smile yet: smile a little wider."
        if f.eyes < EYES_CLOSED:
            return False, "Keep your eyes open while smiling."
    elif shot_key == "mouth_open":
        if f.mouth <= MOUTH_OPEN:
            return False, f"Open your mouth wider (measured {f.mouth:.2f}, needs more than {MOUTH_OPEN})."
    elif shot_key == "eyes_closed":
        if f.eyes >= EYES_CLOSED:
            return False, "Your eyes look open: close them fully during the countdown."
    elif shot_key in ("head_left", "head_right"):
        want_left = shot_key == "head_left"
        nose_left = f.yaw < -TURNED
        nose_right = f.yaw > TURNED
        if not (nose_left or nose_right):
            return False, f"Turn your head a little further to your {'left' if want_left else 'right'}."
        # mirrored view: your left is the picture's left
        if (nose_left if mirrored else nose_right) != want_left:
            return False, f"That is the other side: turn to your {'left' if want_left else 'right'}."
    else:
        raise ValueError(f"unknown shot {shot_key!r}; expected one of {[s.key for s in SHOTS]}")
    return True, "Kept: " + f.describe() + "."
