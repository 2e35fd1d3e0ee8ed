"""TensorRT: an engine built from the exported ONNX graph, cached on disk, run on CUDA tensors bound in place.

Follows the TensorRT 10 Python API (named I/O tensors, set_tensor_address, execute_async_v3).
Precision "fp16" sets BuilderFlag.FP16 and pins every layer to float32 except the elementwise work
on full-resolution colour images: landmark geometry overflows float16 and grid_sample coordinates
need float32 (float16 spacing near 1.0 is 1/1024 of the half-width, ~0.25 px at 512).
TensorRT 11 removed BuilderFlag.FP16 (precision must come from the ONNX types, strongly typed):
there the engine is built in float32 and the log says so.
Never exercised in this repo's CI (no GPU there): `doctor --tensorrt-selftest` checks it on a user's machine.
"""
import logging

import torch

from . import engine_cache, export
from .cuda_backend import DeviceFrames, require_cuda
from .implicit_warp import ImplicitWarpEngine, WarpConfig
from .predictor import Predictor

log = logging.getLogger(__name__)

BUILD_POLICY = 1        # bump when build_engine() changes what it builds: old cache entries go stale
WORKSPACE_BYTES = 1 << 30


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise RuntimeError("TensorRT is not installed (pip install -r requirements-gpu.txt)") from exc
    return trt


def effective_precision(trt, precision: str) -> str:
    if precision not in ("fp16", "fp32"):
        raise ValueError(f"expected precision 'fp16' or 'fp32', got {precision!r}")
    if precision == "fp16" and not hasattr(trt.BuilderFlag, "FP16"):
        log.warning("TensorRT %s has no BuilderFlag.FP16 (strongly typed builds only); building in fp32",
                    trt.__version__)
        return "fp32"
    return precision


def _is_colour_image(shape, size: int) -> bool:
    return len(shape) == 4 and shape[1] == 3 and shape[2] * 2 > size


def _pin_fp32_except_images(trt, network, size: int) -> None:
    grid_sample = getattr(trt.LayerType, "GRID_SAMPLE", None)
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if not outs or any(o.dtype != trt.float32 for o in outs):
            continue                                   # shape, index and boolean layers keep their types
        if layer.type != grid_sample and all(_is_colour_image(tuple(o.shape), size) for o in outs):
            continue                                   # free to run in fp16
        layer.precision = trt.float32
        for j in range(layer.num_outputs):
            layer.set_output_type(j, trt.float32)


def build_engine(trt, logger, onnx_path, precision: str, size: int) -> bytes:
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        _pin_fp32_except_images(trt, network, size)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT failed to build the engine (its log above says why)")
    return bytes(serialized)


class TrtPredictor(Predictor):
    name = "tensorrt"
    device = "cuda"

    def __init__(self, config: WarpConfig, precision: str = "fp16", cache_dir=None, rebuild: bool = False):
        super().__init__(config)
        trt = import_tensorrt()
        self.dev = require_cuda()
        self.precision = effective_precision(trt, precision)
        onnx_path, _ = export.cached_onnx(config, cache_dir)
        key = engine_cache.trt_key(engine_cache.file_sha256(onnx_path), export.input_shapes(config), self.precision,
                                   torch.cuda.get_device_name(self.dev), trt.__version__, BUILD_POLICY)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)

        def build(path):
            log.info("building a TensorRT %s engine for K=%d, %d px (takes a minute, once)",
                     self.precision, config.num_sources, config.size)
            path.write_bytes(build_engine(trt, self._logger, onnx_path, self.precision, config.size))

        self.engine, self.cache_status = engine_cache.ArtifactCache(cache_dir).get_or_build(
            key, ".engine", build, self._deserialize, rebuild=rebuild)
        self.context = self.engine.create_execution_context()
        self.io = DeviceFrames(config.size, self.dev)
        torch_dtypes = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int32: torch.int32}
        self.tensors = {}
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            shape = tuple(self.engine.get_tensor_shape(name))
            dtype = torch_dtypes[self.engine.get_tensor_dtype(name)]
            self.tensors[name] = torch.empty(shape, dtype=dtype, device=self.dev)
            self.context.set_tensor_address(name, self.tensors[name].data_ptr())
        expected = set(export.INPUT_NAMES) | {export.OUTPUT_NAME}
        if set(self.tensors) != expected:
            raise RuntimeError(f"TensorRT engine has I/O tensors {sorted(self.tensors)}, expected {sorted(expected)}")
        self._sources = ImplicitWarpEngine(config).to(self.dev).eval()
        self._ready = False

    def _deserialize(self, path):
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise ValueError("TensorRT could not deserialize it")
        return engine

    @torch.no_grad()
    def set_sources(self, rgb_kchw, lmk_kn2):
        with torch.cuda.stream(self.io.stream):
            self._sources.set_sources(torch.as_tensor(rgb_kchw).to(self.dev), torch.as_tensor(lmk_kn2).to(self.dev))
            for name, t in export.source_tensors(self._sources).items():
                self.tensors[name].copy_(t)
        self.io.stream.synchronize()
        self._ready = True

    def _run(self, tgt_lmk, caller: str) -> torch.Tensor:
        """One frame on our stream (call inside it): the engine's output tensor on the device."""
        if not self._ready:
            raise RuntimeError(f"set_sources() must be called before {caller}()")
        self.io.upload(tgt_lmk, self.tensors["tgt_lmk"])
        if not self.context.execute_async_v3(self.io.stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        return self.tensors[export.OUTPUT_NAME]

    @torch.no_grad()
    def render_bgr(self, tgt_lmk):
        with torch.cuda.stream(self.io.stream):
            return self.io.download(DeviceFrames.to_bgr8(self._run(tgt_lmk, "render_bgr")))

    @torch.no_grad()
    def render_tensor(self, tgt_lmk):
        """The engine's output kept on the GPU for the device-side composer: no download, no host sync."""
        with torch.cuda.stream(self.io.stream):
            out = self._run(tgt_lmk, "render_tensor")
        return self.io.hand_over(out)
