"""A face that is small in its photo (a half- or full-figure shot) is found, where it is, and counted."""
import cv2
import numpy as np
import pytest

import run
from realtime import synthetic_face as sf
from realtime.avatar import detect_single_face
from realtime.errors import InputError
from tests.media import label_visible, read_frames, write_clip, write_png

FACE = 512      # sf.render's picture; the painted face is about half of it


def full_figure(shape, faces):
    """A plain photo of `shape` (h, w) with the sample face pasted at each (x, y, side)."""
    img = np.full(tuple(shape) + (3,), (90, 110, 130), np.uint8)
    for x, y, side in faces:
        img[y:y + side, x:x + side] = cv2.resize(sf.render(who=sf.SAMPLE), (side, side), interpolation=cv2.INTER_AREA)
    return img


def test_a_face_a_tenth_of_the_photo_is_found_where_it_is(tracker):
    """The face spans 5-8 % of the photo's height: MediaPipe's detector, looking at the whole photo,
    finds nothing there. The landmarks must land on the face, as they do on the face alone."""
    alone = tracker.detect(sf.render(who=sf.SAMPLE))
    for side, shape, (x, y) in ((300, (2400, 1600), (500, 350)), (240, (1800, 1350), (900, 200))):
        photo = full_figure(shape, [(x, y, side)])
        assert not tracker.detect_all(photo), "the whole-photo detector found it: the test shows nothing"
        lmk = detect_single_face("figure.png", photo, tracker)
        expected = alone[:, :2] * side / FACE + (x, y)
        err = np.linalg.norm(lmk[:, :2] - expected, axis=1).mean()
        assert err < 0.03 * side, f"landmarks {err:.1f} px off a {side} px face"


def test_two_small_people_in_one_photo_are_two_faces(tracker):
    photo = full_figure((2400, 1600), [(200, 300, 300), (1000, 320, 300)])
    with pytest.raises(InputError, match="2 faces found"):
        detect_single_face("pair.png", photo, tracker)


@pytest.mark.parametrize("shape", [(750, 1000), (1050, 1400)])
def test_a_second_person_a_little_further_back_is_counted(shape, tracker):
    """One face big enough for the whole-photo detector and a second at 0.6 of its size beside it:
    the search stopped at the first size that found a face and animated one of two people."""
    photo = full_figure(shape, [(100, 100, 256)])
    other = cv2.resize(sf.render(who=sf.OTHER, size=256), (154, 154), interpolation=cv2.INTER_AREA)
    photo[100:254, shape[1] - 254:shape[1] - 100] = other
    assert len(tracker.detect_all(photo)) < 2, "the whole-photo detector found both: the test shows nothing"
    with pytest.raises(InputError, match="2 faces found"):
        detect_single_face("pair.png", photo, tracker)


def test_a_much_smaller_face_in_the_background_is_not_a_second_person(tracker):
    """A passer-by or a picture on the wall a quarter of the subject's size: the photo still shows
    one person clearly, and that person is the avatar."""
    photo = full_figure((750, 1000), [(100, 100, 256)])
    small = cv2.resize(sf.render(who=sf.OTHER, size=256), (64, 64), interpolation=cv2.INTER_AREA)
    photo[400:464, 800:864] = small
    lmk = detect_single_face("subject.png", photo, tracker)
    assert 100 < lmk[:, 0].mean() < 356 and 100 < lmk[:, 1].mean() < 356


def test_a_large_photo_with_no_face_still_says_so(tracker):
    with pytest.raises(InputError, match="no face found"):
        detect_single_face("wall.png", full_figure((1600, 1200), []), tracker)


def test_a_full_figure_photo_animates_in_its_own_frame(tmp_path):
    src = write_png(tmp_path / "figure.png", full_figure((1800, 1200), [(450, 250, 300)]))
    drive = write_clip(tmp_path / "drive.mp4", [dict(mouth=m) for m in (0.0, 0.8, 0.2, 0.9)], fps=25.0)
    out = tmp_path / "out.mp4"
    assert run.main(["animate", "--source", src, "--driving", drive, "--output", str(out),
                     "--size", "256", "--backend", "torch", "--consent", "self"]) == 0
    frames, _ = read_frames(out)
    assert len(frames) == 4 and frames[0].shape == (1800, 1200, 3)
    assert all(label_visible(f) for f in frames)
