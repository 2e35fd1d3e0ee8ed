"""Test media for the provenance tests: made by realtime.provenance.media, encoded with real libx264."""
from realtime.provenance.media import decode, encode, luma, photo_clip, talking_clip, textured_clip  # noqa: F401


def test_encoder_meets_the_bitrate_the_tests_claim():
    """The robustness tests mean something only if libx264 really holds the low bitrates."""
    frames = talking_clip(60, size=(640, 360), seed=3)
    data = encode(frames, 300)
    kbps = len(data) * 8 / 2.0 / 1000
    assert kbps < 300 * 1.3, f"asked for 300 kbps, got {kbps:.0f}"
    assert len(decode(data)) == 60


def test_clips_are_what_they_claim():
    f = talking_clip(4, size=(640, 360), seed=1)
    assert len(f) == 4 and f[0].shape == (360, 640, 3) and f[0].dtype.name == "uint8"
    assert not (f[0] == f[1]).all()                                # per-frame sensor noise
    p = photo_clip("astronaut", 2, size=(320, 180))
    assert p[0].shape == (180, 320, 3) and p[0].std() > 20        # a real, busy photo
    assert luma(f[0]).shape == (360, 640)
