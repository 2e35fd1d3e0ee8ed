"""Paste-back: the animated face crop goes back into the base photo through a feathered mask.

Everything that is per-avatar (inverse warp maps, mask, region) is computed once; per frame it is
one remap of the crop-sized region and one blend.
"""
import cv2
import numpy as np


class PasteBack:
    def __init__(self, base_bgr: np.ndarray, base_to_crop: np.ndarray, size: int, feather: float = 0.12):
        self.base = base_bgr
        self.size = size
        H, W = base_bgr.shape[:2]
        S = size
        crop_to_base = np.linalg.inv(base_to_crop)
        corners = np.array([[0, 0], [S, 0], [S, S], [0, S]], np.float64)
        pts = corners @ crop_to_base[:2, :2].T + crop_to_base[:2, 2]
        x0, y0 = np.floor(pts.min(0)).astype(int)
        x1, y1 = np.ceil(pts.max(0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
        if x1 <= x0 or y1 <= y0:
            raise ValueError("face crop lies outside the base image")
        self.roi = (x0, y0, x1, y1)
        # for every ROI pixel, where to read in the crop (base -> crop transform)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        mx = base_to_crop[0, 0] * xs + base_to_crop[0, 1] * ys + base_to_crop[0, 2]
        my = base_to_crop[1, 0] * xs + base_to_crop[1, 1] * ys + base_to_crop[1, 2]
        self.map1, self.map2 = cv2.convertMaps(mx.astype(np.float32), my.astype(np.float32), cv2.CV_16SC2)
        # feathered square mask in crop space: 1 inside, smooth to 0 at the crop border
        ramp = np.clip(np.minimum(np.arange(S), np.arange(S)[::-1]) / (feather * S), 0, 1).astype(np.float32)
        ramp = ramp * ramp * (3 - 2 * ramp)
        mask = np.outer(ramp, ramp)
        alpha = cv2.remap(mask, self.map1, self.map2, cv2.INTER_LINEAR, borderValue=0)
        self.alpha = alpha
        self.beta = (1.0 - alpha).astype(np.float32)

    def __call__(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Full base frame with the crop blended in. Returns a new array."""
        x0, y0, x1, y1 = self.roi
        warped = cv2.remap(crop_bgr, self.map1, self.map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = self.base.copy()
        out[y0:y1, x0:x1] = cv2.blendLinear(warped, self.base[y0:y1, x0:x1], self.alpha, self.beta)
        return out
