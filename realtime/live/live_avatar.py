"""The avatar as the live pipeline sees it: checked images (base first) framed for the output frame,
plus what the consent gate needs. Framing the base image once (instead of resizing every output frame)
keeps the label's size and place exact and every avatar set the same output size, so swapping sets
never changes the virtual camera's resolution."""
from dataclasses import dataclass

import cv2
import numpy as np

from engines import topology as topo

from ..avatar import AvatarImage

# a webcam's framing of a video call: the face (brow to chin) a third of the frame's height or a little
# more, its middle a little above the frame's, and the photo enlarged at most this much to get there
FACE_SHARE = 0.38
FACE_MIDDLE = 0.45
MAX_ENLARGE = 2.5


@dataclass(frozen=True)
class LiveAvatar:
    name: str
    images: tuple                 # AvatarImage, base first, base fitted to the output frame
    image_hashes: tuple           # the whole set's hashes: what its consent record covers
    needs_consent: bool = True    # False only for the built-in sample (it depicts no one)
    stronger_label: bool = False  # consent for someone else, attested rather than verified
    set_id: str = ""

    @property
    def count(self) -> int:
        return len(self.images)


def frame_image(image: AvatarImage, width: int, height: int) -> AvatarImage:
    """The photo framed as a webcam frames its user: cut around the face (FACE_SHARE, FACE_MIDDLE)
    as far as the photo reaches and at most MAX_ENLARGE times enlarged, then fitted to width x
    height. A full-figure photo shown whole put a face a few pixels tall at the top of the frame,
    under the AI-GENERATED label; a portrait that is already framed stays whole."""
    h, w = image.image_bgr.shape[:2]
    oval = image.lmk_px[topo.FACE_OVAL, :2]
    (x0, y0), (x1, y1) = oval.min(0), oval.max(0)
    ch = max((y1 - y0) / FACE_SHARE, height / MAX_ENLARGE)
    cw = ch * width / height
    ch, cw = min(ch, h), min(cw, w)
    left = int(round(np.clip((x0 + x1) / 2 - cw / 2, 0, w - cw)))
    top = int(round(np.clip((y0 + y1) / 2 - FACE_MIDDLE * ch, 0, h - ch)))
    cw, ch = int(round(cw)), int(round(ch))
    if (cw, ch) != (w, h):
        lmk = image.lmk_px.astype(np.float32).copy()
        lmk[:, :2] -= np.array([left, top], np.float32)
        image = AvatarImage(image.name, np.ascontiguousarray(image.image_bgr[top:top + ch, left:left + cw]),
                            lmk, image.sha256)
    return fit_image(image, width, height)


def fit_image(image: AvatarImage, width: int, height: int) -> AvatarImage:
    """The image scaled to fit width x height (aspect kept), the rest filled with a soft, darkened,
    blurred copy of itself rather than black bars; landmarks moved along."""
    img = image.image_bgr
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        return image
    s = min(width / w, height / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    ox, oy = (width - nw) // 2, (height - nh) // 2
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    inner = cv2.resize(img, (nw, nh), interpolation=interp)
    if (nw, nh) == (width, height):
        canvas = inner
    else:
        cover = max(width / w, height / h)
        cw, ch = max(width, round(w * cover)), max(height, round(h * cover))
        bg = cv2.resize(img, (cw // 8 + 1, ch // 8 + 1), interpolation=cv2.INTER_AREA)
        bg = cv2.GaussianBlur(bg, (0, 0), 4)
        bg = cv2.resize(bg, (cw, ch), interpolation=cv2.INTER_LINEAR)
        x0, y0 = (cw - width) // 2, (ch - height) // 2
        canvas = (bg[y0:y0 + height, x0:x0 + width].astype(np.float32) * 0.45).astype(np.uint8)
        canvas[oy:oy + nh, ox:ox + nw] = inner
    lmk = image.lmk_px.astype(np.float32).copy()
    lmk[:, :2] = lmk[:, :2] * s + np.array([ox, oy], np.float32)
    if lmk.shape[1] > 2:
        lmk[:, 2] *= s
    return AvatarImage(image.name, np.ascontiguousarray(canvas), lmk, image.sha256)


def make_live_avatar(name: str, images, image_hashes, width: int, height: int, used=None,
                     needs_consent: bool = True, stronger_label: bool = False, set_id: str = "") -> LiveAvatar:
    """images: checked AvatarImage list (base first); used: indices to animate from (default all).
    The base image is always used: it is the picture the output shows."""
    images = list(images)
    if not images:
        raise ValueError("an avatar needs at least one image")
    used = sorted(set(used if used is not None else range(len(images))) | {0})
    chosen = [frame_image(images[0], width, height)] + [images[i] for i in used if i != 0]
    if needs_consent:
        check_covered(chosen, image_hashes)
    return LiveAvatar(name, tuple(chosen), tuple(image_hashes), needs_consent, stronger_label, set_id)


def check_covered(images, image_hashes) -> None:
    """The consent gate checks image_hashes, so every image animated must be one of them (by the hash
    of the very bytes it was decoded from); otherwise it would go out under another set's record."""
    wanted = set(image_hashes)
    for img in images:
        if not img.sha256 or img.sha256 not in wanted:
            raise ValueError(f"{img.name}: not one of the images the consent record covers; check the set again")
