"""2D similarity transforms as 3x3 matrices (numpy), for cropping and retargeting."""
import numpy as np


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation mapping src (N x 2) onto dst."""
    src = np.asarray(src, np.float64)[:, :2]
    dst = np.asarray(dst, np.float64)[:, :2]
    ms, md = src.mean(0), dst.mean(0)
    A, B = src - ms, dst - md
    norm = (A * A).sum() + 1e-12
    a = (A[:, 0] * B[:, 0] + A[:, 1] * B[:, 1]).sum() / norm
    b = (A[:, 0] * B[:, 1] - A[:, 1] * B[:, 0]).sum() / norm
    R = np.array([[a, -b], [b, a]])
    M = np.eye(3)
    M[:2, :2] = R
    M[:2, 2] = md - R @ ms
    return M


def apply(M: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts)
    out = pts[:, :2] @ M[:2, :2].T + M[:2, 2]
    return out.astype(np.float32)


def linear_part(M: np.ndarray) -> np.ndarray:
    return M[:2, :2]


def scale_of(M: np.ndarray) -> float:
    """The uniform scale of a similarity (the square root of its linear part's determinant)."""
    return float(np.sqrt(abs(np.linalg.det(M[:2, :2]))))
