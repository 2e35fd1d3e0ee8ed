"""The avatar image set: faces found in each photo, aligned crops for the engine, and the base frame.

The first image is the *base*: output frames are its full frame with the face animated. The other
images are aligned onto the base face so the engine can borrow regions from them.
"""
import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from engines import topology as topo
from . import geometry
from .eyelids import fit_lids_to_eyeball
from .errors import InputError
from .images import load_image_hashed
from .photo_faces import face_extent, find_faces

log = logging.getLogger(__name__)

MAX_SOURCES = 8
CROP_SCALE = 1.9       # crop side over face extent: keeps hair and chin, some background
# the face sits this far (a share of the crop's half side) above the crop's centre: a dropped jaw
# needs more room below the chin than raised brows above the forehead, and the engine's face window
# is centred (a yawning chin reached the window's edge and stopped short of where it was asked to go)
FACE_RAISE = 0.08
MIN_FACE_PX = 40


@dataclass
class AvatarImage:
    name: str
    image_bgr: np.ndarray
    lmk_px: np.ndarray          # 478 x 3, pixels
    sha256: str = None          # hash of the file bytes it was decoded from (what consent covers)


@dataclass
class AvatarSet:
    images: list
    size: int
    base_to_crop: np.ndarray = field(init=False)      # 3x3, base pixels -> crop pixels
    crops_bgr: list = field(init=False)               # K x (S x S x 3) uint8
    lmk_norm: np.ndarray = field(init=False)          # K x 478 x 2 in [-1, 1]
    base_depth: np.ndarray = field(init=False)        # 478: MediaPipe's depth of the base, same units

    def __post_init__(self):
        S = self.size
        base = self.images[0].lmk_px
        self.base_to_crop = crop_transform(base, S)
        base_crop_px = geometry.apply(self.base_to_crop, base)
        crops, lmks = [], []
        for i, img in enumerate(self.images):
            M = self.base_to_crop if i == 0 else geometry.fit_similarity(
                img.lmk_px[topo.STABLE], base_crop_px[topo.STABLE])
            crops.append(cv2.warpAffine(img.image_bgr, M[:2], (S, S), flags=cv2.INTER_AREA if M[0, 0] ** 2 + M[0, 1] ** 2 < 0.5 else cv2.INTER_CUBIC,
                                        borderMode=cv2.BORDER_REPLICATE))
            lmks.append(px_to_norm(fit_lids_to_eyeball(crops[-1], geometry.apply(M, img.lmk_px)), S))
        self.crops_bgr = crops
        scale = geometry.scale_of(self.base_to_crop)
        self.base_depth = (base[:, 2] * scale * 2.0 / S).astype(np.float32) if base.shape[1] > 2 else None
        self.lmk_norm = np.stack(lmks).astype(np.float32)

    @property
    def base_bgr(self) -> np.ndarray:
        return self.images[0].image_bgr

    @property
    def count(self) -> int:
        return len(self.images)

    @property
    def image_hashes(self) -> tuple:
        """The hashes of the files exactly as decoded here: check consent against these, never a re-read."""
        return tuple(img.sha256 for img in self.images)

    def engine_inputs(self):
        """(K x 3 x S x S float RGB in [0,1], K x 478 x 2) for the engine's set_sources."""
        rgb = np.stack([c[:, :, ::-1] for c in self.crops_bgr]).astype(np.float32) / 255.0
        return np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)), self.lmk_norm


def px_to_norm(pts_px: np.ndarray, size: int) -> np.ndarray:
    return (pts_px[:, :2] + 0.5) / size * 2.0 - 1.0


def norm_to_px(pts: np.ndarray, size: int) -> np.ndarray:
    return (pts[:, :2] + 1.0) * size / 2.0 - 0.5


def crop_transform(lmk_px: np.ndarray, size: int) -> np.ndarray:
    """Upright square crop around the face (raised by FACE_RAISE): base pixels -> crop pixels (3x3 similarity)."""
    pts = lmk_px[:, :2].astype(np.float64)
    r_eye = pts[topo.RIGHT_EYE].mean(0)
    l_eye = pts[topo.LEFT_EYE].mean(0)
    angle = math.atan2(l_eye[1] - r_eye[1], l_eye[0] - r_eye[0])
    c, s = math.cos(-angle), math.sin(-angle)
    R = np.array([[c, -s], [s, c]])
    oval = pts[topo.FACE_OVAL]
    centre = oval.mean(0)
    rot = (oval - centre) @ R.T
    extent = max(np.ptp(rot[:, 0]), np.ptp(rot[:, 1]))
    scale = size / (extent * CROP_SCALE)
    M = np.eye(3)
    M[:2, :2] = R * scale
    M[:2, 2] = np.array([size / 2.0, size / 2.0 * (1.0 - FACE_RAISE)]) - (R * scale) @ centre
    return M


def detect_single_face(name: str, image_bgr: np.ndarray, tracker) -> np.ndarray:
    faces = find_faces(image_bgr, tracker)
    if not faces:
        raise InputError(name, "no face found; use a photo where one face is clearly visible, "
                               "front-facing and well lit")
    if len(faces) > 1:
        raise InputError(name, f"{len(faces)} faces found; use a photo with exactly one person")
    lmk = faces[0]
    extent = face_extent(lmk)
    if extent < MIN_FACE_PX:
        raise InputError(name, f"the face is only {extent:.0f} px tall; use a photo where it is at least {MIN_FACE_PX} px")
    return lmk


def load_avatar_set(paths, size: int, tracker=None) -> AvatarSet:
    """Load and check 1..8 photos of one person. Raises InputError naming the bad file."""
    from .tracking import FaceTracker
    paths = list(paths)
    if not 1 <= len(paths) <= MAX_SOURCES:
        raise InputError(", ".join(map(str, paths)) or "--source", f"expected 1 to {MAX_SOURCES} source images, got {len(paths)}")
    own = tracker is None
    tracker = tracker or FaceTracker(static=True, max_faces=2)
    try:
        images = []
        for p in paths:
            img, sha = load_image_hashed(p)
            images.append(AvatarImage(str(p), img, detect_single_face(str(p), img, tracker), sha))
    finally:
        if own:
            tracker.close()
    return AvatarSet(images, size)


def avatar_from_arrays(named_images, size: int, tracker) -> AvatarSet:
    """Same checks as load_avatar_set for images already in memory (sample avatar, captures)."""
    return AvatarSet([AvatarImage(n, im, detect_single_face(n, im, tracker)) for n, im in named_images], size)
