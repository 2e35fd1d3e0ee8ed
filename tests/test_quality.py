"""The eval's measures read what they claim to."""
import cv2

from realtime import synthetic_face as sf
from realtime.quality import detail, psnr


def test_detail_reads_a_blur_as_lost_detail_that_psnr_forgives():
    face = sf.render(size=256)
    shifted = face.copy()
    shifted[:, 2:] = face[:, :-2]                                         # sharp, 2 px off
    blended = cv2.addWeighted(face, 0.5, shifted, 0.5, 0)                 # a blend of the two
    blurred = cv2.GaussianBlur(face, (0, 0), 2.0)
    assert abs(detail(face, face) - 1.0) < 1e-6
    assert detail(blurred, face) < 0.8
    assert detail(shifted, face) > 0.95
    # against the truth the blend wins on PSNR and loses on detail: why the eval shows both
    assert psnr(blended, face) > psnr(shifted, face)
    assert detail(blended, face) < detail(shifted, face)
