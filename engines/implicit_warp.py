"""Training-free implicit warping over an image set (after Mallya, Wang, Liu, NeurIPS 2022).

The paper's single cross-modal attention, with MediaPipe landmarks playing the keypoints:
- Queries are output locations on a coarse grid (G x G), encoded against the *target* landmarks.
- For every source k, an attention over the target landmarks (moving-least-squares affine weights)
  yields where that source must be sampled (a backward flow) ...
- ... and a second, wider attention scores how well the local landmark configuration of source k
  matches the target there (local residual variance after rigid alignment). Sources compete per
  location with a low-temperature softmax, so each region comes from the source that shows it best.
  Two features the variance barely sees get a key term of their own: around each eye, how shut the
  source's eye is against the target's (a blink is read from an eyes-closed photo), and inside the
  mouth, whether the source's mouth is open there.
- One extra "null" key/value wins inside an opened mouth that no source shows. Its value is a mouth
  interior drawn in the avatar's own colours (upper and lower teeth along the lips, tongue, a dark
  throat), laid out in the target mouth's coordinates: a flat dark blob reads as background to a
  viewer, and to a face tracker, where the mouth meets a dark backdrop.
Hair, neck and background come from the base source only (ghost-free), following the head rigidly
by the head's rigid motion and fading to zero motion at the crop border.

Coordinates are normalised crop coordinates in [-1, 1] (grid_sample, align_corners=False).
All per-frame work is one static-shape tensor graph: matmul, softmax, grid_sample, elementwise.
"""
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import topology as topo


@dataclass(frozen=True)
class WarpConfig:
    size: int = 512            # output crop side in pixels
    num_sources: int = 4       # K: static, the exported graph is built per K
    grid: int = 0              # attention / flow cells across the face window (0: 64 at 512, 56 at 256)
    outer_grid: int = 24       # flow cells for the rigid motion outside the window
    window: float = 0.72       # centred fraction of the crop where non-base sources may win
    face_dilate: float = 1.12  # face region (MLS flow) vs. outside (rigid head motion)
    edge_width: float = 0.06   # soft edge of region masks, normalised units
    falloff: tuple = (1.3, 1.95)  # radii (in face radii) where rigid motion fades to none
    neck_squeeze: tuple = (1.7, 1.3)  # shorter falloff below the face centre: beside the neck, on it
    neck_column: float = 0.7   # half width of the neck's column below the face (face radii; ramp 0.25)
    mls_eps: float = 4e-5      # MLS weight softening (squared normalised units)
    select_sigma: float = 0.07  # neighbourhood of the source-selection attention
    temperature: float = 1.5e-3  # selection softmax temperature (variance units)
    base_bias: float = 3.0     # among sources that explain a place equally well the base wins (a blend
                               # of near-equals is a blur: 4 photos at rest drew a softer face than 1)
    base_over_null: float = 1.0  # the base's head start against the null key (the mouth's cavity)
    lid_band: float = 0.45     # height of the remap band below the lower lid, in eye widths
    lid_margin: float = 0.06   # how far past the source lid landmarks a closing lid reaches (eye widths)
    brow_keep: float = 0.4     # share of the brow-to-lid skin that moves with the brow, unstretched
    lash: float = 0.1          # lash line above the upper lid that moves with it, unstretched (eye widths)
    lid_stretch: float = 4.0   # most the lid skin stretches before the brow's unstretched edge gives way
    soft_stretch: tuple = (1.8, 3.5)  # vertical stretch where reading a horizontally blurred source starts / is full
    soft_width: float = 9.0    # that blur's width in pixels at 512 (scaled with the crop)
    eye_box: tuple = (0.8, 0.6)   # half width / half height of the fine eye patch, in eye widths
    eye_patch: tuple = (24, 18)   # cells of the fine eye patch (x, y)
    gaze_limit: float = 0.3    # largest iris shift, in eye widths
    ball_margin: float = 0.04  # the target's lids' visible edge beyond their landmarks (eye widths)
    ball_inset: float = 0.06   # a source's eyeball counts as shown this far inside its lid landmarks
    ball_seam: float = 0.3     # the drawn white fades from the photo's light at the seam to its own shading over this (eye widths)
    ball_corner: float = 0.5   # from each corner, this far in (eye widths), the eyeball's read joins the skin's
    ball_from: float = 0.8     # the eye's opening (over the source's) from which the eyeball is drawn rigid
    wide_open: tuple = (1.0, 1.35)  # target's eye opening over the source's where the whole white starts / is drawn
    mouth_penalty: float = 8.0
    mouth_stretch: tuple = (2.0, 3.5)  # vertical stretch of a source's mouth where the drawn interior starts / takes over
    eye_penalty: float = 8.0   # around each eye: a source whose eye is as shut as the target's wins
    eye_shut: tuple = (0.15, 0.4)  # eye opening (share of the set's widest) read as shut / as open
    null_score: float = -3.0
    teeth: tuple = (0.055, 0.03)  # visible upper / lower teeth below / above the inner lips, in face heights


def grid_cells(c: WarpConfig) -> int:
    """Cells across the face window: ~4-6 px each, fine enough for lids and lips."""
    return c.grid or (64 if c.size >= 384 else 56)


def _tall_times_narrow(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for a tall a and a narrow b (N x C times C x F, F a few dozen), as (b^T a^T)^T: the same
    products, which torch's CPU matmul runs faster in this orientation (0.77 against 1.25 ms for the
    MLS moments at 256: 2866 x 333 x 30, one thread). Returns a transposed view."""
    return (b.t() @ a.t()).t()


def _smoothstep(t: torch.Tensor) -> torch.Tensor:
    """0 below 0, 1 above 1, a smooth ramp between (soft masks without a kink at their ends)."""
    t = t.clamp(0.0, 1.0)
    return t * t * (3 - 2 * t)


def _luma(rgb: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Rec. 601 luma of RGB along `dim`. Python scalars, not a tensor of the weights: no
    host-to-device copy inside a captured CUDA graph (the per-frame graph calls this too)."""
    r, g, b = rgb.unbind(dim)
    return 0.299 * r + 0.587 * g + 0.114 * b


def _softmax_rows(x: torch.Tensor) -> torch.Tensor:
    """Softmax along dim 1 of an N x k score table (k: the sources and the null key, 2-9). Done on
    the transposed, contiguous k x N table: torch's CPU kernel is 3x slower on rows this short."""
    return torch.softmax(x.t().contiguous(), 0).t()


def _similarity(src: torch.Tensor, dst: torch.Tensor):
    """Closed-form 2D similarity src->dst (batched, ... x N x 2); returns (a, b, ms, md): x' = R(x-ms)+md."""
    ms = src.mean(-2, keepdim=True)
    md = dst.mean(-2, keepdim=True)
    A = src - ms
    B = dst - md
    norm = (A * A).sum((-1, -2)) + 1e-12
    a = (A[..., 0] * B[..., 0] + A[..., 1] * B[..., 1]).sum(-1) / norm
    b = (A[..., 0] * B[..., 1] - A[..., 1] * B[..., 0]).sum(-1) / norm
    return a, b, ms, md


def _apply_similarity(pts, a, b, ms, md):
    x = pts - ms
    a = a[..., None]
    b = b[..., None]
    out = torch.stack([a * x[..., 0] - b * x[..., 1], b * x[..., 0] + a * x[..., 1]], -1)
    return out + md


def soft_polygon_mask(points: torch.Tensor, poly: torch.Tensor, width: float) -> torch.Tensor:
    """Inside-ness in [0, 1] with a linear ramp of `width` across the polygon edge: no blocky masks.

    points: P x 2, poly: V x 2. Works on P x V planes of x and y separately (half the memory traffic
    of P x V x 2 tensors); the even-odd inside test reuses the same edge vectors.
    """
    a = poly
    ab = torch.roll(poly, -1, 0) - a                           # V x 2 edge vectors
    abx, aby = ab[:, 0], ab[:, 1]
    apx = points[:, 0:1] - a[:, 0]                             # P x V
    apy = points[:, 1:2] - a[:, 1]
    # distance to each edge segment
    t = torch.addcmul(apx * abx, apy, aby).mul_(torch.reciprocal((ab * ab).sum(-1) + 1e-12)).clamp_(0.0, 1.0)
    dx = torch.addcmul(apx, t, abx, value=-1.0)
    dy = torch.addcmul(apy, t, aby, value=-1.0)
    d = (torch.addcmul(dx * dx, dy, dy).amin(1) + 1e-12).sqrt()   # sqrt after the min: P, not P x V
    # even-odd rule: edges that straddle the point's row and cross it to the right of the point
    straddles = torch.logical_xor(apy < 0, apy < aby)          # y0 > py xor y1 > py
    right = torch.addcmul(abx * apy, aby, apx, value=-1.0) * aby > 0
    inside = torch.remainder((straddles & right).float().sum(1), 2.0) > 0.5
    ramp = (d / width).clamp(max=1.0) * 0.5
    return torch.where(inside, 0.5 + ramp, 0.5 - ramp)


