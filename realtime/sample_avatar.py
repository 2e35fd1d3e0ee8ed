"""The built-in sample avatar: a painted face that depicts no real person, so it needs no consent.

Four images make a small set (neutral, mouth open, eyes closed, head turned), drawn on demand.
"""
from . import synthetic_face as sf

SAMPLE_NAME = "sample (built-in painted face, no real person)"


def sample_images(count: int = 4, size: int = 512):
    shots = [("sample-neutral", dict()), ("sample-mouth-open", dict(mouth=0.9)),
             ("sample-eyes-closed", dict(eyes=0.0)), ("sample-head-right", dict(yaw=0.8))]
    return [(name, sf.render(size=size, who=sf.SAMPLE, seed=i, width=size * 16 // 9 if i == 0 else None, **kw))
            for i, (name, kw) in enumerate(shots[:count])]
