"""Motion transfer: the driver's *change* of expression and head pose, applied to the avatar's face.

Relative mode (default) keeps the avatar's own face shape: rigid pose is removed on skull points,
expression deltas are scaled/rotated into the avatar's frame, then the driver's relative head pose
is re-applied around the avatar's face. Absolute mode maps the driver's landmarks directly.
"""
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from engines import topology as topo
from . import face_mesh, geometry


@dataclass(frozen=True)
class RetargetConfig:
    relative: bool = True
    expression: float = 1.0      # expression strength (1 = as the driver)
    head_motion: bool = True
    max_head_shift: float = 0.25  # normalised crop units; keeps the face inside the engine window


class Retargeter:
    def __init__(self, base_lmk_norm: np.ndarray, config: RetargetConfig = RetargetConfig(), base_depth=None):
        """base_lmk_norm: the avatar's landmarks in its crop (N x 2); base_depth: MediaPipe's depth
        of each in the same units (the photo's own; without it a turn moves the avatar's points by
        the driver's depths)."""
        self.base = np.asarray(base_lmk_norm, np.float64)[:, :2]
        self.base_depth = None if base_depth is None else np.asarray(base_depth, np.float64)
        self.config = config
        self.reference = None        # driver landmarks (pixels) of the neutral frame
        self._to_avatar = None       # similarity: driver reference -> avatar crop
        self._eyes = None            # the driver's neutral eye openings
        self._chin = _chin_points(self.base)
        self._jaw = _jaw_points(self.base)
        self._hidden = face_mesh.hidden_points(self.base)
        self._outline = face_mesh.outline_triangles(self.base, self._hidden)
        self._brow_band = _brow_band(self.base)
        self._brow_scale = np.ones(len(self.base))   # per point: how far it moves as the driver's brow
        self._sideways = np.ones(len(self.base))     # per point: share of the driver's sideways motion shown
        self._depth = None                           # the driver's neutral depth per point (or None)
        self._shown_depth = None                     # the avatar's depth in the driver's units (or None)

    def calibrate(self, driver_px: np.ndarray) -> None:
        """Take this driver frame as the neutral face (first frame with a face, or on user request)."""
        drv = np.asarray(driver_px, np.float64)
        self.reference = drv[:, :2].copy()
        self._depth = drv[:, 2].copy() if drv.shape[1] > 2 else None     # MediaPipe's z, when given
        self._to_avatar = geometry.fit_similarity(self.reference[topo.STABLE], self.base[topo.STABLE])
        self._eyes = _EyeOpenings(self.reference)
        driver = geometry.apply(self._to_avatar, self.reference).astype(np.float64)
        self._brow_scale = 1.0 + self._brow_band @ (_brow_ratio(self.base, driver) - 1.0)
        self._sideways = _sideways_share(self.base, driver)
        self._shown_depth = None if self.base_depth is None else self.base_depth / geometry.scale_of(self._to_avatar)

    @property
    def neutral(self):
        """The driver frame calibrate() took (with MediaPipe's depth when it had it), or None while
        there is none."""
        if self.reference is None:
            return None
        return self.reference if self._depth is None else np.c_[self.reference, self._depth]

    def __call__(self, driver_px: np.ndarray) -> np.ndarray:
        cur = np.asarray(driver_px, np.float64)[:, :2]
        if self.reference is None:
            self.calibrate(driver_px)
        c = self.config
        ref = self.reference
        head = geometry.fit_similarity(ref[topo.STABLE], cur[topo.STABLE])        # ref -> cur
        cur_aligned = geometry.apply(np.linalg.inv(head), cur).astype(np.float64)
        if c.relative:
            motion_px = cur_aligned - ref
            turn, shown_turn = _head_turn(motion_px, self._depth, self._shown_depth)
            # by the photo's depths where it shows the face foreshortened (a turned head's far side),
            # by the driver's where it shows it as the driver's own: there the eyes keep the driver's
            # widths, and their opening reads as the driver's (s10/d6 eyes 0.82 so, 0.67 turned whole)
            shown_turn = turn + (1.0 - self._sideways)[:, None] * (shown_turn - turn)
            linear = geometry.linear_part(self._to_avatar).T
            rest = (motion_px - turn) @ linear
            rest[:, 0] *= self._sideways            # the turn itself is shown in full
            delta = shown_turn @ linear + rest
            delta[:, 1] *= self._brow_scale
            tgt = self.base + c.expression * delta
            tgt = _lids_by_fraction(tgt, self.base, _eyes_together(self._eyes.fraction(cur_aligned), cur), c.expression)
            tgt = _jaw_below_lip(tgt, self._jaw)
            tgt = _chin_between_lip_and_jaw(tgt, self._chin)
        else:
            tgt = geometry.apply(self._to_avatar, cur_aligned).astype(np.float64)
        tgt = face_mesh.move_with_visible_surface(tgt, self.base, self._hidden)
        tgt = _uncross(face_mesh.unfold_outline(tgt, self._outline))
        if c.head_motion:
            motion = self._to_avatar @ head @ np.linalg.inv(self._to_avatar)      # in avatar space
            moved = geometry.apply(motion, tgt).astype(np.float64)
            shift = (moved - tgt).mean(0)
            limit = c.max_head_shift
            if np.linalg.norm(shift) > limit:
                moved -= shift * (1 - limit / np.linalg.norm(shift))
            tgt = moved
        return tgt.astype(np.float32)


