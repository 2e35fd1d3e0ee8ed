"""Motion transfer: the driver's *change* of expression and head pose, applied to the avatar's face.

Relative mode (default) keeps the avatar's own face shape: rigid pose is removed on skull points,
expression deltas are scaled/rotated into the avatar's frame, then the driver's relative head pose
is re-applied around the avatar's face. Absolute mode maps the driver's landmarks directly.
"""
from dataclasses import dataclass

import numpy as np

from engines import topology as topo
from . import geometry


@dataclass(frozen=True)
class RetargetConfig:
    relative: bool = True
    expression: float = 1.0      # expression strength (1 = as the driver)
    head_motion: bool = True
    max_head_shift: float = 0.25  # normalised crop units; keeps the face inside the engine window


class Retargeter:
    def __init__(self, base_lmk_norm: np.ndarray, config: RetargetConfig = RetargetConfig()):
        self.base = np.asarray(base_lmk_norm, np.float64)[:, :2]
        self.config = config
        self.reference = None        # driver landmarks (pixels) of the neutral frame
        self._to_avatar = None       # similarity: driver reference -> avatar crop

    def calibrate(self, driver_px: np.ndarray) -> None:
        """Take this driver frame as the neutral face (first frame with a face, or on user request)."""
        self.reference = np.asarray(driver_px, np.float64)[:, :2].copy()
        self._to_avatar = geometry.fit_similarity(self.reference[topo.STABLE], self.base[topo.STABLE])

    def __call__(self, driver_px: np.ndarray) -> np.ndarray:
        cur = np.asarray(driver_px, np.float64)[:, :2]
        if self.reference is None:
            self.calibrate(cur)
        c = self.config
        ref = self.reference
        head = geometry.fit_similarity(ref[topo.STABLE], cur[topo.STABLE])        # ref -> cur
        cur_aligned = geometry.apply(np.linalg.inv(head), cur).astype(np.float64)
        if c.relative:
            delta = (cur_aligned - ref) @ geometry.linear_part(self._to_avatar).T
            tgt = self.base + c.expression * delta
        else:
            tgt = geometry.apply(self._to_avatar, cur_aligned).astype(np.float64)
        tgt = _uncross(tgt)
        if c.head_motion:
            motion = self._to_avatar @ head @ np.linalg.inv(self._to_avatar)      # in avatar space
            moved = geometry.apply(motion, tgt).astype(np.float64)
            shift = (moved - tgt).mean(0)
            limit = c.max_head_shift
            if np.linalg.norm(shift) > limit:
                moved -= shift * (1 - limit / np.linalg.norm(shift))
            tgt = moved
        return tgt.astype(np.float32)


def _uncross(lmk: np.ndarray) -> np.ndarray:
    """Lids and lips never pass through each other (the avatar's crop is upright: y is down)."""
    out = lmk.copy()
    for up, lo in topo.LID_PAIRS + topo.LIP_PAIRS:
        if out[up, 1] > out[lo, 1]:
            mid = (out[up, 1] + out[lo, 1]) / 2
            out[up, 1] = out[lo, 1] = mid
    return out
