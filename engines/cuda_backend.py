"""The torch module on an NVIDIA GPU, replayed as one CUDA graph per frame (no per-kernel launch cost).

Precision: float32. The landmark geometry cannot run in half precision as written (the MLS weights
reach ~1/eps^2 = 2.5e7, past float16's 65504, and flow coordinates need ~1e-4 resolution), and
autocast would put its matmuls in float16; the image blending that could use float16 is a small
share of the work. TensorRT's build (trt_backend) does the per-layer split instead.
"""
import logging

import numpy as np
import torch

from .implicit_warp import ImplicitWarpEngine, WarpConfig
from .predictor import Predictor

log = logging.getLogger(__name__)


def require_cuda() -> torch.device:
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device")
    return torch.device("cuda", torch.cuda.current_device())


class DeviceFrames:
    """Per-frame I/O on one stream: landmarks up through pinned memory, one BGR download at the end."""

    def __init__(self, size: int, device: torch.device):
        self.stream = torch.cuda.Stream(device)
        self.tgt_host = torch.empty(478, 2, pin_memory=True)
        self.bgr_host = torch.empty(size, size, 3, dtype=torch.uint8, pin_memory=True)
        self._uploaded = torch.cuda.Event()

    def upload(self, tgt_lmk, dst: torch.Tensor) -> None:
        tgt = np.asarray(tgt_lmk, np.float32)
        if tgt.ndim != 2 or tgt.shape[0] < 478 or tgt.shape[1] < 2:
            raise ValueError(f"expected target landmarks 478 x 2, got {tgt.shape}")
        # render_tensor() returns without a host sync: the last copy must have left the pinned buffer
        self._uploaded.synchronize()
        self.tgt_host.copy_(torch.from_numpy(np.ascontiguousarray(tgt[:478, :2])))
        dst.copy_(self.tgt_host, non_blocking=True)
        self._uploaded.record(self.stream)

    @staticmethod
    def to_bgr8(frame_nchw: torch.Tensor) -> torch.Tensor:
        """1 x 3 x S x S RGB float in [0,1] on the device -> S x S x 3 uint8 BGR on the device."""
        return (frame_nchw[0].flip(0) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).contiguous()

    def download(self, bgr_dev: torch.Tensor) -> np.ndarray:
        self.bgr_host.copy_(bgr_dev, non_blocking=True)
        self.stream.synchronize()
        return self.bgr_host.numpy().copy()     # the pinned buffer is reused next frame

    def hand_over(self, out_nchw: torch.Tensor) -> torch.Tensor:
        """A float copy of out_nchw the caller may keep, ordered on the caller's current stream (no host
        sync): the engine's output buffer is overwritten by the next frame on our stream."""
        caller = torch.cuda.current_stream(self.stream.device)
        with torch.cuda.stream(self.stream):
            fresh = out_nchw.float().clone()
        caller.wait_stream(self.stream)
        fresh.record_stream(caller)             # made on our stream, used and freed on the caller's
        return fresh


class TorchCudaPredictor(Predictor):
    name = "torch-cuda"
    device = "cuda"

    def __init__(self, config: WarpConfig, cuda_graph: bool = True):
        super().__init__(config)
        self.dev = require_cuda()
        self.engine = ImplicitWarpEngine(config).to(self.dev).eval()
        self.io = DeviceFrames(config.size, self.dev)
        self._tgt = torch.zeros(478, 2, device=self.dev)
        self._use_graph = cuda_graph
        self._graph = None
        self._graph_rgb = self._graph_out = None
        self._ready = False

    def _frame(self):
        """(1 x 3 x S x S RGB float, S x S x 3 uint8 BGR), both on the device."""
        rgb = self.engine(self._tgt)
        return rgb, DeviceFrames.to_bgr8(rgb)

    @torch.no_grad()
    def set_sources(self, rgb_kchw, lmk_kn2):
        with torch.cuda.stream(self.io.stream):
            # set_sources writes the engine's buffers in place, so a captured graph stays valid
            self.engine.set_sources(torch.as_tensor(rgb_kchw).to(self.dev), torch.as_tensor(lmk_kn2).to(self.dev))
            self._tgt.zero_()
            self._tgt[: self.engine.src_lmk.shape[1]] = self.engine.src_lmk[0]   # plausible warm-up input
        self.io.stream.synchronize()
        self._ready = True
        if self._use_graph and self._graph is None:
            self._capture()

    def _capture(self) -> None:
        try:
            with torch.no_grad(), torch.cuda.stream(self.io.stream):
                for _ in range(3):                  # warm-up on the capture stream, as the CUDA-graph docs ask
                    self._frame()
            self.io.stream.synchronize()
            graph = torch.cuda.CUDAGraph()
            with torch.no_grad(), torch.cuda.graph(graph, stream=self.io.stream):
                self._graph_rgb, self._graph_out = self._frame()   # static outputs, rewritten by replay()
            self._graph = graph
        except Exception as exc:  # keep working eagerly, and say so
            log.warning("torch-cuda: CUDA graph capture failed (%s); running eagerly", exc)
            self._use_graph = False
            self._graph = None

    def _run(self, tgt_lmk, caller: str):
        """One frame on our stream (call inside it): (RGB float, BGR uint8) on the device."""
        if not self._ready:
            raise RuntimeError(f"set_sources() must be called before {caller}()")
        self.io.upload(tgt_lmk, self._tgt)
        if self._graph is not None:
            self._graph.replay()
            return self._graph_rgb, self._graph_out
        return self._frame()

    @torch.no_grad()
    def render_bgr(self, tgt_lmk):
        with torch.cuda.stream(self.io.stream):
            return self.io.download(self._run(tgt_lmk, "render_bgr")[1])

    @torch.no_grad()
    def render_tensor(self, tgt_lmk):
        """The engine's output kept on the GPU for the device-side composer: no download, no host sync."""
        with torch.cuda.stream(self.io.stream):
            rgb = self._run(tgt_lmk, "render_tensor")[0]
        return self.io.hand_over(rgb)
