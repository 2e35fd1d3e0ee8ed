"""The same watermark embedder in torch, for frames that already live on a GPU (W11: <= 3 ms).

Same pattern, texture mask and per-frame RMS cap as watermark.Watermarker; results agree with it to
within one luma level, so the one detector reads both. No host copies and no GPU->CPU sync per frame.
"""
import torch
import torch.nn.functional as F

from . import watermark as wm


class TorchWatermarker:
    def __init__(self, width: int, height: int, session_id: str, device="cpu", strength: float = 1.0):
        self.size = (width, height)
        self.session_id = session_id
        self.device = torch.device(device)
        self.pattern = torch.from_numpy(wm.pattern(width, height, session_id)).to(self.device)
        self._small = (max(8, height // 4), max(8, width // 4))
        k = max(3, int(round(wm.cell_size(width, height) / 4)) * 2 + 1)
        self._k = k
        self.strength = float(strength)
        # BGR -> luma weights (ITU-R BT.601, as OpenCV's BGR2GRAY)
        self._w = torch.tensor([0.114, 0.587, 0.299], device=self.device).view(3, 1, 1)

    @torch.no_grad()
    def apply(self, frame_hwc: torch.Tensor) -> torch.Tensor:
        """Watermark a uint8 H x W x 3 BGR tensor in place and return it."""
        h, w = frame_hwc.shape[:2]
        if (w, h) != self.size or frame_hwc.dtype != torch.uint8 or frame_hwc.shape[2] != 3:
            raise ValueError(f"watermark: expected uint8 {self.size[0]}x{self.size[1]}x3, got "
                             f"{frame_hwc.dtype} {tuple(frame_hwc.shape)}")
        x = frame_hwc.permute(2, 0, 1).float()                              # 3 x H x W
        small = F.interpolate(x[None], size=self._small, mode="area")[0]
        y = (small * self._w).sum(0, keepdim=True)[None]                    # 1 x 1 x h x w
        pad = self._k // 2
        yp = F.pad(y, (pad, pad, pad, pad), mode="reflect")
        mean = F.avg_pool2d(yp, self._k, stride=1)
        var = F.avg_pool2d(yp * yp, self._k, stride=1) - mean * mean
        amp = (wm.AMP_MIN + wm.AMP_GAIN * var.clamp_min(0).sqrt()).clamp(wm.AMP_MIN, wm.AMP_MAX)
        gain = (wm.AMP_RMS_MAX / amp.square().mean().sqrt()).clamp(max=1.0) * self.strength
        amp = F.interpolate(amp, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        delta = amp * gain * self.pattern
        out = (x + delta).round_().clamp_(0, 255).to(torch.uint8)
        frame_hwc.copy_(out.permute(1, 2, 0))
        return frame_hwc