# a blink is mostly the upper lid coming down
_UPPER_LID_SHARE = 0.7
# the jaw under the mouth stays at least this share of its photo's distance below the lower lip
_JAW_FLOOR = 0.45
# a chin squeezed to 60 % of its span in the photo is spread evenly between lip and jaw
_CHIN_SQUEEZED = 0.4
# the driver's usual eye opening: the median over this many frames (5 s at 30 fps), trusted down to
# 0.9 of it (a calibration frame a little less open than usual stays the neutral)
_EYE_WINDOW = 150
_EYE_USUAL_SHARE = 0.9
# MediaPipe reads a shut eye as still ~15 % open (lashes, the lids' own thickness): that much is shut
_SHUT_READS_AS = 0.15
# each eye's corners (the order of _EYES), and how far apart the two eyes' fractions may read and
# still be one expression (a wink: one shut, one open, ~0.85 apart)
_EYE_CORNERS = [(lid[0], lid[-1]) for lid in (topo.RIGHT_EYE_UPPER, topo.LEFT_EYE_UPPER)]
_EYES_APART = (0.35, 0.65)
_EYES = [np.array(pairs).T for pairs in (topo.LID_PAIRS[:len(topo.LID_PAIRS) // 2], topo.LID_PAIRS[len(topo.LID_PAIRS) // 2:])]


class _EyeOpenings:
    """The driver's opening of each eye, measured across their own face (so a rolled head reads
    right), and its neutral: the calibration frame's, or, when that frame caught a blink or a squint,
    the eyes' usual opening over the last five seconds (they are open most of the time). Without the
    second an avatar calibrated on a blink stares wide-eyed until the next calibration."""

    def __init__(self, ref: np.ndarray):
        across = ref[topo.LEFT_EYE_UPPER[0]] - ref[topo.RIGHT_EYE_UPPER[0]]    # outer eye corners
        self.down = np.array([-across[1], across[0]]) / (np.linalg.norm(across) + 1e-9)
        self.calibrated = self.measure(ref)
        self.recent = deque(maxlen=_EYE_WINDOW)

    def measure(self, lmk: np.ndarray) -> np.ndarray:
        return np.array([((lmk[lower] - lmk[upper]) @ self.down).sum() for upper, lower in _EYES])

    def fraction(self, lmk: np.ndarray) -> np.ndarray:
        """Per eye, its opening now over its neutral (1 where there is no opening to measure)."""
        now = self.measure(lmk)
        self.recent.append(now)
        neutral = self.calibrated
        if len(self.recent) >= _EYE_WINDOW // 5:            # a second of frames before trusting it
            neutral = np.maximum(neutral, _EYE_USUAL_SHARE * np.median(np.array(self.recent), axis=0))
        return np.divide(now, neutral, out=np.ones_like(now), where=neutral > 1e-9)


def _eyes_together(opening: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """Both eyes open by the same fraction unless they are far apart (a wink, a half wink): eyes
    move together, and MediaPipe reads a turned head's eyes up to a third apart (the demo driver's,
    turned: 0.8 and 1.15 of their neutral), which left the avatar squinting with one eye. The
    shared fraction weighs each eye by its width in the picture: the nearer one is read better."""
    widths = np.array([np.linalg.norm(driver[a] - driver[b]) for a, b in _EYE_CORNERS])
    if widths.sum() <= 1e-9:
        return opening
    apart = abs(opening[0] - opening[1])
    link = 1.0 - _smooth(np.clip((apart - _EYES_APART[0]) / (_EYES_APART[1] - _EYES_APART[0]), 0.0, 1.0))
    shared = float((opening * widths).sum() / widths.sum())
    return opening + link * (shared - opening)


def _lids_by_fraction(tgt, base, opening, strength):
    """Each avatar eye opens by the driver's *fraction* of its neutral opening (opening: per eye,
    now over neutral), not by the driver's lid travel: an added delta cannot close wide-open eyes (a
    painting's, a surprised photo's) when the driver blinks, and squeezes narrow ones shut on a half
    blink."""
    out = tgt.copy()
    for (upper, lower), now in zip(_EYES, opening):
        fraction = np.clip((now - _SHUT_READS_AS) / (1.0 - _SHUT_READS_AS), 0.0, 1.5)
        want = (base[lower, 1] - base[upper, 1]) * (1.0 + strength * (fraction - 1.0))
        missing = want - (out[lower, 1] - out[upper, 1])
        out[upper, 1] -= _UPPER_LID_SHARE * missing
        out[lower, 1] += (1.0 - _UPPER_LID_SHARE) * missing
    return out


_BROWS = [(topo.RIGHT_BROW_LOWER, topo.RIGHT_BROW_UPPER, topo.RIGHT_EYE_UPPER),
          (topo.LEFT_BROW_LOWER, topo.LEFT_BROW_UPPER, topo.LEFT_EYE_UPPER)]
# a brow that sits closer to its eye than the driver's (a painting's faint brow, the far eye of a
# turned head) moves by the same *share* of its gap, down to this (below it MediaPipe's brow is a guess)
_BROW_RATIO_MIN = 0.3


def _brow_gaps(lmk: np.ndarray) -> np.ndarray:
    """Per eye: the height of the brow's lower edge over the upper lid where the two come closest."""
    return np.array([float(np.min(_curve_y(lmk[lid], lmk[lower, 0]) - lmk[lower, 1])) for lower, _, lid in _BROWS])


def _brow_ratio(avatar: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """Per eye: the avatar's brow-to-lid gap over the driver's (both neutral, in avatar units), at
    most 1 (a brow sitting higher than the driver's moves as the driver's does); 1 where a brow is
    not above its lid (a tracking glitch: nothing to scale by)."""
    a, d = _brow_gaps(avatar), _brow_gaps(driver)
    ok = (a > 0) & (d > 0)
    return np.where(ok, np.clip(np.divide(a, d, out=np.ones_like(a), where=ok), _BROW_RATIO_MIN, 1.0), 1.0)


def _brow_band(base: np.ndarray) -> np.ndarray:
    """N x 2 weights: how much each mesh point moves with its brow (1 on the brow and the skin
    between brow and upper lid, fading to 0 on the lid and up the forehead; 0 away from the eyes).

    The driver's brow travel scaled into an avatar whose brow sits nearer the eye (the far eye of
    a turned head, a painting's faint brow) would otherwise put the brow on the lid in a frown, and
    the eye's warp would read brow skin over the eye."""
    w = np.zeros((len(base), 2))
    for e, (lower, upper, lid) in enumerate(_BROWS):
        line_y = _curve_y(base[[lid[0], lid[-1]]], base[:, 0])   # through the eye's corners
        gap = max(float(np.mean(line_y[lower] - base[lower, 1])), 1e-6)
        u = (line_y - base[:, 1]) / gap                       # 0 on the corners' line, 1 on the brow
        top = np.mean(line_y[upper] - base[upper, 1]) / gap  # the brow's upper edge
        rise = np.clip((u - 0.5) / 0.3, 0.0, 1.0)              # off the lid, onto the brow skin
        fall = np.clip(top + 1.0 - u, 0.0, 1.0)                # gone one gap above the brow's top
        brow_x = base[lower + upper, 0]
        margin = 0.3 * abs(base[lid[-1], 0] - base[lid[0], 0])
        side = np.clip(1.0 - np.maximum(brow_x.min() - base[:, 0], base[:, 0] - brow_x.max()).clip(0.0) / margin, 0.0, 1.0)
        w[:, e] = _smooth(rise) * _smooth(fall) * _smooth(side)
    return w


_SIDEWAYS_MIN = 0.3


def _mouth_halves(lmk: np.ndarray):
    """The mouth's midline (x) and its half widths towards the picture's left and right corner."""
    mid = lmk[[0, 17, 13, 14], 0].mean()
    return mid, mid - lmk[61, 0], lmk[291, 0] - mid


def _sideways_share(avatar: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """Per point, the share of the driver's sideways motion that the avatar's photo shows. A face
    turned away shows its far side foreshortened: the same sideways motion there covers less of the
    picture, and added in full it pushes the far half of the mouth (a lopsided grin, a mouth pulled
    aside) off the cheek into the background. How turned is read from the mouth: how much narrower
    its far half is than the near one, against the driver's own; the far side's share falls from 1
    at the midline to that ratio at the corner and beyond. A frontal avatar keeps everything."""
    mid, a_left, a_right = _mouth_halves(avatar)
    _, d_left, d_right = _mouth_halves(driver)
    if min(a_left, a_right, d_left, d_right) <= 1e-6:
        return np.ones(len(avatar))
    left = np.clip((a_left / a_right) / (d_left / d_right), _SIDEWAYS_MIN, 1.0)
    right = np.clip((a_right / a_left) / (d_right / d_left), _SIDEWAYS_MIN, 1.0)
    x = avatar[:, 0]
    on_left = x < mid
    reach = np.clip(np.where(on_left, (mid - x) / a_left, (x - mid) / a_right), 0.0, 1.0)
    return 1.0 + (np.where(on_left, left, right) - 1.0) * _smooth(reach)


def _head_turn(motion: np.ndarray, depth, shown_depth=None):
    """The part of the driver's motion (in-plane pose removed) that is their head turning left or
    right: sideways motion in proportion to depth, fitted on the skull points. Foreshortening the far
    side is for what the face does on its surface; the turn moves the whole head and is left whole
    (foreshortened too, a turn reads as much less of one). Zero without depth.

    Returns the turn on the driver's face and the same turn on the avatar's: by the avatar's own
    depth where it is known (shown_depth, in the driver's units). A photo of a turned head has its
    near cheek in front, beside the nose; turned by the driver's depths it moved against the nose as
    a frontal face's cheek does, and the avatar looked to turn half as far as the driver."""
    out = np.zeros_like(motion)
    if depth is None:
        return out, out
    skull = topo.STABLE
    design = np.stack([np.ones(len(skull)), depth[skull]], 1)
    (offset, per_depth), *_ = np.linalg.lstsq(design, motion[skull, 0], rcond=None)
    out[:, 0] = offset + per_depth * depth
    if shown_depth is None:
        return out, out
    shown = np.zeros_like(motion)
    # the same turn about the same axis: the skull's mean depth moves as the driver's does
    shown[:, 0] = offset + per_depth * (depth[skull].mean() + shown_depth - shown_depth[skull].mean())
    return out, shown


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def _curve_y(pts: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])


def _along(curve_x: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per x, weights over a curve's points (ordered by x in the photo) that interpolate it there."""
    order = np.argsort(curve_x)
    n = len(order)
    f = np.interp(x, curve_x[order], np.arange(n, dtype=np.float64))
    i0 = np.clip(np.floor(f).astype(int), 0, n - 2)
    t = f - i0
    w = np.zeros((len(x), n))
    rows = np.arange(len(x))
    w[rows, order[i0]] = 1.0 - t
    w[rows, order[i0 + 1]] += t
    return w


class _Chin(NamedTuple):
    """The chin's mesh points and where each sits in the avatar's photo (see `_chin_points`)."""
    pts: np.ndarray
    share: np.ndarray       # 0 at the lower lip's edge, 1 at the jaw
    span: np.ndarray        # the lip-to-jaw span there
    under_lip: np.ndarray   # 1 under the lip, 0 from the mouth's corners out
    lip: np.ndarray         # weights over the lip's edge points that give the lip above it
    jaw: np.ndarray         # weights over the jaw's points that give the jaw below it


def _chin_points(base: np.ndarray) -> _Chin:
    """Mesh points of the chin (between the lower lip's outer edge and the jaw, lip and eye contours
    aside), where each sits between the two, the lip-to-jaw span there, how far it is under the lip
    (1 within 3/4 of the way from the mouth's middle to its corners, 0 from the corners out), and
    which lip and jaw points are above and below it, all in the avatar's own face."""
    lip, jaw = base[topo.LOWER_LIP_OUTER], base[topo.JAW_LOWER]
    outline = np.concatenate([lip, jaw[::-1]]).astype(np.float32)
    skip = set(topo.LOWER_LIP_OUTER + topo.JAW_LOWER + topo.LIPS_INNER + topo.LIPS_OUTER + topo.RIGHT_EYE + topo.LEFT_EYE)
    pts = np.array([i for i in range(topo.NUM_MESH) if i not in skip
                    and cv2.pointPolygonTest(outline, (float(base[i, 0]), float(base[i, 1])), False) > 0], int)
    # which lip and jaw points are above and below each is fixed here, in the photo: looked up again
    # by x in the target, a point moved sideways on a turned face found the jaw's far side (which
    # runs up beside the mouth) and was put above the upper lip, the chin drawn under the nose
    on_lip, on_jaw = _along(lip[:, 0], base[pts, 0]), _along(jaw[:, 0], base[pts, 0])
    top, bottom = on_lip @ lip[:, 1], on_jaw @ jaw[:, 1]
    span = np.maximum(bottom - top, 1e-6)
    share = (base[pts, 1] - top) / span
    # beyond the mouth's corners there is no lip above a point, and the jaw there runs down more than
    # across: "between the lip and the jaw" is ill-posed, and spreading those points put the lower
    # cheek below the jaw's angle (a fold at each side of a wide-open mouth)
    under_lip = _under_lip(base, base[pts, 0])
    k = (share > 0) & (share < 1) & (under_lip > 0)
    return _Chin(pts[k], share[k], span[k], under_lip[k], on_lip[k], on_jaw[k])


class _Jaw(NamedTuple):
    """The jaw's points under the mouth, the lower lip above each and their distance in the photo."""
    pts: np.ndarray
    lip: np.ndarray         # weights over the lower lip's outer edge that give the lip above each
    span: np.ndarray        # lip-to-jaw distance in the avatar's photo
    under_lip: np.ndarray   # 1 under the mouth's middle, 0 from its corners out


def _under_lip(base: np.ndarray, x: np.ndarray) -> np.ndarray:
    """1 within 3/4 of the way from the mouth's middle to its corners, 0 from the corners out."""
    left, right = base[topo.LOWER_LIP_OUTER[0], 0], base[topo.LOWER_LIP_OUTER[-1], 0]
    reach = np.abs(x - (left + right) / 2) / max(abs(right - left) / 2, 1e-6)
    return _smooth(np.clip((1.0 - reach) / 0.25, 0.0, 1.0))


def _jaw_points(base: np.ndarray) -> _Jaw:
    """Jaw points under the mouth, in the avatar's photo (the lip above each is fixed here, as for
    the chin's points: on a turned face the jaw's far side runs up beside the mouth)."""
    lip = base[topo.LOWER_LIP_OUTER]
    jaw = np.array(topo.JAW_LOWER)
    on_lip = _along(lip[:, 0], base[jaw, 0])
    span = base[jaw, 1] - on_lip @ lip[:, 1]
    under = _under_lip(base, base[jaw, 0])
    k = (span > 0) & (under > 0)
    return _Jaw(jaw[k], on_lip[k], span[k], under[k])


def _jaw_below_lip(tgt, jaw: _Jaw):
    """A mouth opens by the jaw dropping: the jaw under it stays at least _JAW_FLOOR of its photo's
    distance below the lower lip. MediaPipe reads a driver's chin short on a wide-open mouth (most
    where the chin nears the frame's edge: 0.2 of its rest distance below the lip on d6's "O"); added
    point by point that put a turned avatar's jaw across its lower lip, and the warp drew the lip's
    middle in pale chin skin. A yawn's usual reading (d18's: down to 0.43) is left as it is."""
    if not len(jaw.pts):
        return tgt
    out = tgt.copy()
    floor = jaw.lip @ tgt[topo.LOWER_LIP_OUTER, 1] + _JAW_FLOOR * jaw.span
    out[jaw.pts, 1] += jaw.under_lip * np.maximum(0.0, floor - tgt[jaw.pts, 1])
    return out


def _chin_between_lip_and_jaw(tgt, chin: _Chin):
    """Where the chin is squeezed between the lower lip and the jaw, its skin is spread evenly between
    them as they stand in the target. Added per-point motion folds it where the avatar's chin is
    shorter than the driver's: on a wide-open mouth the skin under the lip ends up above the lip's
    edge, and the warp draws it inside the lip as a pale blob while squeezing the lip into a line.
    Unsqueezed (lip-to-jaw span at least as in the avatar's photo) the driver's own motion stays."""
    if not len(chin.pts):
        return tgt
    out = tgt.copy()
    top = chin.lip @ tgt[topo.LOWER_LIP_OUTER, 1]
    bottom = chin.jaw @ tgt[topo.JAW_LOWER, 1]
    even = top + chin.share * (bottom - top)
    squeeze = np.clip((1.0 - (bottom - top) / chin.span) / _CHIN_SQUEEZED, 0.0, 1.0)
    out[chin.pts, 1] += _smooth(squeeze) * chin.under_lip * (even - tgt[chin.pts, 1])
    return out


def _uncross(lmk: np.ndarray) -> np.ndarray:
    """Lids and lips never pass through each other (the avatar's crop is upright: y is down)."""
    out = lmk.copy()
    for up, lo in topo.LID_PAIRS + topo.LIP_PAIRS:
        if out[up, 1] > out[lo, 1]:
            mid = (out[up, 1] + out[lo, 1]) / 2
            out[up, 1] = out[lo, 1] = mid
    return out
