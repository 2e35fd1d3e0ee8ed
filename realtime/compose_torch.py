"""Paste-back, label and watermark on the engine's device, with one download of the finished frame.

Why: with the engine on a GPU the host path would download the S x S crop, remap and blend it on the
CPU, then label and watermark there. Here the crop stays on the device and only the labelled frame
comes down, once. Same geometry as compose.PasteBack (its own sampling positions and feathered
alpha are reused, so both paths read the same pixels), same label and watermark as the Labeller.
Device-agnostic torch: on the CPU device it is how the tests check the GPU path.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engines.predictor import bgr8_to_nchw
from .compose import PasteBack


class DeviceComposer:
    """Per avatar, once: sampling grid over the ROI, alpha and base frame on `device`. Per frame: one
    grid_sample of the crop and one blend (paste), the label and watermark in place, one download."""

    def __init__(self, paste: PasteBack, labeller, device):
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:   # "cuda" -> "cuda:N", as tensors report
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.labeller = labeller                  # needs apply_tensor (Labeller has it)
        S = self.size = paste.size
        x0, y0, x1, y1 = paste.roi
        self._rows, self._cols = slice(y0, y1), slice(x0, x1)
        # PasteBack's fixed-point maps back to float: the very positions cv2.remap reads (1/32 px)
        mx, my = cv2.convertMaps(paste.map1, paste.map2, cv2.CV_32FC1)
        grid = np.stack([(2 * mx + 1) / S - 1, (2 * my + 1) / S - 1], -1)   # align_corners=False units
        self._grid = torch.from_numpy(grid[None].astype(np.float32)).to(self.device)
        self._alpha = torch.from_numpy(paste.alpha).to(self.device)          # h x w, broadcast over BGR
        self._base = torch.from_numpy(np.ascontiguousarray(paste.base)).to(self.device)
        self._base_roi = self._base[self._rows, self._cols].permute(2, 0, 1).float()
        # the one download goes through page-locked memory on a GPU (a true async DMA)
        self._host = torch.empty(self._base.shape, dtype=torch.uint8, pin_memory=True) \
            if self.device.type == "cuda" else None

    def upload(self, crop_bgr: np.ndarray) -> torch.Tensor:
        """An S x S x 3 uint8 BGR crop (the held base pose) as the engine's output would be."""
        return bgr8_to_nchw(crop_bgr, self.device)

    @torch.no_grad()
    def paste(self, crop_nchw: torch.Tensor) -> torch.Tensor:
        """1 x 3 x S x S RGB float in [0,1] on the device -> H x W x 3 uint8 BGR full frame on the device."""
        S = self.size
        if tuple(crop_nchw.shape) != (1, 3, S, S) or crop_nchw.device != self.device:
            raise ValueError(f"compose: expected a 1x3x{S}x{S} tensor on {self.device}, got "
                             f"{tuple(crop_nchw.shape)} on {crop_nchw.device}")
        # bilinear with edge replication, as cv2.remap(INTER_LINEAR, BORDER_REPLICATE) on the host
        warped = F.grid_sample(crop_nchw.float(), self._grid, mode="bilinear", padding_mode="border",
                               align_corners=False)[0].flip(0) * 255.0          # 3 x h x w BGR
        roi = torch.lerp(self._base_roi, warped, self._alpha)
        frame = self._base.clone()
        frame[self._rows, self._cols] = roi.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)
        return frame

    def finish(self, frame_hwc: torch.Tensor) -> np.ndarray:
        """Label and watermark in place, then download once. Fails closed: if labelling raises, the
        exception propagates and nothing comes down."""
        self.labeller.apply_tensor(frame_hwc)
        if self._host is None:
            return frame_hwc.numpy()               # CPU device: paste() made a fresh frame; no copy
        self._host.copy_(frame_hwc, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return self._host.numpy().copy()           # the pinned buffer is reused next frame

    def sync(self) -> None:
        """Wait for queued device work (bench: true per-stage times). No-op on the CPU."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
