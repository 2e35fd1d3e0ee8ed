"""A painted synthetic face: the built-in sample avatar, the built-in demo motion and test data.

It is drawn from scratch (no real person is depicted), and MediaPipe's face mesh finds it, so it
drives the real tracking path. Parameters: mouth opening, eye opening, head yaw/pitch, identity.
"""
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Identity:
    skin_bgr: tuple = (150, 182, 226)
    hair_bgr: tuple = (40, 52, 72)
    iris_bgr: tuple = (120, 95, 60)
    shirt_bgr: tuple = (110, 70, 50)
    face_width: float = 112.0
    face_height: float = 140.0
    eye_gap: float = 44.0        # half distance between the eyes
    eye_size: float = 1.0
    mouth_drop: float = 0.0      # extra distance nose -> mouth


SAMPLE = Identity()
# a third person who differs in face geometry too (dlib tells them apart from SAMPLE)
STRANGER = Identity(skin_bgr=(60, 80, 120), hair_bgr=(200, 200, 210), iris_bgr=(30, 30, 30),
                    shirt_bgr=(40, 40, 160), face_width=90.0, face_height=150.0, eye_gap=34.0,
                    eye_size=0.75, mouth_drop=18.0)
OTHER = Identity(skin_bgr=(95, 120, 165), hair_bgr=(30, 30, 30), iris_bgr=(40, 60, 90),
                 shirt_bgr=(60, 120, 60), face_width=128.0, face_height=128.0)


