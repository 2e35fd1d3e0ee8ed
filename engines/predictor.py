"""The Predictor seam: one interface over every way of running the engine (torch CPU now; ONNX Runtime,
torch CUDA and TensorRT register themselves here). Callers never branch on the backend."""
import logging
from dataclasses import dataclass

import numpy as np
import torch

from . import cpu_tuning
from .cpu_compose import CpuComposer
from .implicit_warp import ImplicitWarpEngine, WarpConfig

log = logging.getLogger(__name__)


class Predictor:
    """Contract: set_sources() once per avatar set, then render_bgr() per frame.

    render_bgr(tgt_lmk: 478 x 2 float32 normalised crop coords) -> S x S x 3 uint8 BGR, a fresh array
    the caller may keep (backends that reuse buffers copy before returning).
    """
    name = "abstract"
    device = "cpu"

    def __init__(self, config: WarpConfig):
        self.config = config

    def set_sources(self, rgb_kchw: np.ndarray, lmk_kn2: np.ndarray) -> None:
        raise NotImplementedError

    def render_bgr(self, tgt_lmk: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def render_tensor(self, tgt_lmk: np.ndarray) -> torch.Tensor:
        """1 x 3 x S x S RGB float in [0,1] on `device`, a fresh tensor the caller may keep.

        For compositing on the engine's device. This default uploads render_bgr(); GPU backends
        override it so the crop never makes a host round trip."""
        return bgr8_to_nchw(self.render_bgr(tgt_lmk), self.device)


class TorchPredictor(Predictor):
    """The torch module on the CPU: its attention stage in torch, its full-resolution stage on uint8
    images with OpenCV (`cpu_compose.py`; `render_reference` runs the module's own compose)."""
    name = "torch"

    def __init__(self, config: WarpConfig, threads: int = None):
        super().__init__(config)
        torch.set_num_threads(threads or cpu_tuning.engine_threads())
        # numpy describes its float types lazily, and once denormals flush to zero it warns on the
        # user's console that the smallest subnormal "is zero": described now, they are cached
        np.finfo(np.float64), np.finfo(np.float32)
        torch.set_flush_denormal(True)      # denormal floats are ~10x slower on x86 CPUs
        cpu_tuning.keep_heap()
        self.engine = ImplicitWarpEngine(config).eval()
        self.composer = CpuComposer(self.engine)

    def set_sources(self, rgb_kchw, lmk_kn2):
        self.engine.set_sources(torch.as_tensor(rgb_kchw), torch.as_tensor(lmk_kn2))
        self.composer.set_sources(rgb_kchw)

    @torch.inference_mode()
    def render_bgr(self, tgt_lmk):
        tgt = torch.as_tensor(np.asarray(tgt_lmk, np.float32))
        return self.composer(self.engine.coarse(tgt, face_rows_only=True))

    @torch.inference_mode()
    def render_reference(self, tgt_lmk):
        """The same frame through the module's static torch graph (what ONNX, CUDA and TensorRT run)."""
        return to_bgr8(self.engine(torch.as_tensor(np.asarray(tgt_lmk, np.float32))))


def to_bgr8(out_nchw: torch.Tensor) -> np.ndarray:
    """1 x 3 x S x S RGB float in [0,1] -> S x S x 3 uint8 BGR (contiguous, owned)."""
    img = (out_nchw[0].flip(0) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0)
    return np.ascontiguousarray(img.cpu().numpy())


def bgr8_to_nchw(bgr: np.ndarray, device="cpu") -> torch.Tensor:
    """S x S x 3 uint8 BGR -> 1 x 3 x S x S RGB float in [0,1] on device (the inverse of to_bgr8)."""
    t = torch.from_numpy(np.ascontiguousarray(bgr)).to(device)
    return (t.permute(2, 0, 1).flip(0).float() / 255.0)[None].contiguous()


@dataclass
class BackendChoice:
    predictor: Predictor
    name: str
    reasons: list          # why faster backends were skipped, for the log, status bar and bench


# name -> factory(config) ; factories raise RuntimeError with a reason when unavailable
BACKENDS = {"torch": TorchPredictor}
# measured: on a 2-core CPU ONNX Runtime ran this graph 2x slower than torch (BENCHMARKS.md)
AUTO_ORDER = ["tensorrt", "torch-cuda", "torch", "onnxruntime"]


def create_predictor(backend: str, config: WarpConfig) -> BackendChoice:
    """Build the requested backend; 'auto' tries the fastest first and records why others were skipped."""
    if backend != "auto":
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; available: auto, {', '.join(sorted(BACKENDS))}")
        return BackendChoice(BACKENDS[backend](config), backend, [])
    reasons = []
    for name in AUTO_ORDER:
        factory = BACKENDS.get(name)
        if factory is None:
            reasons.append(f"{name}: not built into this version")
            continue
        try:
            pred = factory(config)
        except Exception as exc:  # each failure is a reason to report, not a crash
            reasons.append(f"{name}: {exc}")
            continue
        if reasons:
            log.info("backend %s chosen; skipped: %s", name, "; ".join(reasons))
        return BackendChoice(pred, name, reasons)
    raise RuntimeError("no engine backend could start: " + "; ".join(reasons))


from . import backends  # noqa: E402,F401  (registers tensorrt, torch-cuda, onnxruntime)
