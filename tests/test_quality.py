"""The eval's measures read what they claim to."""
import cv2
import numpy as np

from engines.implicit_warp import WarpConfig
from engines.predictor import TorchPredictor
from realtime import synthetic_face as sf
from realtime.avatar import avatar_from_arrays, norm_to_px
from realtime.quality import DRAWN_POINTS, detail, patch_offset, psnr
from realtime.retarget import Retargeter


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


def test_patch_offset_finds_a_known_sub_pixel_shift_of_the_texture():
    face = cv2.cvtColor(sf.render(who=sf.SAMPLE, size=256), cv2.COLOR_BGR2GRAY)
    shift = np.array([2.3, -1.6])
    moved = cv2.warpAffine(face, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (256, 256),
                           flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    xy = np.array([128.4, 120.7])                                          # the nose, off the grid
    found, score = patch_offset(face, xy, moved, xy, 12, 8)
    assert score > 0.9 and np.abs(found - shift).max() < 0.25, found
    found, _ = patch_offset(face, xy, moved, xy + shift, 12, 8)           # asked where it went
    assert np.abs(found).max() < 0.25, found
    assert patch_offset(face, (5.0, 100.0), moved, (5.0, 100.0), 12, 8) is None   # window off the frame


def test_drawn_motion_error_is_small_for_the_engine_and_the_whole_motion_for_a_frozen_face(tracker):
    """The eval's split of a lost correlation between drawing and reading rests on this: the nose tip
    the engine draws, found by its texture, is where a turned and nodding target asks, and a face left
    where it was reads as missing it by the whole motion."""
    S = 256
    avatar = avatar_from_arrays([("neutral", sf.render(who=sf.SAMPLE))], S, tracker)
    pred = TorchPredictor(WarpConfig(size=S, num_sources=1))
    pred.set_sources(*avatar.engine_inputs())
    rt = Retargeter(avatar.lmk_norm[0])
    rt.calibrate(tracker.detect(sf.render(who=sf.OTHER)))
    target = rt(tracker.detect(sf.render(who=sf.OTHER, yaw=0.25, pitch=0.15)))
    gray0 = cv2.cvtColor(avatar.crops_bgr[0], cv2.COLOR_BGR2GRAY)
    drawn = cv2.cvtColor(pred.render_bgr(target), cv2.COLOR_BGR2GRAY)
    asked0, asked = norm_to_px(avatar.lmk_norm[0], S), norm_to_px(target, S)
    iod = np.linalg.norm(asked0[33] - asked0[263])
    moved, err, frozen = [], [], []
    for p in DRAWN_POINTS:
        r, s = int(0.12 * iod), int(0.3 * iod)
        found, score = patch_offset(gray0, asked0[p], drawn, asked[p], r, s)
        assert score > 0.8, (p, score)
        err.append(np.linalg.norm(found) / iod)
        frozen.append(np.linalg.norm(patch_offset(gray0, asked0[p], gray0, asked[p], r, s)[0]) / iod)
        moved.append(np.linalg.norm(asked[p] - asked0[p]) / iod)
    assert min(moved) > 0.05, moved                    # the target really moves it
    assert max(err) < 0.03, err                        # ...and the engine draws it there
    assert min(frozen) > 0.6 * min(moved), frozen      # a face left where it was reads as missing it
