"""Motion transfer: the driver's change of expression and head pose lands on the avatar's own face."""
import cv2
import numpy as np
import pytest

from engines import topology as topo
from realtime import face_mesh
from realtime.retarget import RetargetConfig, Retargeter
from tests.media import head_turned, sample_mesh


def face_cloud():
    """A driver's neutral face in pixels (478 x 2), lids and lips in order."""
    rng = np.random.default_rng(3)
    u = rng.uniform(-1.2, 1.2, 478)
    v = rng.uniform(-1.4, 1.4, 478)
    for up, lo in topo.LID_PAIRS + topo.LIP_PAIRS:     # upper lids and lips above the lower ones
        if v[up] > v[lo]:
            v[up], v[lo] = v[lo], v[up]
    return np.stack([320 + 80 * u, 240 + 90 * v], 1)


def avatar_of(ref_px, angle_deg=0.0, scale=1 / 200.0):
    """Another face: the driver's shape rotated, scaled and moved into normalised crop coordinates
    with a different mouth width (its own shape must survive the transfer)."""
    a = np.radians(angle_deg)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = (ref_px - ref_px.mean(0)) @ R.T * scale + np.array([0.02, -0.05])
    out[61, 0] -= 0.05
    out[291, 0] += 0.05
    return out


def moved(ref, idx, dx=0.0, dy=0.0):
    cur = ref.copy()
    cur[idx, 0] += dx
    cur[idx, 1] += dy
    return cur


def test_expression_moves_only_what_the_driver_moved_scaled_to_the_avatar():
    ref = face_cloud()
    avatar = avatar_of(ref)
    rt = Retargeter(avatar)
    rt.calibrate(ref)
    still = rt(ref)
    assert np.abs(still - avatar).max() < 1e-5              # neutral driver -> the avatar's own face
    drop = rt(moved(ref, [14, 17], dy=20.0))                 # the driver's lower lip drops 20 px
    assert np.allclose(drop[[14, 17], 1] - still[[14, 17], 1], 20.0 / 200.0, atol=1e-4)
    # the chin's skin, between the lip's edge (17) and the jaw, follows the lip part of the way
    chin = rt._chin.pts
    others = np.setdiff1d(np.arange(478), np.concatenate([[14, 17], chin]))
    assert np.abs(drop[others] - still[others]).max() < 1e-5
    if len(chin):
        follow = drop[chin, 1] - still[chin, 1]
        assert np.all(follow >= -1e-6) and np.all(follow <= 0.1 + 1e-6)
    half = Retargeter(avatar, RetargetConfig(expression=0.5))
    half.calibrate(ref)
    assert np.allclose(half(moved(ref, [14, 17], dy=20.0))[[14, 17], 1] - still[[14, 17], 1], 0.05, atol=1e-4)


def test_head_motion_follows_the_driver_and_can_be_switched_off():
    ref = face_cloud()
    avatar = avatar_of(ref)
    c = ref.mean(0)
    a = np.radians(8)
    tilt = (ref - c) @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]).T + c
    rt = Retargeter(avatar)
    rt.calibrate(ref)
    got = rt(tilt)
    # the avatar tilts by the same 8 degrees about its own centre
    g, av = got - got.mean(0), avatar - avatar.mean(0)
    ang = np.degrees(np.arctan2((av[:, 0] * g[:, 1] - av[:, 1] * g[:, 0]).sum(), (av * g).sum()))
    assert abs(ang - 8) < 0.1
    off = Retargeter(avatar, RetargetConfig(head_motion=False))
    off.calibrate(ref)
    assert np.abs(off(tilt) - avatar).max() < 1e-4


def test_lids_never_cross():
    ref = face_cloud()
    rt = Retargeter(avatar_of(ref))
    rt.calibrate(ref)
    up, lo = topo.LID_PAIRS[3]
    out = rt(moved(ref, [up], dy=200.0))                    # a tracking glitch: the upper lid far below
    assert out[up, 1] <= out[lo, 1]


