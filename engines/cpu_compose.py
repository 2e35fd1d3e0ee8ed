"""The engine's full-resolution stage on a CPU: the same composition as `ImplicitWarpEngine.compose`,
with the sources kept as uint8 BGR images and sampled by OpenCV's remap.

Why: on a 2-core CPU, torch's float `grid_sample` of a 512 x 512 RGB crop takes ~4.4 ms, OpenCV's
remap of the same crop in uint8 ~1.1 ms, and the output is the uint8 BGR frame the pipeline needs
anyway. Sources other than the base (and the null key) are sampled only inside the rectangle where
their attention weight is not negligible: an open-mouth source wins the mouth, not the whole window.

Coordinates: the coarse flows are in normalised crop coordinates (grid_sample, align_corners=False);
they are turned into pixel coordinates before upsampling, which commutes with bilinear upsampling.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .implicit_warp import Coarse, ImplicitWarpEngine, eye_layers, mouth_interior, patch_uv, soft_kernel, soft_weight

WEIGHT_EPS = 1e-3     # a source whose weight stays below this everywhere is not sampled


def interp_matrix(n_out: int, n_in: int) -> torch.Tensor:
    """Bilinear upsampling with align_corners=True from n_in to n_out points, as an n_out x n_in matrix.

    Upsampling a coarse map is then A_rows @ X @ A_cols^T: two small matmuls (exact, and 3-8x faster
    than F.interpolate/grid_sample on this CPU), and any pixel rectangle is just a slice of the rows.
    """
    pos = torch.linspace(0.0, n_in - 1.0, n_out)
    return (1.0 - (pos[:, None] - torch.arange(n_in, dtype=torch.float32)[None]).abs()).clamp_min(0.0)


class CpuComposer:
    def __init__(self, engine: ImplicitWarpEngine):
        self.engine = engine
        c = engine.config
        self.S, self.K, self.lo, self.n = c.size, c.num_sources, engine.win_lo, engine.win_n
        self.G = engine.src_mouth.shape[-1]
        self.src_bgr = []
        self.up_outer = interp_matrix(self.S, c.outer_grid)      # S x Go
        self.up_win = interp_matrix(self.n, self.G)              # n x G

    def _up(self, coarse: torch.Tensor, rect) -> torch.Tensor:
        """C x G x G window-grid map -> C x h x w over window-pixel rectangle rect."""
        y0, y1, x0, x1 = rect
        return self.up_win[y0:y1] @ coarse @ self.up_win[x0:x1].t()

    def set_sources(self, rgb_kchw: np.ndarray) -> None:
        """rgb: K x 3 x S x S float in [0, 1] (what the engine gets) -> K contiguous S x S x 3 uint8 BGR."""
        rgb = np.asarray(rgb_kchw, np.float32)
        self.src_bgr = [np.ascontiguousarray((np.clip(img[::-1], 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0))
                        for img in rgb]
        k = soft_kernel(self.engine.config)
        self.src_soft = [cv2.blur(img, (k, 1)) for img in self.src_bgr]     # rows blurred: see soft_weight

    def _px(self, flow: torch.Tensor) -> torch.Tensor:
        """Normalised crop coordinates -> pixel coordinates (pixel centres at integers)."""
        return flow * (self.S / 2.0) + (self.S / 2.0 - 0.5)

    def _eye_rects(self, co: Coarse):
        """Per eye, the window-pixel rectangle its patch covers, the patch coordinates there, the
        patch's blend weight (the weight is zero outside the rectangle) and the rectangle within it
        where any source's eyeball shows (None: nowhere; the opening is a fifth of the patch)."""
        eng, n = self.engine, self.n
        out = []
        for e, (cx, cy, hx, hy) in enumerate(co.eye_box.tolist()):
            to_px = lambda v: (v / eng.win_half + 1.0) * (n - 1) / 2.0  # noqa: E731
            y0, y1 = max(0, int(to_px(cy - hy))), min(n, int(to_px(cy + hy)) + 2)
            x0, x1 = max(0, int(to_px(cx - hx))), min(n, int(to_px(cx + hx)) + 2)
            if y1 <= y0 or x1 <= x0:
                continue
            u, weight = patch_uv(eng.up_win[0, y0:y1, x0:x1] * eng.win_half, co.eye_box[e])
            ball = None
            shown = co.eye_flow[:, e, 4].amax(0) > 0                             # ey x ex cells
            if bool(shown.any()):
                ey, ex = shown.shape
                rows, cols = torch.nonzero(shown.any(1)).flatten(), torch.nonzero(shown.any(0)).flatten()
                cell = lambda i, m: -1.0 + 2.0 * i / (m - 1)  # noqa: E731  (one cell's margin each side)
                by0 = max(y0, int(to_px(cy + hy * cell(int(rows[0]) - 1, ey))))
                by1 = min(y1, int(to_px(cy + hy * cell(int(rows[-1]) + 1, ey))) + 2)
                bx0 = max(x0, int(to_px(cx + hx * cell(int(cols[0]) - 1, ex))))
                bx1 = min(x1, int(to_px(cx + hx * cell(int(cols[-1]) + 1, ex))) + 2)
                ball = (by0, by1, bx0, bx1) if by1 > by0 and bx1 > bx0 else None
            out.append((e, (y0, y1, x0, x1), u[None], weight[None, None], ball))
        return out

    def _flow_rect(self, co: Coarse, k: int, rect, eyes):
        """Source k's pixel flow over a window rectangle (2 x h x w), eye patches blended in, and
        per patch the eyeball's fill: (sub-rectangle within rect, its weight, its premultiplied RGB)."""
        y0, y1, x0, x1 = rect
        wf = self._up(self._px(co.flow[k]), rect)[None]
        fills = []
        for e, (ey0, ey1, ex0, ex1), uv, weight, ball in eyes:
            iy0, iy1, ix0, ix1 = max(y0, ey0), min(y1, ey1), max(x0, ex0), min(x1, ex1)
            if iy1 <= iy0 or ix1 <= ix0:
                continue
            sub_uv = uv[:, iy0 - ey0:iy1 - ey0, ix0 - ex0:ix1 - ex0]
            w = weight[:, :, iy0 - ey0:iy1 - ey0, ix0 - ex0:ix1 - ex0]
            skin = F.grid_sample(co.eye_flow[k:k + 1, e, :2], sub_uv, align_corners=True)
            part = wf[:, :, iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            part += w * (self._px(skin) - part)
            if ball is None:
                continue
            by0, by1, bx0, bx1 = max(iy0, ball[0]), min(iy1, ball[1]), max(ix0, ball[2]), min(ix1, ball[3])
            if by1 <= by0 or bx1 <= bx0:
                continue
            # the eyeball, only where it can show: what it changes from the skin's flow, and its fill
            fine = F.grid_sample(co.eye_flow[k:k + 1, e], uv[:, by0 - ey0:by1 - ey0, bx0 - ex0:bx1 - ex0], align_corners=True)
            bw = weight[:, :, by0 - ey0:by1 - ey0, bx0 - ex0:bx1 - ex0]
            flow, fill, rgb = eye_layers(fine, self.S, bw, self.engine.src_palette)
            wf[:, :, by0 - y0:by1 - y0, bx0 - x0:bx1 - x0] += bw * (flow - fine[:, :2]) * (self.S / 2.0)
            fills.append(((by0 - y0, by1 - y0, bx0 - x0, bx1 - x0), fill, rgb))
        return wf[0], fills

    def _fill(self, img: np.ndarray, fills) -> None:
        """Paint the eyeball the source hides under its lids (in place; img: h x w x 3 uint8 BGR)."""
        for (y0, y1, x0, x1), weight, rgb in fills:
            if float(weight.max()) <= WEIGHT_EPS:
                continue
            pre = rgb[0].flip(0).permute(1, 2, 0).numpy() * 255.0
            part = img[y0:y1, x0:x1]
            keep = 1.0 - weight[0, 0].numpy()[..., None]
            part[:] = np.clip(part * keep + pre + 0.5, 0, 255).astype(np.uint8)

    def _soften(self, img: np.ndarray, flow: torch.Tensor, k: int, rect, eyes) -> None:
        """Where an eye patch stretches source k's rows, blend in its row-blurred copy (in place).
        img: h x w x 3 uint8 sampled at flow (2 x h x w pixels) over window rectangle rect."""
        y0, y1, x0, x1 = rect
        for e, (ey0, ey1, ex0, ex1), uv, weight, _ in eyes:
            iy0, iy1, ix0, ix1 = max(y0, ey0), min(y1, ey1), max(x0, ex0), min(x1, ex1)
            if iy1 - iy0 < 3 or ix1 <= ix0:
                continue
            fl = flow[:, iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            w = soft_weight(fl[1], self.engine.config.soft_stretch) * weight[0, 0, iy0 - ey0:iy1 - ey0, ix0 - ex0:ix1 - ex0]
            if float(w.max()) <= WEIGHT_EPS:
                continue
            fx, fy = np.ascontiguousarray(fl[0].numpy()), np.ascontiguousarray(fl[1].numpy())
            soft = cv2.remap(self.src_soft[k], fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            part = img[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            wn = np.ascontiguousarray(w.numpy())
            part[:] = cv2.blendLinear(soft, np.ascontiguousarray(part), wn, np.ascontiguousarray(1.0 - wn))

    def _live_rect(self, w: torch.Tensor):
        """Window-pixel rectangle around the coarse cells where weight w (G x G) exceeds WEIGHT_EPS,
        one cell wider on each side (bilinear upsampling spreads a cell's weight that far)."""
        on = w > WEIGHT_EPS
        rows = torch.nonzero(on.any(1)).flatten()
        if rows.numel() == 0:
            return None
        cols = torch.nonzero(on.any(0)).flatten()
        step = (self.n - 1) / (self.G - 1)
        y0, y1 = int(rows[0]) - 1, int(rows[-1]) + 1
        x0, x1 = int(cols[0]) - 1, int(cols[-1]) + 1
        return (max(0, int(y0 * step)), min(self.n, int(np.ceil(y1 * step)) + 1),
                max(0, int(x0 * step)), min(self.n, int(np.ceil(x1 * step)) + 1))

    def __call__(self, co: Coarse) -> np.ndarray:
        """Coarse attention results -> S x S x 3 uint8 BGR crop."""
        K, lo, n = self.K, self.lo, self.n
        eyes = self._eye_rects(co)
        base = self.up_outer @ self._px(co.outer[0]) @ self.up_outer.t()                 # 2 x S x S
        base[:, lo:lo + n, lo:lo + n], fills = self._flow_rect(co, 0, (0, n, 0, n), eyes)
        out = cv2.remap(self.src_bgr[0], base[0].numpy(), base[1].numpy(), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        self._soften(out[lo:lo + n, lo:lo + n], base[:, lo:lo + n, lo:lo + n], 0, (0, n, 0, n), eyes)
        self._fill(out[lo:lo + n, lo:lo + n], fills)
        weights = co.weights[0]
        live = [(k, r) for k in range(1, K + 1) if (r := self._live_rect(weights[k])) is not None]
        if not live:
            return out
        # sources join one by one in uint8: blendLinear gives (src*w_k + acc*mass)/(w_k + mass),
        # where mass is the weight already in acc (the base's, then each source's added)
        uy0, uy1 = min(r[0] for _, r in live), max(r[1] for _, r in live)
        ux0, ux1 = min(r[2] for _, r in live), max(r[3] for _, r in live)
        wu = self._up(co.weights[0], (uy0, uy1, ux0, ux1))
        mass = wu[0].clone()
        region = out[lo + uy0:lo + uy1, lo + ux0:lo + ux1]
        for k, rect in live:
            y0, y1, x0, x1 = rect[0] - uy0, rect[1] - uy0, rect[2] - ux0, rect[3] - ux0   # within region
            wk = np.ascontiguousarray(wu[k, y0:y1, x0:x1].numpy())
            prev = np.ascontiguousarray(mass[y0:y1, x0:x1].numpy())
            if k == K:     # the null key: the mouth interior in the avatar's colours
                rgb = mouth_interior(self._up(co.mouth[0], rect), self.engine.src_palette, self.engine.config.teeth)
                img = np.ascontiguousarray((rgb.flip(0).permute(1, 2, 0) * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).numpy())
            else:
                fl, fills = self._flow_rect(co, k, rect, eyes)
                img = cv2.remap(self.src_bgr[k], fl[0].numpy(), fl[1].numpy(), cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                self._soften(img, fl, k, rect, eyes)
                self._fill(img, fills)
            region[y0:y1, x0:x1] = cv2.blendLinear(img, region[y0:y1, x0:x1], wk, prev)
            mass += wu[k]
        return out
