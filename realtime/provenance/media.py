"""Media for measuring the watermark: talking-face and photo clips made here, real encoders.

Used by the provenance tests and by `python -m realtime.provenance.bench`. Rendering a 720p
synthetic face costs ~60 ms, so a clip renders a few distinct poses and makes the other frames from
them with per-frame sensor noise and a small drift (what a webcam delivers).
"""
import io
from fractions import Fraction

import av
import cv2
import numpy as np

from .. import synthetic_face as sf


def talking_clip(n: int, size=(1280, 720), fps: float = 30, seed: int = 0, poses: int = 8,
                 noise: float = 2.0, who=sf.SAMPLE) -> list:
    """n BGR frames of a talking synthetic face."""
    w, h = size
    rng = np.random.default_rng(seed)
    keys = [sf.render(**sf.demo_motion((seed * 7.3 + i * 0.37) % 30), size=h, width=w, seed=seed * 100 + i, who=who)
            for i in range(poses)]
    bank = [rng.normal(0, noise, (h, w, 3)).astype(np.float32) for _ in range(3)]
    out = []
    for i in range(n):
        f = keys[(i // 3) % poses].astype(np.float32)
        dx, dy = int(3 * np.sin(i / 9 + seed)), int(2 * np.cos(i / 13 + seed))
        f = np.roll(f, (dy, dx), axis=(0, 1))
        nz = np.roll(bank[i % 3], (rng.integers(h), rng.integers(w)), axis=(0, 1))
        out.append(np.clip(f + nz, 0, 255).astype(np.uint8))
    return out


def textured_clip(n: int, size=(1280, 720), seed: int = 0) -> list:
    """n frames of moving natural-looking texture (1/f noise), for busy backgrounds and null tests."""
    w, h = size
    rng = np.random.default_rng(seed)
    base_h, base_w = h + 64, w + 64
    spec = np.fft.rfft2(rng.normal(size=(base_h, base_w)))
    fy = np.fft.fftfreq(base_h)[:, None]
    fx = np.fft.rfftfreq(base_w)[None, :]
    img = np.fft.irfft2(spec / np.maximum(np.hypot(fx, fy), 1.0 / base_w), s=(base_h, base_w))
    img = (img - img.mean()) / img.std() * 40 + 120
    tint = rng.uniform(0.8, 1.2, 3)
    out = []
    for i in range(n):
        y0, x0 = int(32 + 20 * np.sin(i / 15)), int(32 + 20 * np.cos(i / 11))
        f = img[y0:y0 + h, x0:x0 + w, None] * tint + rng.normal(0, 1.5, (h, w, 1))
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def photo_clip(name: str, n: int, size=(1280, 720), seed: int = 0) -> list:
    """n frames panning slowly over a real photo that ships with scikit-image (astronaut, coffee...)."""
    import skimage.data
    im = getattr(skimage.data, name)()
    if im.ndim == 2:
        im = np.stack([im] * 3, -1)
    im = cv2.cvtColor(im, cv2.COLOR_RGB2BGR)
    w, h = size
    s = max((w + 48) / im.shape[1], (h + 48) / im.shape[0])
    im = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        y0, x0 = int(24 + 20 * np.sin(i / 15)), int(24 + 20 * np.cos(i / 11))
        f = im[y0:y0 + h, x0:x0 + w] + rng.normal(0, 2, (h, w, 1))
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def encode(frames, kbps: float, size=None, fps: float = 30, path=None, codec: str = "libx264"):
    """Encode BGR frames at a target bitrate (optionally resized); returns bytes, or writes path."""
    h, w = frames[0].shape[:2]
    if size:
        w, h = size
    target = path if path is not None else io.BytesIO()
    fmt = "webm" if codec == "libvpx" else "mp4"
    with av.open(target, "w", format=fmt) as c:
        s = c.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.bit_rate = int(kbps * 1000)
        if codec == "libx264":
            s.options = {"preset": "veryfast"}
        for f in frames:
            if size:
                f = cv2.resize(f, size, interpolation=cv2.INTER_AREA)
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return None if path is not None else target.getvalue()


def decode(data_or_path) -> list:
    """All frames of an encoded video as BGR arrays."""
    src = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    with av.open(src) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def luma(frame_bgr):
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