def test_a_blink_closes_the_avatars_eyes_by_the_drivers_fraction_whatever_their_size():
    ref = face_cloud()
    ref[263] = ref[33] + [150.0, 0.0]                       # an upright driver
    for up, lo in topo.LID_PAIRS:                           # lids 10 px apart
        ref[lo, 1] = ref[up, 1] + 10.0
    avatar = avatar_of(ref)
    ups = [u for u, _ in topo.LID_PAIRS]
    los = [lo for _, lo in topo.LID_PAIRS]
    avatar[ups, 1] -= 0.05                                  # a wide-eyed avatar: twice the driver's opening

    def gaps(lmk):
        return lmk[los, 1] - lmk[ups, 1]

    def blink(fraction):                                    # the upper lids come down
        cur = ref.copy()
        cur[ups, 1] = ref[los, 1] - 10.0 * fraction
        return cur

    for strength in (1.0, 0.5):
        rt = Retargeter(avatar, RetargetConfig(expression=strength))
        rt.calibrate(ref)
        assert np.allclose(gaps(rt(ref)), 0.1, atol=1e-5)              # neutral: its own eyes
        # a full blink shuts them (adding the driver's 10 px of lid travel left half of them open),
        # and so does a blink that the tracker reads as 15 % open (lashes, lid thickness)
        for shut in (0.0, 0.15):
            assert np.allclose(gaps(rt(blink(shut))), 0.1 * (1 - strength), atol=1e-4)
        # a half blink closes about half of the avatar's opening, whatever its size
        half = gaps(rt(blink(0.5))) / 0.1
        assert np.all(np.abs(half - (1 - 0.55 * strength)) < 0.1 * strength), half
        # and opening wider than the neutral frame opens them wider
        assert np.all(gaps(rt(blink(1.2))) > 0.1 * (1 + 0.15 * strength))


