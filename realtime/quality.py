"""Quality measures of ENGINE.md, with no downloaded networks: PSNR/SSIM on the face box, landmark
error over inter-ocular distance, dlib identity distance, and how well an avatar follows a driver."""
import numpy as np

from engines import topology as topo


def face_box(lmk_px: np.ndarray, shape, margin: float = 0.1):
    pts = lmk_px[:, :2]
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    h, w = shape[:2]
    return (int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(w, x1 + mx)), int(min(h, y1 + my)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def detail(a: np.ndarray, b: np.ndarray) -> float:
    """How much fine detail a keeps of b's: mean gradient magnitude of a over b's (grayscale). Below
    1 is softer than the truth, which PSNR rewards where the alignment is uncertain (a blend of
    near-equals scores well and looks blurred)."""
    import cv2

    def grad(img):
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        return float(np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)).mean())
    return grad(a) / max(grad(b), 1e-6)


def landmark_error(lmk_out: np.ndarray, lmk_gt: np.ndarray) -> float:
    """Mean 2D distance over the 478 points, in units of the ground truth's inter-ocular distance."""
    d = np.linalg.norm(lmk_out[:, :2] - lmk_gt[:, :2], axis=1).mean()
    return float(d / max(topo.inter_ocular(lmk_gt), 1e-6))


def expression_signals(lmk: np.ndarray) -> dict:
    yaw, pitch = topo.head_yaw_pitch(lmk)
    return dict(mouth=topo.mouth_openness(lmk), eyes=topo.eye_openness(lmk), yaw=yaw, pitch=pitch)


def correlation(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# Where the engine draws a point can be found in its output by the texture around it, independently
# of MediaPipe, for the nose tip: no expression moves it against the skull, its nostrils and highlight
# texture it in every view, and both head-pose proxies are read from it. (The eye corners and the
# nose's bridge were tried: a patch slides along a lash line or a smooth bridge, and they read up to
# a quarter of the eyes' distance off where the image plainly was not.)
DRAWN_POINTS = (1,)


def patch_offset(ref_gray: np.ndarray, ref_xy, cur_gray: np.ndarray, asked_xy, radius: int, search: int):
    """Where the patch of ref_gray around ref_xy lies in cur_gray, as an offset (dx, dy) from asked_xy
    in pixels (sub-pixel: a parabola through the best match and its neighbours), and the match's
    normalised correlation (1: the same texture). None where either window leaves the frame."""
    import cv2
    (rx, ry), (ax, ay) = np.round(ref_xy).astype(int), np.round(asked_xy).astype(int)
    r, s = radius, search
    h, w = cur_gray.shape[:2]
    if min(rx - r, ry - r, ax - r - s, ay - r - s) < 0 or max(rx + r, ax + r + s) >= w or max(ry + r, ay + r + s) >= h:
        return None
    tpl = ref_gray[ry - r:ry + r + 1, rx - r:rx + r + 1].astype(np.float32)
    win = cur_gray[ay - r - s:ay + r + s + 1, ax - r - s:ax + r + s + 1].astype(np.float32)
    res = cv2.matchTemplate(win, tpl, cv2.TM_CCOEFF_NORMED)
    _, score, _, (bx, by) = cv2.minMaxLoc(res)

    def vertex(lo, mid, hi):
        d = lo - 2 * mid + hi
        return 0.0 if abs(d) < 1e-9 else float(np.clip(0.5 * (lo - hi) / d, -0.5, 0.5))
    fx = vertex(res[by, bx - 1], res[by, bx], res[by, bx + 1]) if 0 < bx < 2 * s else 0.0
    fy = vertex(res[by - 1, bx], res[by, bx], res[by + 1, bx]) if 0 < by < 2 * s else 0.0
    # the asked point's rounding and the patch's own: ref_xy's fraction travels with the texture
    frac = (np.asarray(ref_xy, float) - (rx, ry)) - (np.asarray(asked_xy, float) - (ax, ay))
    return np.array([bx - s + fx + frac[0], by - s + fy + frac[1]]), float(score)
