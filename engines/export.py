"""ONNX export of the engine's per-frame graph, one static-shape model per (K sources, size).

Inputs (all float32, static shapes):
    tgt_lmk   478 x 2           driving landmarks, normalised crop coordinates (per frame)
    src_rgb   K x 3 x S x S     source crops, RGB in [0, 1]              \
    src_ctrl  K x C x 2         source control points                     | source-side tensors: made by
    src_lmk   K x 478 x 2       source landmarks (mesh and irises)        | ImplicitWarpEngine.set_sources,
    src_mouth K x 1 x G x G     source mouth masks                        |  bound once per avatar set
    src_palette 5 x 3           teeth, tongue, throat, iris, eye white   /
Output:
    frame     1 x 3 x S x S     RGB in [0, 1]
Because the avatar set is an input and not baked into the weights, one exported model per (K, size)
serves every avatar set; it is cached on disk under a key that includes a hash of the engine's source.
"""
import hashlib
import logging
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from . import engine_cache
from .implicit_warp import ImplicitWarpEngine, WarpConfig

log = logging.getLogger(__name__)

OPSET = 17            # GridSample is an ONNX operator from opset 16; TensorRT parses it from 8.5 on
INPUT_NAMES = ("tgt_lmk", "src_rgb", "src_ctrl", "src_lmk", "src_mouth", "src_palette")
OUTPUT_NAME = "frame"
# The files whose code defines the exported graph: any edit gives a new model hash, hence a new export.
_MODEL_FILES = ("implicit_warp.py", "topology.py", "export.py")


def model_hash() -> str:
    h = hashlib.sha256()
    for name in _MODEL_FILES:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()


class PerFrameGraph(torch.nn.Module):
    """The engine's render() with the source-side tensors as explicit inputs: what gets exported."""

    def __init__(self, engine: ImplicitWarpEngine):
        super().__init__()
        self.engine = engine

    def forward(self, tgt_lmk, src_rgb, src_ctrl, src_lmk, src_mouth, src_palette):
        return self.engine.render(tgt_lmk, src_rgb, src_ctrl, src_lmk, src_mouth, src_palette)


def source_tensors(engine: ImplicitWarpEngine) -> dict:
    """The source-side inputs as the engine holds them after set_sources (name -> tensor)."""
    return {name: getattr(engine, name) for name in INPUT_NAMES[1:]}


def input_shapes(config: WarpConfig) -> dict:
    engine = ImplicitWarpEngine(config)
    shapes = {"tgt_lmk": (478, 2)}
    shapes.update({name: tuple(t.shape) for name, t in source_tensors(engine).items()})
    return shapes


def export_onnx(config: WarpConfig, path) -> None:
    """Trace render() with placeholder inputs (the graph has no data-dependent control flow) and save."""
    import onnx
    engine = ImplicitWarpEngine(config).eval()
    gen = torch.Generator().manual_seed(0)
    args = tuple(torch.rand(shape, generator=gen) * 2 - 1 if name != "src_rgb" else torch.rand(shape, generator=gen)
                 for name, shape in input_shapes(config).items())
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(PerFrameGraph(engine), args, str(path), dynamo=False, opset_version=OPSET,
                          input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME], do_constant_folding=True)
    onnx.checker.check_model(str(path))


def check_onnx(config: WarpConfig, path) -> Path:
    """Raise ValueError unless `path` is a readable model with the expected named inputs/outputs and shapes."""
    import onnx
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ValueError(f"not a readable ONNX model ({exc.__class__.__name__})") from exc

    def dims(value_info):
        return tuple(d.dim_value for d in value_info.type.tensor_type.shape.dim)

    got = {i.name: dims(i) for i in model.graph.input}
    expected = input_shapes(config)
    if got != expected:
        raise ValueError(f"expected inputs {expected}, got {got}")
    outputs = {o.name: dims(o) for o in model.graph.output}
    want = (1, 3, config.size, config.size)
    # the exporter may leave the output's dims symbolic (0 here); the runtimes infer them statically
    if list(outputs) != [OUTPUT_NAME] or any(d not in (0, w) for d, w in zip(outputs[OUTPUT_NAME], want)):
        raise ValueError(f"expected one output {OUTPUT_NAME!r} of shape {want}, got {outputs}")
    return Path(path)


def onnx_cache_key(config: WarpConfig) -> dict:
    return engine_cache.onnx_key(model_hash(), config.size, config.num_sources, asdict(config), OPSET,
                                 torch.__version__)


def cached_onnx(config: WarpConfig, cache_dir=None, rebuild: bool = False):
    """Path of the exported model for this config, exporting it on first use. Returns (path, status)."""
    cache = engine_cache.ArtifactCache(cache_dir)
    return cache.get_or_build(onnx_cache_key(config), ".onnx", lambda p: export_onnx(config, p),
                              lambda p: check_onnx(config, p), rebuild=rebuild)
