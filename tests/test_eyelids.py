"""A blink hides the white of the eye even when the photo's lid landmarks sit inside the opening."""
import cv2
import numpy as np
import pytest

from engines import topology as topo
from engines.implicit_warp import WarpConfig
from engines.predictor import TorchPredictor
from realtime import synthetic_face as sf
from realtime.avatar import avatar_from_arrays, norm_to_px
from realtime.eyelids import fit_lids_to_eyeball
from realtime.tracking import FaceTracker

S = 256
UP, LO = np.array(topo.LID_PAIRS).T


@pytest.fixture(scope="module")
def avatar():
    t = FaceTracker(static=True, max_faces=2)
    yield avatar_from_arrays([("neutral", sf.render(who=sf.SAMPLE))], S, t)
    t.close()


def lids_inside(lmk, share=0.3):
    """Lid points pulled into the opening, as MediaPipe puts them on wide or sideways eyes."""
    gap = lmk[LO, 1] - lmk[UP, 1]
    out = lmk.copy()
    out[UP, 1] += share * gap
    out[LO, 1] -= share * gap
    return out


def white_pixels(img, lmk):
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    sat = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[:, :, 1]
    px = norm_to_px(lmk, S)
    n = 0
    for eye in (topo.RIGHT_EYE, topo.LEFT_EYE):
        (x0, y0), (x1, y1) = px[eye].min(0).astype(int) - 4, px[eye].max(0).astype(int) + 4
        n += int(((gray[y0:y1, x0:x1] > 200) & (sat[y0:y1, x0:x1] < 40)).sum())
    return n


def test_lid_points_inside_the_white_move_out_to_its_edge_and_good_ones_stay(avatar):
    crop, lmk = avatar.crops_bgr[0], avatar.lmk_norm[0]
    assert np.abs(fit_lids_to_eyeball(crop, lmk) - lmk).max() * S / 2 < 0.5     # already on the edge
    inside = lids_inside(lmk)
    fit = fit_lids_to_eyeball(crop, inside)
    pulled = 0.3 * (lmk[LO, 1] - lmk[UP, 1]) * S / 2                            # pixels per point
    assert np.all(inside[UP, 1] - fit[UP, 1] >= 0)
    assert np.all(fit[LO, 1] - inside[LO, 1] >= 0)
    moved = np.concatenate([inside[UP, 1] - fit[UP, 1], fit[LO, 1] - inside[LO, 1]]) * S / 2
    assert np.abs(moved - np.concatenate([pulled, pulled])).max() < 1.6
    others = np.setdiff1d(np.arange(topo.NUM_LANDMARKS), np.concatenate([UP, LO]))
    assert np.array_equal(fit[others], inside[others])


def test_a_closed_eye_shows_no_white_when_the_lid_points_sat_inside_it(avatar):
    rgb, _ = avatar.engine_inputs()
    open_white = white_pixels(avatar.crops_bgr[0], avatar.lmk_norm[0])
    shown = {}
    for name, src in (("as found", lids_inside(avatar.lmk_norm[0])),
                      ("fitted", fit_lids_to_eyeball(avatar.crops_bgr[0], lids_inside(avatar.lmk_norm[0])))):
        pred = TorchPredictor(WarpConfig(size=S, num_sources=1))
        pred.set_sources(rgb, src[None])
        shut = src.copy()                                   # the driver shut both eyes
        mid = (shut[UP, 1] + shut[LO, 1]) / 2
        shut[UP, 1], shut[LO, 1] = mid, mid + 1e-3
        shown[name] = white_pixels(pred.render_bgr(shut), src)
    assert shown["fitted"] < 0.2 * open_white, shown
    # without the fit the white between the real lid and its landmarks stays in view
    assert shown["as found"] > 2 * shown["fitted"], shown
