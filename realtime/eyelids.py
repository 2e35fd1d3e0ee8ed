"""Lid landmarks moved out to the visible edge of the eyeball in a source photo.

MediaPipe's lid points often sit inside the opening: on wide-open or sideways-looking eyes the
white of the eye shows above the upper lid points and below the lower ones. The engine treats what
lies outside the lid points as lid skin, so when the avatar blinks that white stays in view as a
bright crescent over the closed lid. Here each interior lid point follows the white outward along
its column, as far as it runs unbroken (at most a fifth of the eye's width).
"""
import cv2
import numpy as np

from engines import topology as topo

MAX_REACH = 0.2       # eye widths
_EYES = ((topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_IRIS_CENTER, topo.RIGHT_IRIS_RING),
         (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_IRIS_CENTER, topo.LEFT_IRIS_RING))


def _sclera_mask(gray: np.ndarray, sat: np.ndarray, skin_bgr: np.ndarray) -> np.ndarray:
    """White of the eye (gray, sat: the crop's luma and saturation): at least as light as the skin
    beside the eye and much less coloured."""
    skin = skin_bgr.reshape(1, -1, 3).astype(np.uint8)
    skin_light = float(np.median(cv2.cvtColor(skin, cv2.COLOR_BGR2GRAY)))
    skin_sat = float(np.median(cv2.cvtColor(skin, cv2.COLOR_BGR2HSV)[0, :, 1]))
    # a pale, washed-out face gives no contrast to find the white by: leave its lids alone
    if skin_sat < 25:
        return np.zeros(gray.shape, bool)
    return (gray >= 0.95 * skin_light) & (sat <= 0.55 * skin_sat)


def _run_length(mask: np.ndarray, x: int, y: int, step: int, limit: int) -> int:
    """How far unbroken mask runs from (x, y) going up (step -1) or down (+1), if it starts within
    2 px of it (at most limit)."""
    ys = y + step * np.arange(limit)
    hits = mask[ys[(ys >= 0) & (ys < mask.shape[0])], x]
    if not hits[:3].any():
        return 0
    start = int(np.argmax(hits))
    gaps = np.flatnonzero(~hits[start:])
    return start + int(gaps[0]) if len(gaps) else len(hits)


def fit_lids_to_eyeball(crop_bgr: np.ndarray, lmk_px: np.ndarray) -> np.ndarray:
    """lmk_px (478 x 2, pixels of the upright crop) with the interior lid points moved to the visible
    edge of the white of the eye; everything else unchanged."""
    S = crop_bgr.shape[0]
    gray = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    sat = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32)
    px = np.asarray(lmk_px, np.float64)[:, :2]
    out = np.array(lmk_px, copy=True)
    for upper, lower, iris, ring in _EYES:
        width = np.linalg.norm(px[upper[0]] - px[upper[-1]])
        if width < 8:
            continue
        # skin under the eye: a third of an eye width below the lower lid
        below = px[lower[1:-1]] + [0.0, 0.35 * width]
        xy = np.clip(np.round(below).astype(int), 0, S - 1)
        mask = _sclera_mask(gray, sat, crop_bgr[xy[:, 1], xy[:, 0]])
        limit = max(1, int(MAX_REACH * width))
        centre = px[iris]
        radius = np.linalg.norm(px[ring] - centre, axis=1).mean()
        for ids, step in ((upper[1:-1], -1), (lower[1:-1], 1)):
            # a point on the iris looks for the white from the iris's edge in its column: where the
            # white shows above the iris, its lid point left on the iris was a dip in the lid's
            # line, and a lid lowered from it had a notch
            past_iris = np.array([max(0.0, step * (centre[1] - px[i, 1]) + np.sqrt(max(radius ** 2 - (px[i, 0] - centre[0]) ** 2, 0.0)))
                                  if abs(px[i, 0] - centre[0]) < radius else 0.0 for i in ids])
            run = np.array([
                _run_length(mask, int(np.clip(round(px[i, 0]), 0, S - 1)),
                            int(np.clip(round(px[i, 1] + step * skip), 0, S - 1)), step, limit)
                if skip < limit else 0
                for i, skip in zip(ids, past_iris)], np.float64)
            # no white past the iris: the lid is on it and stays
            reach = np.where(run > 0, np.minimum(past_iris + run, limit), 0.0)
            # one odd column (a highlight, a lash) must not pull one point out alone
            padded = np.concatenate([[0.0], reach, [0.0]])
            reach = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
            out[ids, 1] += step * reach
    return out
