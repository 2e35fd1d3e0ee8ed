"""The visible label and the watermark as tensor ops, for frames that live on the engine's device.

Why: with the engine on a GPU, labelling on the host would need the frame downloaded first and the
finished frame is the only thing that should come down. The plate is label.VisibleLabel's (rendered
once per frame size, uploaded once) with the same 85% blend as its cv2.addWeighted; the watermark is
TorchWatermarker (within 2 levels of the numpy one, so the one detector reads both). Labeller owns
one of these per (size, device): Labeller.apply_tensor is the entry point.
"""
import torch

from .label import VisibleLabel
from .watermark_torch import TorchWatermarker


class TorchLabel:
    def __init__(self, label: VisibleLabel, session_id: str, device):
        self.device = torch.device(device)
        self.size = label.size
        x0, y0 = label.rect[:2]
        ph, pw = label.plate.shape[:2]
        self._rows, self._cols = slice(y0, y0 + ph), slice(x0, x0 + pw)
        self._keep = 1.0 - label.opacity
        self._plate = torch.from_numpy(label.plate).to(self.device).float() * label.opacity
        self.mark = TorchWatermarker(*label.size, session_id, device=self.device)

    @torch.no_grad()
    def apply(self, frame_hwc: torch.Tensor) -> torch.Tensor:
        """Label, then watermark a uint8 H x W x 3 BGR tensor in place; raises on anything else."""
        w, h = self.size
        if frame_hwc.dtype != torch.uint8 or tuple(frame_hwc.shape) != (h, w, 3) \
                or frame_hwc.device != self.device:
            raise ValueError(f"label: expected a uint8 {h}x{w}x3 tensor on {self.device}, got "
                             f"{frame_hwc.dtype} {tuple(frame_hwc.shape)} on {frame_hwc.device}")
        roi = frame_hwc[self._rows, self._cols]
        roi.copy_((roi.float() * self._keep + self._plate).round_().clamp_(0, 255).to(torch.uint8))
        return self.mark.apply(frame_hwc)