def face_outline(mesh: torch.Tensor, oval: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """The face's outline as the picture shows it: along each face-oval point's direction from the
    centre, as far out as the oval point or any mesh point nearest that direction (V x 2).

    On a turned face MediaPipe's oval runs round the far side behind the nose and cheek; the nose
    tip, lips and chin beyond it are face all the same, and must move with the face, not with the
    head's rigid motion (an opening mouth cut a notch into the profile, the chin's edge stayed put)."""
    d = mesh - centre
    r = d.norm(dim=1, keepdim=True)                           # N x 1
    o = oval - centre
    r_o = o.norm(dim=1, keepdim=True).clamp_min(1e-6)          # V x 1
    cos = (d / r.clamp_min(1e-6)) @ (o / r_o).t()             # N x V
    nearest = (cos >= cos.amax(1, keepdim=True)).float()
    reach = (r * nearest).amax(0)[:, None]                    # V x 1
    return centre + o * (torch.maximum(reach, r_o) / r_o)


def _curve_y(xq: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear y(x) of a lid curve given by ordered points (cx, cy: ... x n), at xq (... x P),
    held level beyond its ends: the first point's y plus each segment's rise times the share of the
    segment left of xq (one clamp and one small matmul; a segment of no width is a step)."""
    x0 = cx[..., :-1, None]                                    # ... x (n-1) x 1
    span = (cx[..., 1:, None] - x0).clamp_min(1e-6)
    t = ((xq[..., None, :] - x0) / span).clamp(0.0, 1.0)     # ... x (n-1) x P
    rise = (cy[..., 1:] - cy[..., :-1])[..., None, :]          # ... x 1 x (n-1)
    return cy[..., :1] + (rise @ t)[..., 0, :]


# an eye's lid gap, as a share of its width, below which the closing lid's reach tapers off (an
# open eye's is about 0.3)
_CORNER_GAP = 0.1
# a corner's lid line, met along the row, is this many times as wide as met across it (the lids meet
# at an angle)
_CORNER_DEPTH = 0.4


def _lid_correction(P, flow, tgt, src, upper, lower, brow, band, margin, keep, lash, stretch, gaze):
    """Fold-aware vertical remap around each eye: the band between a target's lids maps onto the
    band between the source's lids, and the skin between brow and upper lid (and below the lower
    lid) stretches to follow, so lids really close while the brows stay put (MLS alone blends the
    two lids where they meet and leaves eyeball showing).

    Both eyes at once. P: E x N x 2 target points of each eye's patch, flow: E x N x K x 2 (MLS,
    source coords), tgt: 468 x 2, src: K x 468 x 2; upper, lower, brow: E x n index tensors ordered
    by increasing x. gaze: E x K x 2, how far source k's iris sits from where the lid remap alone
    would read it (source coords): inside the eye opening the read position moves by that much, so
    the avatar's irises follow the driver's. Returns E x K x N x 2. Where the eye opens as wide as
    the source's or wider, the eyeball (`_eyeball`) covers the opening.
    """
    xs = flow[..., 0].transpose(1, 2)                          # E x K x N
    ys = flow[..., 1].transpose(1, 2)
    px, py = P[:, None, :, 0], P[:, None, :, 1]                # E x 1 x N
    tu, tl, tb = tgt[upper][:, None], tgt[lower][:, None], tgt[brow][:, None]   # E x 1 x n x 2
    su, sl, sb = (src[:, idx].transpose(0, 1) for idx in (upper, lower, brow))  # E x K x n x 2
    t_up = _curve_y(px, tu[..., 0], tu[..., 1])                # E x 1 x N
    t_lo = _curve_y(px, tl[..., 0], tl[..., 1])
    t_br = _curve_y(px, tb[..., 0], tb[..., 1])
    s_up = _curve_y(xs, su[..., 0], su[..., 1])                # E x K x N
    s_lo = _curve_y(xs, sl[..., 0], sl[..., 1])
    s_br = _curve_y(xs, sb[..., 0], sb[..., 1])
    width_t = (tu[..., -1, 0] - tu[..., 0, 0]).abs()[..., None] + 1e-6     # E x 1 x 1
    width_s = (su[..., -1, 0] - su[..., 0, 0]).abs()[..., None] + 1e-6     # E x K x 1
    # landmarks sit a little inside the visible lid edge: when the target closes more than the
    # source, reach a bit beyond the source lids so no rim of eyeball stays. Gaps as shares of the
    # eye's width, compared against at least `_CORNER_GAP`: towards the corners both gaps go to
    # nothing, and their bare ratio read an unmoved eye as closing there (a notch at each corner)
    gap_s = (s_lo - s_up) / width_s
    closing = ((gap_s - (t_lo - t_up) / width_t) / gap_s.clamp_min(_CORNER_GAP)).clamp(0.0, 1.0)
    reach = margin * width_s * closing
    s_up = s_up - reach
    s_lo = s_lo + reach
    H = band * width_t
    Hs = band * width_s
    bot_t, bot_s = t_lo + H, s_lo + Hs
    gap_t = (t_lo - t_up).clamp_min(1e-5)
    # brow to lid: the brow's own lower edge (its landmarks sit inside it) moves with the brow and
    # the lash line with the lid edge, both unstretched; the skin between them stretches, so a
    # closing lid drags neither the brow nor the lashes into a dark smear. A brow pulled down onto
    # the lid (a frown, or a tracking glitch that puts it below) must not blow the stretch up.
    ratio = width_s / width_t
    # a brow close over a wide-open eye (a painting's, the far eye of a turned head) leaves a pixel or
    # two of skin between its kept edge and the lash line: stretched over a shut eye that reads as a
    # dark box (the crease). The kept share gives way until the skin stretches at most `stretch` times.
    span_s = (s_up - s_br).clamp_min(1e-5)
    span_t = (t_up - t_br).clamp_min(1e-5)
    lash_s = torch.minimum(lash * width_s, 0.5 * (1.0 - keep) * span_s)
    most = (stretch * (span_s - lash_s) - span_t + lash_s / ratio) / (span_s * (stretch - 1.0 / ratio).clamp_min(0.1))
    s_keep = s_br + most.clamp(0.0, keep) * span_s
    t_keep = t_br + (s_keep - s_br) / ratio
    t_lash = t_up - lash_s / ratio
    above = s_keep + (py - t_keep) * (s_up - lash_s - s_keep) / (t_lash - t_keep).clamp_min(0.1 * width_t)
    above = torch.where(py > t_lash, s_up + (py - t_up) * ratio, above)
    above = torch.where(py < t_keep, s_br + (py - t_br) * ratio, above)
    between = s_up + (py - t_up) / gap_t * (s_lo - s_up)
    below = s_lo + (py - t_lo) * (bot_s - s_lo) / (bot_t - t_lo).clamp_min(1e-5)
    mapped = torch.where(py < t_up, above, torch.where(py > t_lo, below, between))
    # whatever the landmarks do, the remap moves a read position by at most an eye's width
    mapped = torch.maximum(torch.minimum(mapped, ys + width_s), ys - width_s)
    xc = (tu[..., 0, 0] + tu[..., -1, 0])[..., None] / 2
    wx = ((1.45 - (px - xc).abs() / (width_t / 2)) / 0.4).clamp(0.0, 1.0)
    fade = 0.3 * width_t
    wy = torch.minimum((py - (t_br - fade)) / fade, (bot_t - py) / (0.4 * H)).clamp(0.0, 1.0)
    w = _smoothstep(wx * wy)
    ys = ys + w * (mapped - ys)
    # gaze: inside the opening (fading towards the lids and the corners) read the iris where it is
    open_v = (torch.minimum(py - t_up, t_lo - py) / (0.3 * gap_t)).clamp(0.0, 1.0)
    open_h = ((0.5 - (px - xc).abs() / width_t) / 0.2).clamp(0.0, 1.0)
    g = (open_v * open_h)[..., None] * gaze[:, :, None, :]                 # E x K x N x 2
    return torch.stack([xs, ys], -1) + g


def _eyeball(P, tgt, src, upper, lower, iris_t, iris_s, radius, ratio, margin, inset, wide_open, ball_from,
            src_rgb, white, seam, skin, corner):
    """The eyeball behind the lids: a rigid read, not stretched with the lid gap (a driver's
    wide-open eyes stretched the photo's iris into a tall dark blob with no white above it), and
    where the read falls outside source k's own lids (white or iris the photo does not show), a
    fill drawn from the avatar's eye colours.

    P: E x N x 2 target points of each eye's patch; tgt: 468 x 2; src: K x 478 x 2; upper, lower:
    E x n lid curves by increasing x; iris_t: E x 2, the target irises; iris_s: K x E x 2, the
    source irises (read at the target's: the avatar looks where the driver looks); radius: K x E,
    their radii; ratio: E x K, the target eye's opening over source k's (see eye_openings); margin,
    inset, wide_open, ball_from, seam, corner: WarpConfig.ball_*, wide_open; src_rgb: K x 3 x S x S;
    white: 3, the fill's white (src_palette[4]; see _shade_from_seam); skin: E x K x N x 2, the skin's
    read there (_lid_correction's). Returns
    E x K x N x 7: the read position; how far inside the target's lids the point is; how deep the
    read is in what source k does not show; how far outside the target iris the point is (crop
    units); the fill's shading (a flat white reads as a sticker: the upper lid shades the eyeball, the
    corners recede); how much of the white is drawn, not read (0..1): an eye opened well beyond the
    photo's would show the photo's small, shadowed white inside the new one, lid line and all.
    """
    # the eye's own rotation and scale, from its corners (which a blink or a glance leaves in place)
    dt = (tgt[upper[:, -1]] - tgt[upper[:, 0]])[:, None]                  # E x 1 x 2
    ds = (src[:, upper[:, -1]] - src[:, upper[:, 0]]).transpose(0, 1)    # E x K x 2
    n2 = (dt * dt).sum(-1) + 1e-12
    a = ((ds * dt).sum(-1) / n2)[..., None]                               # E x K x 1
    b = ((ds[..., 1] * dt[..., 0] - ds[..., 0] * dt[..., 1]) / n2)[..., None]
    d = P[:, None] - iris_t[:, None, None]                                # E x 1 x N x 2
    anchor = iris_s.transpose(0, 1)                                       # E x K x 2
    rx = anchor[..., 0:1] + a * d[..., 0] - b * d[..., 1]                 # E x K x N
    ry = anchor[..., 1:2] + b * d[..., 0] + a * d[..., 1]
    px, py = P[:, None, :, 0], P[:, None, :, 1]                           # E x 1 x N
    tu, tl = tgt[upper][:, None], tgt[lower][:, None]                     # E x 1 x n x 2
    width_t = (tu[..., -1, 0] - tu[..., 0, 0]).abs()[..., None] + 1e-6    # E x 1 x 1
    # at each corner the eyeball's read joins the skin's: anchored at the iris, the rigid read of a
    # turned eye's corner lands a few pixels past the photo's (its iris sits nearer one corner than
    # the target's), and where the two reads met a flow between them read the photo's lid line: a
    # grey crease inside the white and a white notch past the lid (the demo's turns)
    along = torch.minimum(px - tu[..., 0, 0, None], tu[..., -1, 0, None] - px) / width_t
    join = 1.0 - _smoothstep(along / corner)
    rx = rx + join * (skin[..., 0] - rx)
    ry = ry + join * (skin[..., 1] - ry)
    rx, ry = rx.clamp(-1.0, 1.0), ry.clamp(-1.0, 1.0)
    t_up = _curve_y(px, tu[..., 0], tu[..., 1])
    t_lo = _curve_y(px, tl[..., 0], tl[..., 1])
    # the visible lid edge sits a little outside the landmarks, but not beyond the corners
    edge = margin * width_t * ((t_lo - t_up) / (_CORNER_GAP * width_t)).clamp(0.0, 1.0)
    inside_t = torch.minimum(py - t_up, t_lo - py)
    su, sl = (src[:, idx].transpose(0, 1) for idx in (upper, lower))      # E x K x n x 2
    width_s = (su[..., -1, 0] - su[..., 0, 0]).abs()[..., None] + 1e-6    # E x K x 1
    inside_s = torch.minimum(ry - _curve_y(rx, su[..., 0], su[..., 1]), _curve_y(rx, sl[..., 0], sl[..., 1]) - ry)
    scale = (a * a + b * b).sqrt().clamp_min(1e-4)
    # fill where the read is outside the source's lids or in their shadow (the lash line would be
    # drawn across the new white), but not nearer the target's lids than it is to the source's: at
    # rest nothing is filled. Near the corners the lids' line runs across, not along, the row: how
    # far inside is also how far from the corner (read at mid-height beside a turned eye's corner,
    # the photo's line there was drawn as the white's edge, a grey arc)
    near_t = torch.minimum(inside_t, _CORNER_DEPTH * torch.minimum(px - tu[..., 0, 0, None], tu[..., -1, 0, None] - px))
    near_s = torch.minimum(inside_s, _CORNER_DEPTH * torch.minimum(rx - su[..., 0, 0, None], su[..., -1, 0, None] - rx))
    fill = torch.minimum(inset * width_s, scale * near_t) - near_s
    outside_iris = d.norm(dim=-1) - radius.t()[..., None] / scale
    xc = (tu[..., 0, 0] + tu[..., -1, 0])[..., None] / 2
    shade = (1.0 - 0.45 * _smoothstep(1.0 - (py - t_up + edge) / (0.2 * width_t))) * \
        (1.0 - 0.2 * _smoothstep(1.0 - (t_lo + edge - py) / (0.1 * width_t))) * \
        (1.0 - 0.25 * _smoothstep(((px - xc).abs() / (0.5 * width_t) - 0.4) / 0.6))
    ratio = ratio[..., None]                                              # E x K x 1
    lo, hi = wide_open
    wide = _smoothstep((ratio - lo) / (hi - lo)).expand_as(rx)               # E x K x N
    shade = _shade_from_seam(shade, rx, ry, su, sl, width_s, fill, wide, src_rgb, white, inset, seam)
    # a closing eye keeps the lid remap (its lids reach past the source's, no rim of eyeball stays):
    # from the source's opening down to `ball_from` of it the eyeball's mask shrinks to nothing
    gone = (1.0 - _smoothstep((ratio - ball_from) / (1.0 - ball_from))) * (0.5 * (t_lo - t_up) + edge)
    return torch.stack([rx, ry, inside_t + edge - gone, fill, outside_iris, shade.expand_as(rx), wide], -1)


def _shade_from_seam(shade, rx, ry, su, sl, width_s, fill, wide, src_rgb, white, inset, seam):
    """The fill's shading where it meets the photo's own white: at least as light as the photo is
    just inside its lids there, fading to the drawn shading `seam` eye widths into the fill. A flat
    painted white met a shaded fill in a grey arc (the demo's turned eye, at its inner corner); a
    photo's white in its lids' shadow is darker than the fill and leaves it as it was. Where the
    whole white is drawn (an eye opened wide) there is no seam.

    rx, ry, fill, wide: E x K x N; su, sl: E x K x n x 2 source lids; width_s: E x K x 1;
    src_rgb: K x 3 x S x S; white: 3, the fill's white (src_palette[4])."""
    # the nearest place the source shows its white: the read pulled inside its lids and corners
    m = 2.0 * inset * width_s                                             # as far again as the inset
    rx_c = torch.maximum(torch.minimum(rx, su[..., -1:, 0] - m), su[..., :1, 0] + m)
    up, lo = _curve_y(rx_c, su[..., 0], su[..., 1]), _curve_y(rx_c, sl[..., 0], sl[..., 1])
    mm = torch.minimum(m, (lo - up).clamp_min(0.0) / 2)
    ry_c = torch.maximum(torch.minimum(ry, lo - mm), up + mm)
    # three reads along the row: one lash or glint is not the white's light
    step = 0.05 * width_s
    xs = torch.stack([rx_c - step, rx_c, rx_c + step], -1)                  # E x K x N x 3
    E, K, N = rx.shape
    grid = torch.stack([xs, ry_c[..., None].expand_as(xs)], -1).permute(1, 0, 2, 3, 4).reshape(K, 1, E * N * 3, 2)
    rgb = F.grid_sample(src_rgb, grid, align_corners=False).view(K, 3, E, N, 3).mean(-1)   # K x 3 x E x N
    light = (_luma(rgb, 1) / _luma(white).clamp_min(1e-3)).clamp(max=1.0).transpose(0, 1)
    near = (fill > 0).float() * (1.0 - _smoothstep(fill / (seam * width_s))) * (1.0 - wide)
    return shade + near * (light - shade).clamp_min(0.0)


def eye_layers(fine: torch.Tensor, size: int, weight: torch.Tensor, palette: torch.Tensor):
    """An eye patch's channels (Coarse.eye_flow) upsampled to pixels, ... x 9 x h x w, and the patch's
    blend weight there (... x 1 x h x w) -> the flow to read (... x 2 x h x w: the skin's outside the
    target's lids, the eyeball's inside, across two pixels), the fill's weight (where the eyeball's read
    falls outside the source's lids, across two pixels, and the white of an eye opened wide;
    ... x 1 x h x w) and the fill's colour premultiplied by it (... x 3 x h x w RGB; palette: the
    engine's src_palette)."""
    px = size / 2.0
    ball = (fine[:, 4:5] * (px / 2.0)).clamp(0.0, 1.0)
    flow = fine[:, 0:2] + ball * (fine[:, 2:4] - fine[:, 0:2])
    iris = (0.5 - fine[:, 6:7] * px).clamp(0.0, 1.0)
    hidden = (fine[:, 5:6] * (px / 2.0)).clamp(0.0, 1.0)
    fill = weight * ball * torch.maximum(hidden, fine[:, 8:9] * (1.0 - iris))
    white, iris_rgb = palette[4].view(3, 1, 1), palette[3].view(3, 1, 1)
    return flow, fill, fill * fine[:, 7:8] * (white + iris * (iris_rgb - white))


def soft_weight(read_y: torch.Tensor, stretch: tuple) -> torch.Tensor:
    """How far the flow stretches the source's rows, 0..1: 0 up to `stretch[0]` times, 1 from
    `stretch[1]` (read_y: ... x h x w, where the flow reads, in source rows where the target's rows
    are 1 apart). Where to read the horizontally blurred source: a lid closing over a wide-open eye
    stretches a thin strip of skin many times, the photo's fine texture (pores, a painting's
    crackle) becomes vertical streaks; blurred along the rows first, the same strip reads as smooth
    skin. And where a source's mouth gives way to the drawn interior (WarpConfig.mouth_stretch)."""
    y = read_y
    d = torch.cat([y[..., 1:2, :] - y[..., 0:1, :], (y[..., 2:, :] - y[..., :-2, :]) / 2,
                   y[..., -1:, :] - y[..., -2:-1, :]], -2)
    times = torch.reciprocal(d.abs().clamp_min(1e-3))
    return _smoothstep((times - stretch[0]) / (stretch[1] - stretch[0]))


def soft_kernel(c) -> int:
    """The blur's width in pixels for this crop size (odd)."""
    return int(round(c.soft_width * c.size / 512.0)) // 2 * 2 + 1


def mouth_palette(rgb: torch.Tensor, lmk: torch.Tensor) -> torch.Tensor:
    """Teeth, tongue and throat colours (3 x 3 RGB) for one source (rgb: 3 x S x S, lmk: 478 x 2):
    teeth as bright as the light on the skin allows, tongue and throat from the lips' own red."""
    skin_pts = lmk[topo.SKIN_SAMPLES]
    pairs = torch.tensor(topo.LIP_BODY_PAIRS)
    lip_pts = (lmk[pairs[:, 0]] + lmk[pairs[:, 1]]) / 2
    pts = torch.cat([skin_pts, lip_pts], 0)[None, None]                 # 1 x 1 x n x 2
    rgb_pts = F.grid_sample(rgb[None], pts, align_corners=False)[0, :, 0].t()   # n x 3
    skin, lips = rgb_pts[: len(topo.SKIN_SAMPLES)], rgb_pts[len(topo.SKIN_SAMPLES):]
    luma = _luma(skin)
    light = (0.55 + 0.5 * luma.amax()).clamp(max=1.0)                   # the lit side, not the shadow
    teeth = torch.tensor([0.80, 0.76, 0.68], device=rgb.device) * light     # in the mouth's shade
    lip = lips.median(0).values
    tongue = (lip * 0.85 + torch.tensor([0.08, 0.03, 0.04], device=rgb.device)).clamp(0.0, 1.0)
    throat = lip * 0.22
    return torch.stack([teeth, tongue, throat])


def iris_radii(lmk: torch.Tensor) -> torch.Tensor:
    """Each iris's radius (... x 478 x 2 -> ... x E): the rim points' mean distance from its centre."""
    return torch.stack([(lmk[..., ring, :] - lmk[..., centre:centre + 1, :]).norm(dim=-1).mean(-1)
                        for centre, ring in ((topo.RIGHT_IRIS_CENTER, topo.RIGHT_IRIS_RING),
                                             (topo.LEFT_IRIS_CENTER, topo.LEFT_IRIS_RING))], -1)


def eye_palette(rgb: torch.Tensor, lmk: torch.Tensor, teeth: torch.Tensor, upper: torch.Tensor,
                lower: torch.Tensor) -> torch.Tensor:
    """Iris and eye-white colours (2 x 3 RGB) of one source with open eyes (rgb: 3 x S x S, lmk:
    478 x 2; upper, lower: E x n lid curves by increasing x, right eye first), for the eyeball the photo hides under its lids: the iris around its pupil where the lids
    leave it in view, the white along the middle of the opening clear of the iris. Medians: a lash or
    a glint is not the colour. A narrow eye's white lies in the lids' shadow: the white is at least as
    light as a near-white in the light the teeth get (see mouth_palette)."""
    ang = torch.arange(8, dtype=torch.float32, device=rgb.device) * (torch.pi / 4)
    ring = torch.stack([ang.cos(), ang.sin()], -1)                             # 8 x 2
    iris_pts, white_pts = [], []
    radii = iris_radii(lmk)
    for e, centre in enumerate((topo.RIGHT_IRIS_CENTER, topo.LEFT_IRIS_CENTER)):
        c, r, up_e, lo_e = lmk[centre], radii[e], upper[e], lower[e]
        pts = c + 0.75 * r * ring
        up, lo = (_curve_y(pts[:, 0], lmk[idx, 0], lmk[idx, 1]) for idx in (up_e, lo_e))
        seen = (pts[:, 1] > up + 0.15 * r) & (pts[:, 1] < lo - 0.15 * r)
        iris_pts.append(pts[seen] if bool(seen.any()) else c[None])
        mid = (lmk[up_e[1:-1]] + lmk[lo_e[1:-1]]) / 2
        gap = (lmk[lo_e[1:-1], 1] - lmk[up_e[1:-1], 1])
        clear = ((mid - c).norm(dim=1) > 1.4 * r) & (gap > 0.5 * r)
        white_pts.append(mid[clear])
    sample = lambda pts: F.grid_sample(rgb[None], pts[None, None], align_corners=False)[0, :, 0].t()  # noqa: E731
    iris = sample(torch.cat(iris_pts)).median(0).values
    white = torch.cat(white_pts)
    light = torch.tensor([0.82, 0.80, 0.78], device=rgb.device) * teeth[0] / 0.80
    white = torch.maximum(sample(white).median(0).values, light) if len(white) else light
    return torch.stack([iris, white])


# where one tooth meets the next, from the dental midline outwards along the arch as a frontal face
# shows it, in outer-eye-corner distances (incisors ~8.5 and ~6.5 mm, then canine and premolars
# turning away with the arch, over ~90 mm between the eyes' outer corners); upper, then lower teeth
_UPPER_TEETH = (0.0, 0.094, 0.161, 0.217, 0.256, 0.289, 0.32, 0.35)
_LOWER_TEETH = (0.0, 0.06, 0.12, 0.18, 0.23, 0.27, 0.31, 0.35)


def _tooth_edges(along: torch.Tensor, edges: tuple) -> torch.Tensor:
    """Distance (outer-eye-corner units) from each point to the nearest edge between two teeth.
    Python scalars, not a tensor of the edges: no host-to-device copy inside a captured CUDA graph."""
    a = along.abs()
    near = (a - edges[0]).abs()
    for b in edges[1:]:
        near = torch.minimum(near, (a - b).abs())
    return near


def _teeth_row(reach: torch.Tensor, length, between: torch.Tensor) -> torch.Tensor:
    """A row of teeth, 0..1 (and its shading): where reach (face heights from the lip they hang from)
    is within the teeth's length, with a crisp biting edge whose corners round up where two teeth
    meet (between: `_tooth_edges`), each tooth a little darker towards its sides and a thin seam
    between them (a band of one flat white reads as a smear)."""
    corner = (1.0 - between / 0.02).clamp_min(0.0) ** 2
    edge = length * (1.0 - 0.12 * corner)
    row = _smoothstep((edge - reach) / 0.006)
    seam = _smoothstep((0.005 - between) / 0.005)
    return row * (0.88 + 0.12 * _smoothstep(between / 0.03)) * (1.0 - 0.4 * seam)


def mouth_interior(coords: torch.Tensor, palette: torch.Tensor, teeth: tuple) -> torch.Tensor:
    """The null key's value: 4 x ... mouth coordinates -> 3 x ... RGB.

    coords: distance below the upper inner lip, distance above the lower inner lip (both in face
    heights: a turned head foreshortens the mouth's width, not the teeth), the distance from the
    mouth's middle towards a corner (0 middle, 1 corner) and the signed distance from the mouth's
    midline in outer-eye-corner distances (the teeth's widths: a wide smile shows more teeth, not
    wider ones). teeth: WarpConfig.teeth.
    Upper teeth hang below the upper lip, lower teeth show less (the middle ones), each tooth with
    its own rounded biting edge and a seam to the next; the tongue is a mound above the lower lip,
    highest in the middle and lit at its front, the throat is dark; teeth recede and darken towards
    the corners, and the upper lip shades the upper teeth's roots.
    """
    shape = (3,) + (1,) * (coords.dim() - 1)
    teeth_rgb, tongue_rgb, throat_rgb = (palette[i].view(shape) for i in range(3))
    below_upper, above_lower, side, along = coords[0:1], coords[1:2], coords[2:3], coords[3:4]
    upper = _teeth_row(below_upper, teeth[0], _tooth_edges(along, _UPPER_TEETH))
    upper = upper * (0.78 + 0.22 * _smoothstep(below_upper / (0.4 * teeth[0])))
    lower = 0.6 * _teeth_row(above_lower, teeth[1], _tooth_edges(along, _LOWER_TEETH)) * \
        _smoothstep((0.75 - side) / 0.3)
    # the tongue: a dome over the lower lip (a band of even height along a yawn's U-shaped lower lip
    # read as a second lip), at most half the opening, its back in the throat's shadow
    dome = (1.0 - side * side).clamp_min(0.0).sqrt()
    top = torch.minimum(1.4 * teeth[0] * dome, 0.45 * (below_upper + above_lower)).clamp_min(1e-4)
    tongue = _smoothstep((top - above_lower) / (0.3 * teeth[0]))
    lit = (tongue_rgb * (1.15 - 0.45 * (above_lower / top).clamp(0.0, 1.0))).clamp(max=1.0)
    shade = 1.0 - 0.7 * _smoothstep((side - 0.35) / 0.6)
    col = throat_rgb + tongue * shade * (lit - throat_rgb)
    return col + torch.maximum(upper, lower) * (teeth_rgb * shade - col)


def mouth_coords(pts: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor, height: torch.Tensor,
                 recede: torch.Tensor, eyes: torch.Tensor) -> torch.Tensor:
    """Points (P x 2) in the coordinates mouth_interior draws in (4 x P), given the inner lip curves
    (n x 2 each, from corner to corner), the face's height and the outer eye corners' distance.
    The frame is the mouth's own: x along the corner-to-corner line, so a tilted head tilts the teeth
    with it; the midline under the upper lip's middle point. recede (face heights): how far teeth
    and tongue sit back behind the lips (pursed lips hide them)."""
    c0, c1 = upper[0], upper[-1]
    width = (c1 - c0).norm().clamp_min(1e-4)
    ax = (c1 - c0) / width

    def frame(p):
        d = p - c0
        return d @ ax, d[..., 1] * ax[0] - d[..., 0] * ax[1]

    gx, gy = frame(pts)
    ux, uy = frame(upper)
    lx, ly = frame(lower)
    below_upper = (gy - _curve_y(gx, ux, uy)) / height + recede
    above_lower = (_curve_y(gx, lx, ly) - gy) / height + recede
    along = (gx - ux[upper.shape[0] // 2]) / eyes.clamp_min(1e-4)
    return torch.stack([below_upper, above_lower, (2.0 * gx / width - 1.0).abs(), along])


def _eye_span(lmk: torch.Tensor) -> torch.Tensor:
    """The outer eye corners' distance: a face's width that expressions do not change."""
    return (lmk[topo.RIGHT_EYE_UPPER[0]] - lmk[topo.LEFT_EYE_UPPER[0]]).norm()


def _mouth_width(lmk: torch.Tensor, lip_up: torch.Tensor) -> torch.Tensor:
    """Inner mouth width over the outer eye corners' distance."""
    return (lmk[lip_up[-1]] - lmk[lip_up[0]]).norm() / _eye_span(lmk).clamp_min(1e-4)


def eye_openings(lmk: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """Each eye's lid gap over its width: lmk ... x N x 2, upper / lower: E x n lid curves from
    corner to corner -> ... x E."""
    gap = (lmk[..., lower, 1] - lmk[..., upper, 1])[..., 1:-1].mean(-1)
    width = (lmk[..., upper[:, -1], 0] - lmk[..., upper[:, 0], 0]).abs()
    return gap / width.clamp_min(1e-4)


def patch_uv(xy: torch.Tensor, box: torch.Tensor):
    """Points (... x 2, crop coords) in units of an eye patch (box: ... x 4, centre and half sizes;
    u in [-1, 1] inside) and the patch's blend weight there (smooth, zero at and beyond its edge)."""
    u = (xy - box[..., :2]) / box[..., 2:]
    return u, _smoothstep((1.0 - u.abs().amax(-1)) / 0.3)


def _upsample(x: torch.Tensor, n: int) -> torch.Tensor:
    """1 x C x g x g -> 1 x C x n x n, bilinear between corner-aligned grids over the same span."""
    return F.interpolate(x, size=(n, n), mode="bilinear", align_corners=True)


def _grid_xy(nx: int, ny: int) -> torch.Tensor:
    """ny x nx points spanning [-1, 1]^2 inclusive, flattened row-major -> (ny*nx) x 2."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, ny), torch.linspace(-1, 1, nx), indexing="ij")
    return torch.stack([xx, yy], -1).reshape(-1, 2)


def _corner_grid(n: int, lo: float, hi: float) -> torch.Tensor:
    """n x n points from lo to hi inclusive (x, y) -> n x n x 2."""
    c = torch.linspace(lo, hi, n)
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xx, yy], -1)


class Coarse(NamedTuple):
    """What the per-location attention decides, before anything is sampled at full resolution."""
    flow: torch.Tensor      # K x 2 x G x G: where each source is read, over the window grid (crop coords)
    weights: torch.Tensor   # 1 x (K+1) x G x G: per-location softmax over the sources and the null key
    eye_flow: torch.Tensor  # K x E x 9 x ey x ex: over each target eye's patch, the skin's fine flow (2)
                            # and the eyeball's (2), then its masks and shading (5; see _eyeball)
    eye_box: torch.Tensor   # E x 4: patch centre x, y and half width, half height (crop coords)
    outer: torch.Tensor     # 1 x 2 x Go x Go: the base source's flow over the whole crop (rigid falloff)
    mouth: torch.Tensor     # 1 x 4 x G x G: target mouth coordinates (see mouth_interior), for the null key


class ImplicitWarpEngine(torch.nn.Module):
    """Per-frame graph: target landmarks (478 x 2, normalised crop coords) -> RGB crop (1 x 3 x S x S).

    `set_sources` does the once-per-avatar-set work and stores the results as buffers, so the
    per-frame graph has a single input and exports with static shapes. The graph is two stages:
    `coarse` (the attention, on a G x G grid and the eye patches) and `compose` (sampling the sources
    at full resolution). `engines/cpu_compose.py` runs the second stage with OpenCV on a CPU.
    """

    def __init__(self, config: WarpConfig = WarpConfig()):
        super().__init__()
        self.config = c = config
        S, G, K = c.size, grid_cells(c), c.num_sources
        win = int(round(c.window * S / 8)) * 8
        self.win_lo = (S - win) // 2
        self.win_n = win
        lo = -1.0 + 2.0 * self.win_lo / S
        hi = lo + 2.0 * win / S
        # the attention grid covers the centred window where the face lives (finer cells for
        # lids and lips); outside it only the base source's smooth rigid motion is needed
        self.win_half = hi
        # coarse grids span the first to the last pixel centre, and are upsampled with
        # align_corners=True, so a linear flow (e.g. no motion) is reproduced exactly to the edges
        half = 1.0 / S
        self.register_buffer("grid_pts", _corner_grid(G, lo + half, hi - half).reshape(-1, 2))
        # smooth fields (source selection, face region) are computed on a grid of half the cells
        # over the same span and upsampled: their features are 3+ cells wide, the cost drops 4x
        self.register_buffer("half_pts", _corner_grid(G // 2, lo + half, hi - half).reshape(-1, 2))
        self.register_buffer("outer_pts", _corner_grid(c.outer_grid, -1 + half, 1 - half).reshape(-1, 2))
        # outside the window only the rigid outer flow exists: the face region fades out before the
        # window's edge, or a dropped jaw's flow would stop there in a straight cut across the neck
        inset = hi - self.half_pts.abs().amax(1)
        self.register_buffer("win_taper", _smoothstep(inset / c.edge_width - 0.5), persistent=False)
        self.register_buffer("up_win", _corner_grid(win, -1.0, 1.0)[None])
        ex, ey = c.eye_patch
        self.register_buffer("eye_unit", _grid_xy(ex, ey))
        self.register_buffer("eye_half", torch.tensor(c.eye_box), persistent=False)
        ring = torch.zeros(G, G)
        ring[2:-2, 2:-2] = 1.0
        self.register_buffer("win_mask", ring.reshape(-1))
        # Source-side state (filled by set_sources)
        self.register_buffer("src_rgb", torch.zeros(K, 3, S, S))
        # control points: the CONTROL landmarks, then the midpoints between neighbouring lip points
        # (see ctrl_points)
        pairs = [(i, i) for i in topo.CONTROL] + [(lip[j], lip[(j + 1) % len(lip)])
                                                 for lip in (topo.LIPS_OUTER, topo.LIPS_INNER) for j in range(len(lip))]
        self.register_buffer("i_ctrl_a", torch.tensor([a for a, _ in pairs]), persistent=False)
        self.register_buffer("i_ctrl_b", torch.tensor([b for _, b in pairs]), persistent=False)
        self.register_buffer("src_ctrl", torch.zeros(K, len(pairs), 2))
        self.register_buffer("src_lmk", torch.zeros(K, topo.NUM_LANDMARKS, 2))   # mesh + irises
        self.register_buffer("src_mouth", torch.zeros(K, 1, G, G))
        # teeth, tongue, throat (the base's); iris, eye white (the set's widest-open eyes)
        self.register_buffer("src_palette", torch.zeros(5, 3))
        idx = lambda *lists: torch.tensor(lists, dtype=torch.long)  # noqa: E731
        for name, ids in (("stable", topo.STABLE), ("oval", topo.FACE_OVAL),
                          ("skull", topo.UPPER_OVAL), ("mouth", topo.LIPS_INNER),
                         ("lip_up", topo.LIPS_INNER_UPPER), ("lip_lo", topo.LIPS_INNER_LOWER)):
            self.register_buffer(f"i_{name}", idx(ids)[0], persistent=False)
        # lid curves ordered by increasing x in an upright crop (right eye: outer -> inner)
        self.register_buffer("i_upper", idx(topo.RIGHT_EYE_UPPER, topo.LEFT_EYE_UPPER[::-1]), persistent=False)
        self.register_buffer("i_lower", idx(topo.RIGHT_EYE_LOWER, topo.LEFT_EYE_LOWER[::-1]), persistent=False)
        self.register_buffer("i_brow", idx(topo.RIGHT_BROW_LOWER, topo.LEFT_BROW_LOWER[::-1]), persistent=False)
        self.register_buffer("i_eye", torch.cat([self.i_upper, self.i_lower], 1), persistent=False)
        self.register_buffer("i_iris", torch.tensor([topo.RIGHT_IRIS_CENTER, topo.LEFT_IRIS_CENTER]),
                             persistent=False)

    # ---- once per avatar set -------------------------------------------------------------
    @torch.no_grad()
    def set_sources(self, rgb_kchw: torch.Tensor, lmk_kn2: torch.Tensor) -> None:
        """rgb: K x 3 x S x S in [0,1], aligned crops (base first); lmk: K x 478 x 2 normalised."""
        c = self.config
        K = c.num_sources
        if rgb_kchw.shape != (K, 3, c.size, c.size):
            raise ValueError(f"expected sources of shape {(K, 3, c.size, c.size)}, got {tuple(rgb_kchw.shape)}")
        if lmk_kn2.shape[0] != K or lmk_kn2.shape[-1] != 2:
            raise ValueError(f"expected landmarks K x 478 x 2, got {tuple(lmk_kn2.shape)}")
        if lmk_kn2.shape[1] != topo.NUM_LANDMARKS:
            raise ValueError(f"expected K x {topo.NUM_LANDMARKS} x 2 landmarks (mesh and irises), got {tuple(lmk_kn2.shape)}")
        lmk = lmk_kn2[:, :, :2].float().to(self.src_lmk.device)
        self.src_rgb.copy_(rgb_kchw.float())
        self.src_lmk.copy_(lmk)
        self.src_ctrl.copy_(self.ctrl_points(lmk))
        G = grid_cells(c)
        for k in range(K):
            self.src_mouth[k, 0] = soft_polygon_mask(self.grid_pts, lmk[k, self.i_mouth], c.edge_width * 0.5).view(G, G)
        mouth = mouth_palette(self.src_rgb[0], lmk[0])
        widest = int(eye_openings(lmk, self.i_upper, self.i_lower).mean(1).argmax())
        self.src_palette.copy_(torch.cat([mouth, eye_palette(self.src_rgb[widest], lmk[widest], mouth[0], self.i_upper, self.i_lower)]))

    def ctrl_points(self, lmk: torch.Tensor) -> torch.Tensor:
        """... x N x 2 landmarks -> ... x C x 2 control points. Between the lips' points too: a mouth
        opened wide stretches the lips several times, and the flow sagged between their points
        (scalloped lip edges)."""
        return (lmk[..., self.i_ctrl_a, :] + lmk[..., self.i_ctrl_b, :]) * 0.5

    # ---- per frame ---------------------------------------------------------------------------
    def forward(self, tgt_lmk: torch.Tensor) -> torch.Tensor:
        return self.render(tgt_lmk, self.src_rgb, self.src_ctrl, self.src_lmk, self.src_mouth, self.src_palette)

    def render(self, tgt_lmk, src_rgb, src_ctrl, src_lmk, src_mouth, src_palette) -> torch.Tensor:
        """The per-frame graph with the source-side tensors passed in (what ONNX export sees).

        tgt_lmk: 478 x 2 (or x 3); src_rgb: K x 3 x S x S; src_ctrl: K x C x 2;
        src_lmk: K x 478 x 2; src_mouth: K x 1 x G x G; src_palette: 5 x 3.
        Returns 1 x 3 x S x S RGB in [0, 1].
        """
        return self.compose(self.coarse(tgt_lmk, src_ctrl, src_lmk, src_mouth, src_rgb=src_rgb, src_palette=src_palette),
                            src_rgb, src_palette)

    def coarse(self, tgt_lmk, src_ctrl=None, src_lmk=None, src_mouth=None, face_rows_only: bool = False,
               src_rgb=None, src_palette=None) -> Coarse:
        """The attention: per grid location, where each source is read and how much it counts.

        face_rows_only (eager CPU only: data-dependent shapes): solve the MLS flow only on the grid
        locations inside the face region, where it is used (elsewhere the flow is the rigid outer
        motion either way), and the mouth mask only around the mouth: the same result, cheaper.
        """
        c = self.config
        src_ctrl = self.src_ctrl if src_ctrl is None else src_ctrl
        src_lmk = self.src_lmk if src_lmk is None else src_lmk
        src_mouth = self.src_mouth if src_mouth is None else src_mouth
        src_rgb = self.src_rgb if src_rgb is None else src_rgb
        src_palette = self.src_palette if src_palette is None else src_palette
        K, G = c.num_sources, grid_cells(c)
        tgt_all = tgt_lmk[: topo.NUM_MESH, :2].float()
        tgt = self.ctrl_points(tgt_all)                        # C x 2 control points
        P_grid = self.grid_pts                                 # G^2 x 2
        # the face region (MLS flow inside, the head's rigid motion outside), on the half grid
        oval = tgt_all[self.i_oval]
        centre = oval.mean(0, keepdim=True)
        Ph, Gh = self.half_pts, G // 2
        outline = face_outline(tgt_all, oval, centre)
        face = soft_polygon_mask(Ph, centre + (outline - centre) * c.face_dilate, c.edge_width) * self.win_taper
        face = _upsample(face.view(1, 1, Gh, Gh), G).view(-1, 1, 1)
        rows = torch.nonzero(face.view(-1) > 0).flatten() if face_rows_only else None
        P_mls = P_grid if rows is None else P_grid[rows]
        # plus a fine patch over each target eye: a closing lid needs a flow that jumps from
        # skin above to skin below within a pixel or two, finer than the grid's cells
        eye_pts = tgt_all[self.i_eye]                          # E x 2n x 2
        centre_e = eye_pts.mean(1)                             # E x 2
        width_e = (eye_pts[..., 0].amax(1) - eye_pts[..., 0].amin(1)).clamp_min(1e-3)
        half_e = width_e[:, None] * self.eye_half
        eye_box = torch.cat([centre_e, half_e], 1)            # E x 4
        patches = centre_e[:, None] + self.eye_unit[None] * half_e[:, None]   # E x N_e x 2
        E, n_eye = patches.shape[:2]
        # and the target irises: where the eye motion alone would read each source there
        iris_t = tgt_lmk[self.i_iris, :2].float()                           # E x 2
        P = torch.cat([P_mls, patches.reshape(-1, 2), iris_t], 0)
        n_grid = P_mls.shape[0]

        # attention of each query location over the target keypoints (squared distances, one fused op)
        d2 = torch.addmm((P * P).sum(1, keepdim=True) + (tgt * tgt).sum(1)[None], P, tgt.t(), alpha=-2.0)
        w = torch.reciprocal(d2.add_(c.mls_eps)).square_()      # unnormalised MLS weights (in place: no copies)

        # moving-least-squares affine flow into every source: one matmul for all K
        src = src_ctrl                                         # K x C x 2
        cx, cy = tgt[:, 0:1], tgt[:, 1:2]
        feats = torch.cat([torch.ones_like(cx), tgt, cx * cx, cx * cy, cy * cy,
                           src.permute(1, 0, 2).reshape(-1, 2 * K),
                           (cx[None] * src).permute(1, 0, 2).reshape(-1, 2 * K),
                           (cy[None] * src).permute(1, 0, 2).reshape(-1, 2 * K)], 1)
        m = _tall_times_narrow(w, feats)
        m = m[:, 1:] / m[:, 0:1]                               # normalise after the matmul: cheaper
        px, py = m[:, 0:1], m[:, 1:2]
        sxx = m[:, 2:3] - px * px + 1e-7
        sxy = m[:, 3:4] - px * py
        syy = m[:, 4:5] - py * py + 1e-7
        q = m[:, 5:5 + 2 * K].view(-1, K, 2)
        xq = m[:, 5 + 2 * K:5 + 4 * K].view(-1, K, 2) - px[:, :, None] * q
        yq = m[:, 5 + 4 * K:5 + 6 * K].view(-1, K, 2) - py[:, :, None] * q
        det = sxx * syy - sxy * sxy
        dx = (P[:, 0:1] - px) / det
        dy = (P[:, 1:2] - py) / det
        ux = dx * syy - dy * sxy                               # (dx, dy) @ Spp^-1
        uy = dy * sxx - dx * sxy
        mls_all = ux[:, :, None] * xq + uy[:, :, None] * yq + q    # (G^2 + patches) x K x 2
        ex, ey = c.eye_patch
        # gaze: where each source's iris is minus where the MLS flow reads at the target iris,
        # at most a third of the eye's width (a tracking glitch must not tear the eye)
        n_e = n_grid + E * n_eye
        gaze = src_lmk[:, self.i_iris].transpose(0, 1) - mls_all[n_e:].view(E, K, 2)
        limit = (width_e[:, None, None] * c.gaze_limit)
        gaze = torch.maximum(torch.minimum(gaze, limit), -limit)
        eye_flow = _lid_correction(patches, mls_all[n_grid:n_e].view(E, n_eye, K, 2), tgt_all, src_lmk,
                                   self.i_upper, self.i_lower, self.i_brow, c.lid_band, c.lid_margin, c.brow_keep, c.lash,
                                   c.lid_stretch, gaze)
        # the eyeball reads each source's iris at the target's, kept within `gaze_limit` eye widths
        # of the eye's centre (a glitch must not put the iris on the cheek)
        iris_in = centre_e + torch.maximum(torch.minimum(iris_t - centre_e, limit[:, 0]), -limit[:, 0])
        # each eye's opening (lid gap over width), in every source and in the target: the eyeball and
        # the eye key below both weigh them
        opening = eye_openings(src_lmk, self.i_upper, self.i_lower)                     # K x E
        opening_t = eye_openings(tgt_all, self.i_upper, self.i_lower)                   # E
        ball = _eyeball(patches, tgt_all, src_lmk, self.i_upper, self.i_lower, iris_in, src_lmk[:, self.i_iris],
                        iris_radii(src_lmk), opening_t[:, None] / opening.t().clamp_min(1e-3),
                        c.ball_margin, c.ball_inset, c.wide_open, c.ball_from, src_rgb, src_palette[4], c.ball_seam,
                        eye_flow, c.ball_corner)
        eye_flow = torch.cat([eye_flow, ball], -1).permute(1, 0, 3, 2).reshape(K, E, 9, ey, ex)
        P, mls = P_grid, mls_all[:n_grid]

        # outside the face: the head's rigid motion, fading to no motion towards the crop border
        # (the head outline's upper half: the jaw opens, and nose/eyes shift more than the skull
        # outline when the head turns, which would drag the hair)
        a, b, ms, md = _similarity(tgt_all[self.i_skull][None].expand(K, -1, -1), src_lmk[:, self.i_skull])
        radius = (oval - centre).norm(dim=1).mean()
        # the neck's column spans where the face is now and where it is in the photo: the neck's
        # top moves with the head, its foot stays
        photo_x = src_lmk[0, self.i_oval, 0].mean()
        col_lo = torch.minimum(centre[0, 0], photo_x) - c.neck_column * radius
        col_hi = torch.maximum(centre[0, 0], photo_x) + c.neck_column * radius

        def outer_flow(pts, k):
            rigid = _apply_similarity(pts[None].expand(k, -1, -1), a[:k], b[:k], ms[:k], md[:k]).permute(1, 0, 2)
            d = pts - centre
            # below the face the neck and shoulders follow less: the falloff is shorter there. On
            # the neck's column it is long enough that the neck leans from the jaw down to still
            # shoulders (the short one bent it sharply beside the jaw: the head slid over a still
            # neck); beside it the background stays as still as before (d18's face box: the long
            # falloff there cost 0.5 dB)
            beside, on = c.neck_squeeze
            x = pts[:, 0:1]
            column = _smoothstep(torch.minimum(x - col_lo, col_hi - x) / (0.25 * radius))
            dy = torch.where(d[:, 1:2] > 0, d[:, 1:2] * (beside + column * (on - beside)), d[:, 1:2])
            r = torch.cat([d[:, 0:1], dy], 1).norm(dim=1, keepdim=True) / radius
            still = _smoothstep((r - c.falloff[0]) / (c.falloff[1] - c.falloff[0]))[:, :, None]
            return rigid * (1 - still) + pts[:, None, :] * still       # N x k x 2

        outer = outer_flow(P, K)
        if rows is not None:
            mls = outer.index_copy(0, rows, mls)
        flow = face * mls + (1 - face) * outer
        flow_k = flow.permute(1, 0, 2).reshape(K, G, G, 2)

        # which source explains each location best: local residual variance after rigid alignment;
        # the neighbourhood is clamped: no denormals (10x slower on CPU), no empty rows far from landmarks
        d2h = torch.addmm((Ph * Ph).sum(1, keepdim=True) + (tgt * tgt).sum(1)[None], Ph, tgt.t(), alpha=-2.0)
        att = (d2h * (-0.5 / c.select_sigma ** 2)).clamp(min=-30.0).exp()
        a2, b2, ms2, md2 = _similarity(src_lmk[:, self.i_stable], tgt_all[self.i_stable][None].expand(K, -1, -1))
        resid = _apply_similarity(src_ctrl, a2, b2, ms2, md2) - tgt[None]          # K x C x 2
        r_feats = torch.cat([torch.ones_like(cx), resid.permute(1, 0, 2).reshape(-1, 2 * K),
                             (resid * resid).sum(-1).t()], 1)                           # C x (1 + 3K)
        rr = _tall_times_narrow(att, r_feats)
        rr = rr[:, 1:] / rr[:, 0:1]
        mean = rr[:, : 2 * K].view(-1, K, 2)
        var = rr[:, 2 * K:] - (mean * mean).sum(-1)                                      # Gh^2 x K
        score = _upsample(var.t().reshape(1, K, Gh, Gh), G).reshape(K, -1).t() * (-1.0 / c.temperature)

        lips = tgt_all[self.i_mouth]
        if rows is None:
            inside_mouth = soft_polygon_mask(P, lips, c.edge_width * 0.5)[:, None]
        else:   # eager CPU: only around the mouth (the mask is zero a ramp's width outside the lips)
            pad = c.edge_width
            near = ((P >= lips.amin(0) - pad) & (P <= lips.amax(0) + pad)).all(1)
            m_rows = torch.nonzero(near).flatten()
            inside_mouth = P.new_zeros(P.shape[0], 1).index_copy(
                0, m_rows, soft_polygon_mask(P[m_rows], lips, c.edge_width * 0.5)[:, None])
        src_mouth = F.grid_sample(src_mouth, flow_k / self.win_half, align_corners=True).view(K, -1).t()
        score = score - c.mouth_penalty * (inside_mouth * (1 - src_mouth) + 0.5 * (1 - inside_mouth) * src_mouth)
        # a source whose lips are only parted (a smile's teeth, a painting's dark slit) does show a
        # mouth there, but a wide-open target stretches that strip many times into vertical streaks:
        # where its rows are stretched past `mouth_stretch`, the drawn interior (the null key) wins
        step = 2.0 * (self.win_half - 1.0 / c.size) / (G - 1)                        # the grid's row spacing
        stretched = soft_weight(flow_k[..., 1] / step, c.mouth_stretch)                 # K x G x G
        score = score - c.mouth_penalty * inside_mouth * src_mouth * stretched.reshape(K, -1).t()
        # around each eye, a source whose eye is as shut (or as open) as the target's: a blink is
        # read from an eyes-closed photo of the set, not squeezed out of an open eye (a thin strip
        # of eyeball); the local variance above barely tells them apart (a few lid points)
        widest = opening.amax(0).clamp_min(1e-4)
        lo, hi = c.eye_shut
        open_src = _smoothstep((opening / widest - lo) / (hi - lo))                     # 0 shut .. 1 open
        open_tgt = _smoothstep((opening_t / widest - lo) / (hi - lo))
        mismatch = (open_tgt[None] - open_src) ** 2                                     # K x E
        around = patch_uv(P[None], eye_box[:, None])[1]                                # E x G^2
        score = score - c.eye_penalty * around.t() @ mismatch.t()
        others = face[:, 0] * self.win_mask[:, None]
        if K > 1:   # outside the window only the base is drawn
            score = score - torch.cat([torch.zeros_like(others), 1e4 * (1 - others).expand(-1, K - 1)], 1)
        is_base = torch.cat([torch.ones_like(score[:1, :1]), torch.zeros_like(score[:1, 1:])], 1)
        # the null key (the mouth's cavity) only inside the lip line, fading in over the mask's ramp
        # there: a cavity switched on per grid cell would show the grid's staircase
        depth = (2.0 * inside_mouth - 1.0).clamp(0.0, 1.0)
        null = c.null_score - 1e4 * (depth <= 0).float()
        w_null = _softmax_rows(torch.cat([score + c.base_over_null * is_base, null], 1))[:, K:] * depth
        # the sources share the rest; the base takes ties
        src_w = _softmax_rows(score + c.base_bias * is_base) * (1 - w_null)
        weights = torch.cat([src_w, w_null], 1)
        weights = weights.t().reshape(1, K + 1, G, G)
        # where each location sits in the target mouth, for the null key's value
        lips_up, lips_lo = tgt_all[self.i_lip_up], tgt_all[self.i_lip_lo]
        height = (tgt_all[topo.FOREHEAD_TOP] - tgt_all[topo.CHIN]).norm().clamp_min(1e-4)
        # pursed lips ("oo") hide the teeth and tongue behind them, leaving a dark opening
        narrow = _mouth_width(tgt_all, self.i_lip_up) / _mouth_width(src_lmk[0], self.i_lip_up).clamp_min(1e-4)
        recede = c.teeth[0] * _smoothstep((0.9 - narrow) / 0.3)
        eyes = _eye_span(tgt_all)
        if rows is None:
            mouth = mouth_coords(P, lips_up, lips_lo, height, recede, eyes)
        else:   # eager CPU: only where the null key can win (elsewhere its weight is zero)
            mouth = P.new_zeros(4, P.shape[0]).index_copy_(1, m_rows, mouth_coords(P[m_rows], lips_up, lips_lo, height, recede, eyes))
        mouth = mouth.reshape(1, 4, G, G)
        Go = c.outer_grid
        outer_lo = outer_flow(self.outer_pts, 1).reshape(1, Go, Go, 2).permute(0, 3, 1, 2)
        return Coarse(flow_k.permute(0, 3, 1, 2), weights, eye_flow, eye_box, outer_lo, mouth)

    def eye_uv(self, eye_box: torch.Tensor):
        """Per eye, window pixels in patch units (u in [-1, 1] inside the patch) and the patch's
        blend weight, over the whole window: E x n x n x 2 and E x 1 x n x n."""
        win_xy = self.up_win[0] * self.win_half                                          # n x n x 2 crop coords
        u, weight = patch_uv(win_xy[None], eye_box[:, None, None])
        return u, weight[:, None]

    def compose(self, co: Coarse, src_rgb: torch.Tensor, src_palette: torch.Tensor) -> torch.Tensor:
        """Full resolution, static shapes (the exported and CUDA-graph path): the base everywhere,
        the other sources and the null key inside the window, each at its own flow."""
        c = self.config
        K, S, lo, n = c.num_sources, c.size, self.win_lo, self.win_n
        pad = (lo, S - lo - n, lo, S - lo - n)
        base_flow = F.interpolate(co.outer, size=(S, S), mode="bilinear", align_corners=True)
        wf = F.interpolate(co.flow, size=(n, n), mode="bilinear", align_corners=True)   # K x 2 x n x n
        uv, eye_w = self.eye_uv(co.eye_box)
        fill_w, fill_rgb = 0.0, 0.0         # the eyeball's fill (the patches do not overlap: sums)
        for e in range(uv.shape[0]):
            fine = F.grid_sample(co.eye_flow[:, e], uv[e:e + 1].expand(K, -1, -1, -1), align_corners=True)
            flow, fill, rgb = eye_layers(fine, S, eye_w[e:e + 1], src_palette)
            wf = wf + eye_w[e:e + 1] * (flow - wf)
            fill_w, fill_rgb = fill_w + fill, fill_rgb + rgb
        base_flow = base_flow + F.pad(wf[:1] - base_flow[:, :, lo:lo + n, lo:lo + n], pad)
        out = F.grid_sample(src_rgb[:1], base_flow.permute(0, 2, 3, 1), align_corners=False)     # 1 x 3 x S x S
        # inside the eye patches, strongly stretched rows read the row-blurred source
        k = soft_kernel(c)
        soft_rgb = F.avg_pool2d(src_rgb, (1, k), stride=1, padding=(0, k // 2), count_include_pad=False)
        soft_w = soft_weight(wf[:, 1:2] * (S / 2.0), c.soft_stretch) * eye_w.sum(0, keepdim=True).clamp(max=1.0)
        soft_base = F.grid_sample(soft_rgb[:1], wf[:1].permute(0, 2, 3, 1), align_corners=False)
        out = out + F.pad(soft_w[:1] * (soft_base - out[:, :, lo:lo + n, lo:lo + n]), pad)
        out = out + F.pad(fill_rgb[:1] - fill_w[:1] * out[:, :, lo:lo + n, lo:lo + n], pad)
        base_win = out[:, :, lo:lo + n, lo:lo + n]
        w_win = F.interpolate(co.weights, size=(n, n), mode="bilinear", align_corners=True)  # 1 x (K+1) x n x n
        inside = mouth_interior(F.interpolate(co.mouth, size=(n, n), mode="bilinear", align_corners=True)[0],
                                src_palette, c.teeth)[None]
        blend = base_win * w_win[:, 0:1] + inside * w_win[:, K:K + 1]
        if K > 1:
            imgs = F.grid_sample(src_rgb[1:], wf[1:].permute(0, 2, 3, 1), align_corners=False)   # (K-1) x 3 x n x n
            soft = F.grid_sample(soft_rgb[1:], wf[1:].permute(0, 2, 3, 1), align_corners=False)
            imgs = imgs + soft_w[1:] * (soft - imgs)
            imgs = imgs + fill_rgb[1:] - fill_w[1:] * imgs
            blend = blend + (imgs * w_win[0, 1:K, None]).sum(0, keepdim=True)
        out = out + F.pad(blend - base_win, pad)
        return out.clamp(0.0, 1.0)