def test_eyes_read_a_little_apart_open_together_and_a_wink_stays_a_wink():
    """MediaPipe reads a turned head's two eyes up to a third apart (the far one narrower); the
    avatar opens both by the same fraction then, weighted towards the eye seen wider. A wink (one
    eye shut, the other open) is still a wink."""
    ref = face_cloud()
    ref[263] = ref[33] + [150.0, 0.0]
    ref[133], ref[362] = ref[33] + [40.0, 0.0], ref[263] - [40.0, 0.0]   # eyes 40 px wide
    for up, lo in topo.LID_PAIRS:
        ref[lo, 1] = ref[up, 1] + 10.0
    right = [u for u, _ in topo.LID_PAIRS[:len(topo.LID_PAIRS) // 2]]
    left = [u for u, _ in topo.LID_PAIRS[len(topo.LID_PAIRS) // 2:]]
    avatar = avatar_of(ref)
    rt = Retargeter(avatar)
    rt.calibrate(ref)
    ups = [u for u, _ in topo.LID_PAIRS]
    los = [lo for _, lo in topo.LID_PAIRS]
    own = (avatar[los, 1] - avatar[ups, 1]).mean()

    def opening(out, eye):
        return np.mean([out[lo, 1] - out[up, 1] for up, lo in topo.LID_PAIRS if up in eye]) / own

    apart = ref.copy()
    apart[right, 1] = ref[[lo for up, lo in topo.LID_PAIRS if up in right], 1] - 11.0   # 1.1 of its neutral
    apart[left, 1] = ref[[lo for up, lo in topo.LID_PAIRS if up in left], 1] - 8.0      # 0.8 of its neutral
    out = rt(apart)
    assert abs(opening(out, right) - opening(out, left)) < 0.02, (opening(out, right), opening(out, left))
    assert 0.9 < opening(out, right) < 1.0                   # between the two, as wide as both eyes are
    nearer = apart.copy()
    nearer[362] = nearer[263] - [20.0, 0.0]                  # the left eye seen half as wide (turned away)
    assert opening(rt(nearer), right) > opening(out, right)  # the right eye, seen better, counts more
    wink = ref.copy()
    wink[left, 1] = ref[[lo for up, lo in topo.LID_PAIRS if up in left], 1]              # the left eye shut
    out = rt(wink)
    assert opening(out, left) < 0.05 and opening(out, right) > 0.95, (opening(out, left), opening(out, right))


def test_the_chin_never_folds_over_the_lower_lip():
    """A driver whose lower lip drops far more than their chin, on an avatar with a short chin: adding
    the motion point by point would put the skin under the lip above the lip's edge (the warp then
    draws it inside the lip); it stays spread between lip and jaw, in its own order."""
    ref = face_cloud()
    xs = np.linspace(250, 390, len(topo.LOWER_LIP_OUTER))
    ref[topo.LOWER_LIP_OUTER] = np.stack([xs, 300 + 0 * xs], 1)           # a lip edge at y 300
    ref[topo.JAW_LOWER] = np.stack([np.linspace(200, 440, len(topo.JAW_LOWER)), np.full(len(topo.JAW_LOWER), 380.0)], 1)
    between = [18, 200, 199]
    ref[between] = [[320, 310], [320, 330], [320, 350]]                    # the chin, top to bottom
    avatar = avatar_of(ref)
    rt = Retargeter(avatar)
    assert set(between) <= set(rt._chin.pts)
    rt.calibrate(ref)
    cur = ref.copy()
    cur[topo.LOWER_LIP_OUTER, 1] += 60.0                                    # the lip drops 60 px
    cur[topo.JAW_LOWER, 1] += 25.0                                          # the jaw 25
    out = rt(cur)
    column = [out[17, 1]] + [out[i, 1] for i in between]
    assert np.all(np.diff(column) > 0), column                              # still in order
    assert out[199, 1] < out[152, 1]


def test_a_blink_in_the_calibration_frame_does_not_leave_the_avatar_staring():
    """The neutral face is the first frame with a face (or the one the user calibrates on); when that
    frame caught a blink, the driver's usual opening takes over within a few seconds, and a later
    blink still shuts the avatar's eyes."""
    ref = face_cloud()
    ref[263] = ref[33] + [150.0, 0.0]
    for up, lo in topo.LID_PAIRS:
        ref[lo, 1] = ref[up, 1] + 10.0
    ups = [u for u, _ in topo.LID_PAIRS]
    los = [lo for _, lo in topo.LID_PAIRS]
    avatar = avatar_of(ref)
    own = avatar[los, 1] - avatar[ups, 1]
    blinking = ref.copy()
    blinking[ups, 1] = ref[los, 1] - 2.0                     # calibrated with the lids 20 % open
    rt = Retargeter(avatar)
    rt.calibrate(blinking)
    first = rt(ref)
    assert np.all(first[los, 1] - first[ups, 1] > 1.4 * own)   # wide-eyed at first ...
    for _ in range(90):                                      # ... three seconds of open eyes later
        out = rt(ref)
    assert np.allclose(out[los, 1] - out[ups, 1], own / 0.9, rtol=0.02)
    shut = rt(blinking)
    assert np.all(shut[los, 1] - shut[ups, 1] < 0.1 * own)


def brow_face(brow_gap):
    """face_cloud with both eyes laid out: an upper lid arching 8 px over its corners, the brow's lower edge
    `brow_gap` px over the corners and its upper edge 10 px higher."""
    ref = face_cloud()
    for lid, under, lower, upper, x0 in ((topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_BROW_LOWER, topo.RIGHT_BROW_UPPER, 240),
                                         (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_BROW_LOWER, topo.LEFT_BROW_UPPER, 340)):
        xs = np.linspace(x0, x0 + 60, len(lid))
        arch = 8 * np.sin(np.linspace(0, np.pi, len(lid)))
        ref[lid] = np.stack([xs, 200 - arch], 1)
        ref[under] = np.stack([xs, 200 + arch / 2], 1)
        bx = np.linspace(x0 - 5, x0 + 65, len(lower))
        ref[lower] = np.stack([bx, np.full(len(lower), 200.0 - brow_gap)], 1)
        ref[upper] = np.stack([bx, np.full(len(upper), 190.0 - brow_gap)], 1)
    return ref


def test_a_frown_never_puts_the_brow_on_the_lid_of_an_avatar_whose_brows_sit_low():
    """The driver's brows sit 32 px over the top of their lids, the avatar's (the far eye of a turned
    head, a painting's faint brow) 12: the driver's frown, brows down by 24 px, added point by point
    would put the avatar's brow on its lid (the warp then reads brow skin into the eye). The avatar
    frowns by the same share of its own brow-to-lid gap; a raised brow rises by that share too."""
    ref = brow_face(40.0)
    avatar = avatar_of(brow_face(20.0))
    rt = Retargeter(avatar)
    rt.calibrate(ref)
    brows = topo.RIGHT_BROW_LOWER + topo.LEFT_BROW_LOWER
    lids = topo.RIGHT_EYE_UPPER + topo.LEFT_EYE_UPPER
    lid_top = avatar[lids, 1].min()
    gap = lid_top - avatar[brows, 1].mean()                                # 12 px, in avatar units

    def brow_gap_left(out):
        return out[lids, 1].min() - out[brows, 1].max()

    frown = rt(moved(ref, brows + topo.RIGHT_BROW_UPPER + topo.LEFT_BROW_UPPER, dy=24.0))
    assert 0.15 * gap < brow_gap_left(frown) < 0.35 * gap                  # 8/32 of its gap left, as the driver's
    assert np.abs(frown[lids] - avatar[lids]).max() < 1e-6                 # the lids stay
    raised = rt(moved(ref, brows + topo.RIGHT_BROW_UPPER + topo.LEFT_BROW_UPPER, dy=-16.0))
    assert 1.35 * gap < brow_gap_left(raised) < 1.65 * gap                 # up by 16/32 of its gap
    # an avatar with the driver's own proportions frowns exactly as the driver does
    same = Retargeter(avatar_of(ref))
    same.calibrate(ref)
    out = same(moved(ref, brows, dy=24.0))
    assert np.allclose(out[brows, 1] - avatar_of(ref)[brows, 1], 24.0 / 200.0, atol=1e-4)


def mouth_face():
    """A driver's neutral face with a level mouth: midline at x 320, corners 40 px either side."""
    ref = face_cloud()
    ref[[0, 13, 14, 17], 0] = 320.0
    ref[[0, 13, 14, 17], 1] = [290.0, 300.0, 305.0, 315.0]
    ref[61] = [280.0, 302.0]
    ref[291] = [360.0, 302.0]
    return ref


def turned(avatar, far_share):
    """The avatar seen turned to its right: everything left of the mouth's midline foreshortened."""
    out = avatar.copy()
    mid = avatar[[0, 13, 14, 17], 0].mean()
    left = out[:, 0] < mid
    out[left, 0] = mid - (mid - out[left, 0]) * far_share
    return out


def test_a_turned_avatar_shows_sideways_motion_foreshortened_on_its_far_side():
    """A mouth pulled aside on a photo turned three-quarters: the far half of the mouth is narrow in
    the picture, and moved as far as the near half it slides off the cheek into the background. The
    far side moves by about how much the photo narrows it; the near side and all up-down motion as
    the driver; a frontal avatar moves both sides alike."""
    ref = mouth_face()
    lips = sorted(set(topo.LIPS_INNER + topo.LIPS_OUTER))
    pulled = moved(ref, lips, dx=-12.0)                                     # the mouth pulled 12 px left
    dropped = moved(ref, [14, 17], dy=20.0)
    frontal, side = Retargeter(avatar_of(ref)), Retargeter(turned(avatar_of(ref), 0.4))
    for rt in (frontal, side):
        rt.calibrate(ref)
    full = 12.0 / 200.0
    f_still, s_still = frontal(ref), side(ref)
    f_pull, s_pull = frontal(pulled) - f_still, side(pulled) - s_still
    assert np.allclose(f_pull[[61, 291], 0], -full, atol=1e-4)              # frontal: both corners in full
    # the turned face is narrower, so its scale from the driver is smaller: up-down motion shows it
    s_drop = side(dropped)[[14, 17], 1] - s_still[[14, 17], 1]
    assert np.allclose(s_drop, s_drop[0]) and 0.8 < s_drop[0] / (20.0 / 200.0) < 1.0
    full = 12.0 * s_drop[0] / 20.0
    assert np.isclose(s_pull[291, 0], -full, atol=1e-4)                     # near corner in full
    far = s_pull[61, 0] / -full
    assert 0.3 < far < 0.5, far                                             # far corner by the photo's share


def test_the_drivers_head_turn_is_not_foreshortened_with_the_face():
    """Foreshortening is for what the face does on its surface: the driver turning their head
    (sideways motion in proportion to depth, MediaPipe's z) reaches the turned avatar's far side as
    it reaches a frontal one, while a mouth pulled aside in the same frame is still foreshortened."""
    ref2 = mouth_face()
    depth = np.random.default_rng(5).uniform(-60.0, 60.0, len(ref2))
    depth[[61, 291]] = 50.0                                                 # the corners sit back
    ref = np.column_stack([ref2, depth])
    turning = ref.copy()
    turning[:, 0] += 0.15 * depth                                           # the head turns a little
    lips = sorted(set(topo.LIPS_INNER + topo.LIPS_OUTER))
    also_pulled = turning.copy()
    also_pulled[lips, 0] -= 12.0
    frontal, side = Retargeter(avatar_of(ref2)), Retargeter(turned(avatar_of(ref2), 0.4))
    for rt in (frontal, side):
        rt.calibrate(ref)
    dropped = ref.copy()
    dropped[14, 1] += 20.0
    scale = (side(dropped)[14, 1] - side(ref)[14, 1]) / (frontal(dropped)[14, 1] - frontal(ref)[14, 1])
    f_turn, s_turn = frontal(turning) - frontal(ref), side(turning) - side(ref)
    assert np.abs(f_turn[61, 0]) > 0.005
    assert np.allclose(s_turn[[61, 291], 0], scale * f_turn[[61, 291], 0], rtol=0.02, atol=1e-5)
    pull = (side(also_pulled) - side(turning))[61, 0] / (frontal(also_pulled) - frontal(turning))[61, 0] / scale
    assert 0.3 < pull < 0.5, pull


def test_a_yawn_folds_the_avatars_face_nowhere_the_drivers_does_not():
    """A real face mesh (MediaPipe's, on the built-in sample face) yawning: the jaw swings down, the
    lower lip twice as far as the chin. The chin's skin is spread between lip and jaw under the lip;
    beyond the mouth's corners, where the jaw runs down more than across, the lower cheek must stay
    above the jaw's angle (it was put below it: a fold at each side of the jaw, seen on a painting)."""
    ref = sample_mesh()
    corners = (ref[61, 1] + ref[291, 1]) / 2
    chin = ref[topo.CHIN, 1]
    swing = np.clip((ref[:, 1] - corners) / (chin - corners), 0.0, 1.0)
    cur = ref.copy()
    cur[:, 1] += 0.25 * (chin - corners) * swing                    # the jaw swings down ...
    cur[topo.LIPS_INNER_LOWER + topo.LOWER_LIP_OUTER, 1] += 0.25 * (chin - corners)   # ... the lip twice as far
    tris = face_mesh.triangles()
    drv = np.sign(face_mesh.signed_areas(cur, tris)) == np.sign(face_mesh.signed_areas(ref, tris))
    avatar = avatar_of(ref)
    rt = Retargeter(avatar, RetargetConfig(head_motion=False))
    rt.calibrate(ref)
    out = rt(cur)
    kept = np.sign(face_mesh.signed_areas(out, tris)) == np.sign(face_mesh.signed_areas(avatar, tris))
    folded = sorted(set(tris[drv & ~kept].ravel()))
    assert not folded, f"the avatar's mesh folds around points {folded}"


def test_a_turned_avatars_chin_stays_under_its_mouth_when_it_moves_aside():
    """A photo turned three-quarters: the face's far half narrow and its jaw running up beside the
    mouth's far corner. The mouth opens wide (the chin's skin squeezed, so it is spread between lip
    and jaw) while the chin moves towards the far side: it stays under the mouth. Looked up by where
    they had moved to, chin points found the jaw's far side beside the mouth and were put above it:
    the lower lip and chin drawn under the nose (seen on a painting, a tongue-out frame)."""
    from realtime.retarget import _chin_between_lip_and_jaw, _chin_points
    ref = sample_mesh()
    avatar = turned(avatar_of(ref), 0.35)
    corner = avatar[61].copy()
    for j, k in enumerate([58, 172, 136, 150, 149]):                 # the far jaw, up beside the corner
        avatar[k] = corner + [-0.004 + 0.01 * j, -0.06 + 0.04 * j]
    chin = _chin_points(avatar)
    assert len(chin.pts) > 10
    mouth = (avatar[61, 1] + avatar[291, 1]) / 2
    swing = np.clip((avatar[:, 1] - mouth) / (avatar[topo.CHIN, 1] - mouth), 0.0, 1.0)
    for aside in (0.02, 0.06, 0.1):
        tgt = avatar.copy()
        tgt[:, 1] += 0.04 * swing                                         # the jaw opens a little ...
        tgt[topo.LIPS_INNER_LOWER + topo.LOWER_LIP_OUTER, 1] += 0.15       # ... the lower lip far more
        tgt[chin.pts, 0] -= aside                                          # the chin towards the far side
        out = _chin_between_lip_and_jaw(tgt, chin)
        above = [int(i) for i in chin.pts if out[i, 1] < out[[61, 291], 1].max()]
        assert not above, f"moved {aside} aside, chin points {above} are above the mouth's corners"


@pytest.mark.parametrize("degrees", [-30, -20, 20, 30])
def test_a_turn_never_folds_the_face_outline_inside_the_face(degrees):
    """A frontal avatar, the driver turning. A turn moves points sideways by their depth and the
    outline lies deepest, so on the side turning away it passed the cheek in front of it: the warp
    then drew cheek skin beyond the outline and the hair's edge back inside it, a ragged edge at the
    points' spacing (the demo's far cheek). The outline stays outside the face it encloses."""
    front = sample_mesh(depth=True)
    to_crop = lambda p: (p - 256.0) / 256.0 * 0.9                    # noqa: E731
    avatar = to_crop(front[:, :2])
    rt = Retargeter(avatar, RetargetConfig(head_motion=False), base_depth=front[:, 2] / 256.0 * 0.9)
    rt.calibrate(front)
    out = rt(head_turned(front, degrees))
    tris = face_mesh.triangles()
    facing = np.sign(face_mesh.signed_areas(avatar, tris))
    facing_front = facing == np.sign(facing.sum())
    on_outline = np.isin(tris, topo.FACE_OVAL).any(1)
    flipped = np.sign(face_mesh.signed_areas(out, tris)) != facing
    folded = sorted(set(tris[facing_front & on_outline & flipped].ravel()) & set(topo.FACE_OVAL))
    assert not folded, f"turned {degrees} degrees, the outline folds inside the face at points {folded}"


@pytest.mark.parametrize("degrees", [30, 45])
def test_a_turned_avatars_far_outline_moves_with_the_face_in_front_of_it(degrees):
    """In a photo of a turned face the far side's outline lies behind the nose and cheek. When the
    driver turns, points move sideways by their depth, so the hidden outline and the face drawn over
    it at the same place in the picture moved apart, and the warp tore the face there (a seam down the
    nose and through the far eye). What the picture shows at one place moves as one."""
    front = sample_mesh(depth=True)
    avatar = (head_turned(front, degrees)[:, :2] - 256.0) / 256.0 * 0.9
    rt = Retargeter(avatar)
    rt.calibrate(front)
    motion = rt(head_turned(front, -15)) - avatar                 # the driver turns the other way
    oval = np.array(topo.FACE_OVAL)
    rest = np.setdiff1d(np.arange(topo.NUM_MESH), oval)
    outline = cv2.convexHull(avatar[rest].astype(np.float32))
    behind = [i for i in oval if cv2.pointPolygonTest(outline, tuple(map(float, avatar[i])), True) > 0.01]
    assert len(behind) >= 5, "the turned mesh should hide part of its outline"
    typical = np.median(np.linalg.norm(motion[:topo.NUM_MESH], axis=1))
    for i in behind:
        near = rest[np.argsort(np.linalg.norm(avatar[rest] - avatar[i], axis=1))[:3]]
        apart = np.linalg.norm(motion[i] - motion[near].mean(0))
        assert apart < 2 * typical, f"outline point {i} moves {apart / typical:.1f}x the face's typical motion away from the face over it"


@pytest.mark.parametrize("degrees", [30, 45])
def test_a_turned_avatars_far_side_turns_as_its_own_head_would(degrees):
    """The driver turns 12 degrees. In a photo of a turned head the far side is foreshortened, and
    the turn moves it against the nose by the photo's own depths (MediaPipe's, given with the avatar):
    as that head turned 12 degrees further does. By the driver's depths, a frontal face's, the far
    side moved as if the face were frontal and the avatar read as turning much less than the driver."""
    front = sample_mesh(depth=True)
    photo = head_turned(front, degrees)
    to_crop = lambda p: (p - 256.0) / 256.0 * 0.9                    # noqa: E731
    avatar = to_crop(photo[:, :2])
    rt = Retargeter(avatar, RetargetConfig(head_motion=False), base_depth=photo[:, 2] / 256.0 * 0.9)
    rt.calibrate(front)
    out = rt(head_turned(front, -12))
    truth = to_crop(head_turned(front, degrees - 12)[:, :2])
    hidden = face_mesh.hidden_points(avatar).ids
    midline = avatar[[0, 17, 13, 14], 0].mean()
    far = np.setdiff1d(np.nonzero(avatar[:topo.NUM_MESH, 0] < midline)[0], hidden)   # turned away: the left
    nose = 1
    moved = (out - avatar)[far, 0] - (out - avatar)[nose, 0]         # sideways, against the nose tip
    should = (truth - avatar)[far, 0] - (truth - avatar)[nose, 0]
    share = moved @ should / (should @ should)
    assert 0.8 < share < 1.2, f"the far side moved {share:.2f} of the way a truly turned head's does"
    assert np.abs(moved - should).mean() < 0.2 * np.abs(should).mean()


@pytest.mark.parametrize("squeeze", [0.2, 0.7])
def test_a_chin_read_short_on_a_wide_open_mouth_keeps_the_avatars_jaw_under_its_lip(squeeze):
    """The lower lip drops far while the driver's chin barely moves: MediaPipe reads a chin short on
    a wide-open mouth, most where the chin nears the frame's edge (d6's "O": 0.2 of its rest distance
    below the lip). Added point by point that put the avatar's jaw across its lower lip (the lip's
    middle drawn in chin skin). The jaw under the mouth stays at least 0.45 of its photo's distance
    below the lip; a chin read as a yawn's usual (0.7) is the driver's own."""
    ref = sample_mesh()
    scale = 1 / 200.0
    avatar = avatar_of(ref, scale=scale)
    rt = Retargeter(avatar, RetargetConfig(head_motion=False))
    rt.calibrate(ref)
    left, right = ref[61, 0], ref[291, 0]
    under = [i for i in topo.JAW_LOWER                                  # the jaw under the mouth's middle
             if left + 0.15 * (right - left) < ref[i, 0] < right - 0.15 * (right - left)]
    assert len(under) >= 3

    def gap(lmk):        # each jaw point's distance below the lower lip's outer edge at its x
        lip = lmk[topo.LOWER_LIP_OUTER]
        order = np.argsort(lip[:, 0])
        return lmk[under, 1] - np.interp(lmk[under, 0], lip[order, 0], lip[order, 1])

    rest = gap(ref)
    cur = ref.copy()
    drop = 0.5 * rest.min()
    cur[topo.LIPS_INNER_LOWER + topo.LOWER_LIP_OUTER, 1] += drop            # the lip drops ...
    cur[under, 1] += drop - (1.0 - squeeze) * rest                          # ... the jaw to squeeze x its distance
    out = rt(cur)
    if squeeze < 0.45:
        assert np.all(gap(out) >= 0.45 * rest * scale - 1e-6), gap(out) / (rest * scale)
    else:
        assert np.allclose(out[under, 1] - avatar[under, 1], (cur - ref)[under, 1] * scale, atol=1e-6)
