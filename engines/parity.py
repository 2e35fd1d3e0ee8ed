"""Parity and speed of a backend against reference frames (used by `doctor` and the tests)."""
import math
import time
from dataclasses import dataclass

import numpy as np


def psnr(a_u8: np.ndarray, b_u8: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of the same shape (inf when identical)."""
    if a_u8.shape != b_u8.shape:
        raise ValueError(f"expected images of the same shape, got {a_u8.shape} and {b_u8.shape}")
    mse = float(np.mean((a_u8.astype(np.float64) - b_u8.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


@dataclass
class BackendCheck:
    psnr_min_db: float        # worst frame against the reference
    psnr_mean_db: float
    ms_per_frame: float       # median over the timed passes, render_bgr() end to end


def render_all(predictor, targets) -> list:
    return [predictor.render_bgr(t) for t in targets]


def check_backend(predictor, targets, reference_frames, timed_passes: int = 2) -> BackendCheck:
    """Render every target (first pass also warms up), compare with the reference, then time it."""
    frames = render_all(predictor, targets)
    scores = [psnr(f, r) for f, r in zip(frames, reference_frames)]
    times = []
    for _ in range(timed_passes):
        for t in targets:
            start = time.perf_counter()
            predictor.render_bgr(t)
            times.append(time.perf_counter() - start)
    finite = [s for s in scores if math.isfinite(s)]
    mean = float(np.mean(finite)) if finite else math.inf
    return BackendCheck(min(scores), mean, 1e3 * float(np.median(times)))
