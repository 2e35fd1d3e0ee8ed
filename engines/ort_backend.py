"""ONNX Runtime on the CPU: the exported per-frame graph, with the avatar set's tensors bound once."""
import logging

import numpy as np
import torch

from . import export
from .implicit_warp import ImplicitWarpEngine, WarpConfig
from .predictor import Predictor, to_bgr8

log = logging.getLogger(__name__)


class OrtPredictor(Predictor):
    name = "onnxruntime"

    def __init__(self, config: WarpConfig, threads: int = None, cache_dir=None):
        super().__init__(config)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise RuntimeError("onnxruntime is not installed") from exc
        self.model_path, self.cache_status = export.cached_onnx(config, cache_dir)
        opts = ort.SessionOptions()
        # no busy-waiting workers between runs: the app's other threads (tracking, capture, UI) share these cores
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.model_path), opts, providers=["CPUExecutionProvider"])
        self._sources = ImplicitWarpEngine(config).eval()   # does the once-per-avatar-set work
        self._binding = self.session.io_binding()
        S = config.size
        self._out = np.empty((1, 3, S, S), np.float32)
        self._binding.bind_output(export.OUTPUT_NAME, "cpu", 0, np.float32, self._out.shape, self._out.ctypes.data)
        self._bound = {}
        self._ready = False

    def set_sources(self, rgb_kchw, lmk_kn2):
        self._sources.set_sources(torch.as_tensor(rgb_kchw), torch.as_tensor(lmk_kn2))
        # keep the arrays alive: the binding may refer to their memory
        self._bound = {name: np.ascontiguousarray(t.numpy(), np.float32)
                       for name, t in export.source_tensors(self._sources).items()}
        for name, arr in self._bound.items():
            self._binding.bind_cpu_input(name, arr)
        self._ready = True

    def render_bgr(self, tgt_lmk):
        if not self._ready:
            raise RuntimeError("set_sources() must be called before render_bgr()")
        tgt = np.asarray(tgt_lmk, np.float32)
        if tgt.ndim != 2 or tgt.shape[0] < 478 or tgt.shape[1] < 2:
            raise ValueError(f"expected target landmarks 478 x 2, got {tgt.shape}")
        self._binding.bind_cpu_input("tgt_lmk", np.ascontiguousarray(tgt[:478, :2]))
        self.session.run_with_iobinding(self._binding)
        return to_bgr8(torch.from_numpy(self._out))
