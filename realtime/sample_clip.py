"""A built-in clip for parity and speed checks (`doctor`, tests): real engine inputs with no files.

The painted sample face is rendered with different expressions as the avatar set and tracked by
MediaPipe like a user's photos; the driving frames are the same face talking, blinking and turning
(the demo motion), tracked the same way and mapped into the avatar's crop. Deterministic.
"""
from dataclasses import dataclass

import numpy as np

from . import geometry, synthetic_face
from .avatar import avatar_from_arrays, px_to_norm

# expressions of the avatar set's images: neutral base first, then open mouth, closed eyes, turned
_SOURCE_POSES = (dict(), dict(mouth=0.8), dict(eyes=0.1, yaw=-0.3), dict(mouth=0.4, yaw=0.35),
                 dict(pitch=0.3), dict(mouth=0.6, eyes=0.5), dict(yaw=-0.5), dict(mouth=1.0, pitch=-0.2))


@dataclass
class SampleClip:
    rgb_kchw: np.ndarray      # K x 3 x S x S float32 RGB in [0, 1]
    lmk_kn2: np.ndarray       # K x 478 x 2 normalised crop coordinates
    targets: list             # per frame: 478 x 2 float32 normalised crop coordinates


def make_sample_clip(size: int = 512, num_sources: int = 4, frames: int = 8, tracker=None) -> SampleClip:
    if not 1 <= num_sources <= len(_SOURCE_POSES):
        raise ValueError(f"expected 1 to {len(_SOURCE_POSES)} sources, got {num_sources}")
    from .tracking import FaceTracker
    own = tracker is None
    tracker = tracker or FaceTracker(static=True, max_faces=2)
    try:
        images = [(f"sample-{i}", synthetic_face.render(seed=i, **pose))
                  for i, pose in enumerate(_SOURCE_POSES[:num_sources])]
        avatar = avatar_from_arrays(images, size, tracker)
        targets = []
        for i in range(frames):
            t = 0.37 + i * 0.41                 # spread over talking, blinking and turning
            lmk_px = tracker.detect(synthetic_face.render(seed=100 + i, **synthetic_face.demo_motion(t)))
            if lmk_px is None:
                continue
            crop_px = geometry.apply(avatar.base_to_crop, lmk_px)
            targets.append(px_to_norm(crop_px, size).astype(np.float32))
    finally:
        if own:
            tracker.close()
    if not targets:
        raise RuntimeError("the face tracker found no face in the built-in clip")
    rgb, lmk = avatar.engine_inputs()
    return SampleClip(rgb, lmk, targets)
