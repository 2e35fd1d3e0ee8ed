"""The live output frames the avatar's photo as a webcam frames its user: a full-figure photo is cut
around the face, clear of the AI-GENERATED label; a portrait that is already framed stays whole."""
import cv2
import numpy as np

from engines import topology as topo
from realtime import synthetic_face as sf
from realtime.avatar import avatar_from_arrays
from realtime.live.live_avatar import make_live_avatar
from realtime.provenance.label import VisibleLabel
from realtime.sample_avatar import sample_images

W, H = 1280, 720


def _face_box(image):
    oval = image.lmk_px[topo.FACE_OVAL, :2]
    return (*oval.min(0), *oval.max(0))


def _overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_a_full_figure_photo_is_framed_around_the_face_clear_of_the_label(tracker):
    photo = np.full((1500, 1100, 3), (90, 110, 130), np.uint8)        # a seated figure, the face small and high
    photo[120:420, 400:700] = cv2.resize(sf.render(who=sf.SAMPLE), (300, 300), interpolation=cv2.INTER_AREA)
    image = avatar_from_arrays([("figure", photo)], 256, tracker).images[0]
    base = make_live_avatar("figure", [image], (), W, H, needs_consent=False).images[0]
    x0, y0, x1, y1 = _face_box(base)
    assert y1 - y0 > 0.3 * H, f"the face is {y1 - y0:.0f} px of a {H} px frame"
    assert not _overlap((x0, y0, x1, y1), VisibleLabel(W, H, locale="en").rect), "the label covers the face"
    assert abs((x0 + x1) / 2 - W / 2) < 0.05 * W
    # the pixels moved with the landmarks: the face's own middle is where they say
    ys, xs = np.nonzero(cv2.absdiff(base.image_bgr, np.array((90, 110, 130), np.uint8)).max(2) > 40)
    assert abs(xs.mean() - (x0 + x1) / 2) < 0.05 * W


def test_a_portrait_already_framed_stays_whole(tracker):
    image = avatar_from_arrays(sample_images(1), 256, tracker).images[0]
    h, w = image.image_bgr.shape[:2]
    assert abs(w / h - 16 / 9) < 0.01                                           # the sample is 16:9 already
    base = make_live_avatar("sample", [image], (), W, H, needs_consent=False).images[0]
    whole = cv2.resize(image.image_bgr, (W, H), interpolation=cv2.INTER_CUBIC)
    assert np.abs(base.image_bgr.astype(int) - whole.astype(int)).mean() < 3