def render(mouth: float = 0.0, eyes: float = 1.0, yaw: float = 0.0, pitch: float = 0.0,
           size: int = 512, who: Identity = SAMPLE, seed: int = 0, width: int = None,
           gaze: float = 0.0) -> np.ndarray:
    """BGR uint8 image (size x size, or width x size with the face centred).

    mouth in [0, 1] (closed..wide open), eyes in [0, 1] (closed..open), yaw/pitch in [-1, 1],
    gaze in [-1, 1] (irises towards the picture's left..right).
    """
    H = W = 512
    img = np.zeros((H, W, 3), np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img[:] = np.stack([140 + 50 * yy / H, 150 + 25 * xx / W, 110 + 30 * yy / H], -1)

    def ell(c, ax, col, th=-1, ang=0.0, span=(0, 360), on=None):
        cv2.ellipse(img if on is None else on, (int(round(c[0] * 16)), int(round(c[1] * 16))),
                    (max(1, int(round(ax[0] * 16))), max(1, int(round(ax[1] * 16)))),
                    ang, span[0], span[1], col, th, cv2.LINE_AA, 4)

    skin = np.array(who.skin_bgr, np.float32)
    fw, fh = who.face_width, who.face_height
    cx, cy = 256 + yaw * 18, 270 + pitch * 10      # the head itself shifts a little
    fx, fy = cx + yaw * 34, cy + pitch * 22        # features shift more: a turned head
    ell((cx, 235), (fw + 38, fh + 35), who.hair_bgr)
    cv2.rectangle(img, (int(cx - 48), int(cy + 60)), (int(cx + 48), H), tuple(float(v) for v in skin * 0.8), -1)
    ell((256, 540), (220, 95), who.shirt_bgr)
    ell((cx, cy), (fw, fh), tuple(float(v) for v in skin))
    # soft shading: darker towards the face edge and on the side turned away
    shade = np.clip(1 - (((xx - cx) / fw) ** 2 + ((yy - cy) / fh) ** 2), 0, 1) ** 0.35
    side = 1 - 0.12 * np.clip((xx - cx) * np.sign(yaw + 1e-6) / fw, 0, 1) * abs(yaw)
    face = (((xx - cx) / fw) ** 2 + ((yy - cy) / fh) ** 2) < 1
    img[face] *= (0.78 + 0.22 * shade[face] * side[face])[:, None]
    ell((cx, cy - fh + 25), (fw + 8, 48), who.hair_bgr)               # fringe
    for s in (-1, 1):                                                 # cheeks
        ell((fx + s * 60, fy + 45), (26, 16), tuple(float(v) for v in skin * np.array([0.9, 0.85, 1.02])))
    for s in (-1, 1):
        ex, ey = fx + s * who.eye_gap, fy - 22
        # brow, with room for the upper lid's skin below it (a blink unfolds that skin over the eye)
        ell((ex, ey - 31), (28 * who.eye_size, 5), tuple(float(v) * 0.8 for v in who.hair_bgr))
        h = max(0.8, 12.0 * eyes * who.eye_size)
        if eyes < 0.1:
            # shut: a lash line curving gently down and the lid's crease above it, no eyeball.
            # MediaPipe reads this as shut (at most ~0.2 of open) more reliably than a flat slit
            ell((ex, ey - 1), (22 * who.eye_size, 2), (50, 50, 70), 3, span=(0, 180))
            ell((ex, ey - 4), (20 * who.eye_size, 5), tuple(float(v) * 0.75 for v in skin), 1, span=(200, 340))
            continue
        ell((ex, ey), (23 * who.eye_size, h + 2), tuple(float(v) * 0.6 for v in skin))   # lid crease
        ell((ex, ey), (22 * who.eye_size, h), (240, 242, 245))
        if eyes > 0.2:
            # the eyeball does not shrink with the opening: the lids cover the iris's top and bottom
            ball = img.copy()
            ix = ex + yaw * 4 + gaze * 10 * who.eye_size
            cv2.circle(ball, (int(ix), int(ey)), 9, who.iris_bgr, -1, cv2.LINE_AA)
            cv2.circle(ball, (int(ix), int(ey)), 4, (15, 15, 20), -1, cv2.LINE_AA)
            cv2.circle(ball, (int(ix + 3), int(ey - 3)), 2, (250, 250, 250), -1, cv2.LINE_AA)
            opening = np.zeros((H, W), np.float32)
            ell((ex, ey), (22 * who.eye_size, h), 1.0, on=opening)
            img += opening[..., None] * (ball - img)
        ell((ex, ey), (23 * who.eye_size, h + 1), (60, 60, 80), 2)                                   # lashes
    nose = np.array([[fx, fy - 10], [fx - 12 + yaw * 8, fy + 38], [fx + 12 + yaw * 8, fy + 38]], np.int32)
    cv2.polylines(img, [nose], False, tuple(float(v) * 0.75 for v in skin), 2, cv2.LINE_AA)
    ell((fx + yaw * 8, fy + 40), (15, 7), tuple(float(v) * 0.85 for v in skin))
    mo = 4 + 44 * mouth
    my = fy + 82 + who.mouth_drop + mo / 3
    ell((fx, my), (36, mo / 2 + 5), (85, 85, 175))                                  # lips
    if mouth > 0.05:
        ell((fx, my), (30, mo / 2), (45, 35, 70))                                   # cavity
        ell((fx, my - mo / 2 + 5), (24, 4), (235, 235, 235))                        # teeth
    else:
        cv2.line(img, (int(fx - 30), int(my)), (int(fx + 30), int(my)), (55, 50, 110), 2, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.1)
    rng = np.random.default_rng(seed)
    img += rng.normal(0, 2.5, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if size != 512:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    if width and width != size:
        # widen with the same background gradient continued sideways (no stretched edge columns)
        Wc = int(round(512 * width / size))
        ox = (Wc - 512) // 2
        yy, xx = np.mgrid[0:512, 0:Wc].astype(np.float32)
        xx -= ox
        wide = np.stack([140 + 50 * yy / 512, 150 + 25 * xx / 512, 110 + 30 * yy / 512], -1)
        wide += rng.normal(0, 2.5, wide.shape).astype(np.float32)
        wide = np.clip(wide, 0, 255).astype(np.uint8)
        full = cv2.resize(out, (512, 512), interpolation=cv2.INTER_CUBIC) if size != 512 else out
        if ox >= 0:
            wide[:, ox:ox + 512] = full
        else:
            wide = full[:, -ox:-ox + Wc].copy()
        out = cv2.resize(wide, (width, size), interpolation=cv2.INTER_AREA) if size != 512 else wide
    return out


def demo_motion(t: float) -> dict:
    """Built-in demo motion at time t seconds: talking, blinking and turning the head."""
    talk = max(0.0, np.sin(2 * np.pi * 1.7 * t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.23 * t) ** 2)
    # a 0.3 s blink every 3.85 s, as people blink: the lids drop in 0.08 s, stay shut 0.1 s (long
    # enough to shut them through the landmark smoothing) and rise in 0.13 s. Timed while the head
    # faces the camera (half the turn's period): MediaPipe reads a turned face's far eye, shut, as
    # half open, and the avatar would wink
    b = (t - 3.72) % 3.85
    eyes = 1.0 if t < 1.0 or b > 0.31 else float(np.clip(max(1.0 - b / 0.08, (b - 0.18) / 0.13), 0.0, 1.0))
    yaw = 0.6 * np.sin(2 * np.pi * 0.13 * t)
    pitch = 0.35 * np.sin(2 * np.pi * 0.09 * t + 1.0)
    return dict(mouth=float(talk), eyes=float(eyes), yaw=float(yaw), pitch=float(pitch))
