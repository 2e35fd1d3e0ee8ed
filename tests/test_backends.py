"""Engine backends: ONNX export + ONNX Runtime parity, the engine cache, auto-selection, TensorRT build
policy (with a fake TensorRT), and `doctor`. Exports at 256 px with K = 2 to stay fast."""
import ast
import json
import logging
import math
import re
import sys
import types
from argparse import Namespace
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from engines import engine_cache, export
from engines.engine_cache import ArtifactCache
from engines.implicit_warp import WarpConfig
from engines.parity import psnr
from engines.predictor import AUTO_ORDER, BACKENDS, TorchPredictor, create_predictor

CONFIG = WarpConfig(size=256, num_sources=2)
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU behaviour")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One engine cache for the module (one export), also used by factories via the environment."""
    path = tmp_path_factory.mktemp("engine-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(engine_cache.CACHE_ENV, str(path))
        yield path


@pytest.fixture(scope="module")
def clip():
    from realtime.sample_clip import make_sample_clip
    return make_sample_clip(CONFIG.size, CONFIG.num_sources, frames=4)


@pytest.fixture(scope="module")
def torch_frames(clip):
    ref = TorchPredictor(CONFIG)
    ref.set_sources(clip.rgb_kchw, clip.lmk_kn2)
    return [ref.render_bgr(t) for t in clip.targets]


@pytest.fixture(scope="module")
def ort(cache_dir, clip):
    from engines.ort_backend import OrtPredictor
    pred = OrtPredictor(CONFIG, cache_dir=cache_dir)
    pred.set_sources(clip.rgb_kchw, clip.lmk_kn2)
    return pred


# ---- export and ONNX Runtime parity -----------------------------------------------------------------
def test_ort_matches_torch_on_the_sample_clip(ort, clip, torch_frames):
    frames = [ort.render_bgr(t) for t in clip.targets]
    scores = [psnr(f, r) for f, r in zip(frames, torch_frames)]
    assert min(scores) >= 45.0, scores
    # the clip really animates: frames differ from each other and from the still base crop
    base_bgr = (clip.rgb_kchw[0].transpose(1, 2, 0)[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    assert psnr(frames[0], frames[-1]) < 40.0
    assert all(psnr(f, base_bgr) < 40.0 for f in frames)
    assert frames[0].shape == (256, 256, 3) and frames[0].dtype == np.uint8 and frames[0].flags.c_contiguous


def test_one_exported_model_serves_any_avatar_set(ort, clip, torch_frames):
    # a different avatar set on the same (K, size) model: sources are inputs, not baked-in weights
    rgb2 = np.ascontiguousarray(clip.rgb_kchw[::-1] * 0.8)
    lmk2 = np.ascontiguousarray(clip.lmk_kn2[::-1])
    ref = TorchPredictor(CONFIG)
    ref.set_sources(rgb2, lmk2)
    ort.set_sources(rgb2, lmk2)
    try:
        for t in clip.targets[:2]:
            out = ort.render_bgr(t)
            assert psnr(out, ref.render_bgr(t)) >= 45.0
            assert psnr(out, torch_frames[0]) < 35.0
    finally:
        ort.set_sources(clip.rgb_kchw, clip.lmk_kn2)


def test_exported_model_has_named_static_io(ort):
    import onnx
    model = onnx.load(str(ort.model_path))
    dims = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim) for i in model.graph.input}
    assert list(dims) == ["tgt_lmk", "src_rgb", "src_ctrl", "src_lmk", "src_mouth", "src_palette"]
    assert dims == export.input_shapes(CONFIG)                      # static: every dim a fixed number
    assert (dims["tgt_lmk"], dims["src_rgb"], dims["src_lmk"]) == ((478, 2), (2, 3, 256, 256), (2, 478, 2))
    assert all(d > 0 for shape in dims.values() for d in shape)
    assert dims["src_ctrl"][0] == dims["src_mouth"][0] == 2 and dims["src_palette"] == (5, 3)
    assert [o.name for o in model.graph.output] == ["frame"]
    assert max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx")) >= 16
    assert any(node.op_type == "GridSample" for node in model.graph.node)


def test_export_is_cached_and_reused(cache_dir, ort):
    path, status = export.cached_onnx(CONFIG, cache_dir)
    assert status == "cached" and path == ort.model_path
    other, status = export.cached_onnx(replace(CONFIG, num_sources=1), cache_dir)
    assert status == "built" and other != path


def test_render_before_sources_and_bad_landmarks_are_refused(cache_dir, ort):
    from engines.ort_backend import OrtPredictor
    with pytest.raises(RuntimeError, match="set_sources"):
        OrtPredictor(CONFIG, cache_dir=cache_dir).render_bgr(np.zeros((478, 2), np.float32))
    with pytest.raises(ValueError, match="478 x 2"):
        ort.render_bgr(np.zeros((68, 2), np.float32))


def test_corrupt_exported_model_is_rebuilt_with_a_warning(tmp_path, clip, torch_frames, caplog):
    from engines.ort_backend import OrtPredictor
    path, _ = export.cached_onnx(CONFIG, tmp_path)
    path.write_bytes(path.read_bytes()[:1000])                     # truncated download / disk full
    with caplog.at_level(logging.WARNING):
        pred = OrtPredictor(CONFIG, cache_dir=tmp_path)
    assert pred.cache_status.startswith("rebuilt (corrupt")
    assert any("rebuilding" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    pred.set_sources(clip.rgb_kchw, clip.lmk_kn2)
    assert psnr(pred.render_bgr(clip.targets[0]), torch_frames[0]) >= 45.0


# ---- the engine cache ------------------------------------------------------------------------------
TRT_FIELDS = dict(model_hash="a" * 64, shapes={"tgt_lmk": (478, 2), "src_rgb": (4, 3, 512, 512)},
                  precision="fp16", gpu_name="NVIDIA H100", trt_version="10.16.1", build_policy=1)
TRT_CHANGES = dict(model_hash="b" * 64, shapes={"tgt_lmk": (478, 2), "src_rgb": (2, 3, 512, 512)},
                   precision="fp32", gpu_name="NVIDIA GeForce RTX 4090", trt_version="10.13.0", build_policy=2)


@pytest.mark.parametrize("field", sorted(TRT_FIELDS))
def test_trt_cache_key_changes_with_each_field(tmp_path, field):
    cache = ArtifactCache(tmp_path)
    base = cache.path_for(engine_cache.trt_key(**TRT_FIELDS), ".engine")
    changed = cache.path_for(engine_cache.trt_key(**{**TRT_FIELDS, field: TRT_CHANGES[field]}), ".engine")
    assert changed != base
    assert base == cache.path_for(engine_cache.trt_key(**TRT_FIELDS), ".engine")   # and is stable


def test_onnx_cache_key_covers_config_model_and_exporter(monkeypatch):
    base = engine_cache.key_digest(export.onnx_cache_key(CONFIG))
    for changed in (replace(CONFIG, size=512), replace(CONFIG, num_sources=3), replace(CONFIG, grid=32),
                    replace(CONFIG, temperature=2e-3)):
        assert engine_cache.key_digest(export.onnx_cache_key(changed)) != base
    monkeypatch.setattr(export, "OPSET", 18)
    assert engine_cache.key_digest(export.onnx_cache_key(CONFIG)) != base
    monkeypatch.undo()
    monkeypatch.setattr(export, "model_hash", lambda: "edited engine source")
    assert engine_cache.key_digest(export.onnx_cache_key(CONFIG)) != base
    monkeypatch.undo()
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    assert engine_cache.key_digest(export.onnx_cache_key(CONFIG)) != base


class Builds:
    """A fake artifact: counts builds; loading returns the payload or fails on bad content."""

    def __init__(self):
        self.count = 0

    def build(self, path):
        self.count += 1
        path.write_bytes(b"engine-%d" % self.count)

    @staticmethod
    def load(path):
        data = path.read_bytes()
        if not data.startswith(b"engine-"):
            raise ValueError("not an engine")
        return data


KEY = engine_cache.trt_key(**TRT_FIELDS)


def test_cache_builds_once_then_hits(tmp_path):
    cache, b = ArtifactCache(tmp_path), Builds()
    assert cache.get_or_build(KEY, ".engine", b.build, b.load) == (b"engine-1", "built")
    assert cache.get_or_build(KEY, ".engine", b.build, b.load) == (b"engine-1", "cached")
    assert b.count == 1
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("damage, reason", [
    (lambda p: p.write_bytes(b"engine-1 but truncated"), "corrupt: checksum mismatch"),
    (lambda p: Path(str(p) + ".json").write_text("{"), "unreadable metadata"),
    (lambda p: Path(str(p) + ".json").unlink(), "unreadable metadata"),
    (lambda p: Path(str(p) + ".json").write_text(json.dumps({"key": {**KEY, "gpu": "other"}, "sha256": "x"})),
     "stale"),
])
def test_damaged_cache_entry_is_rebuilt_with_a_warning(tmp_path, caplog, damage, reason):
    cache, b = ArtifactCache(tmp_path), Builds()
    cache.get_or_build(KEY, ".engine", b.build, b.load)
    damage(cache.path_for(KEY, ".engine"))
    with caplog.at_level(logging.WARNING, logger="engines.engine_cache"):
        value, status = cache.get_or_build(KEY, ".engine", b.build, b.load)
    assert (value, b.count) == (b"engine-2", 2)
    assert status.startswith("rebuilt (" + reason)
    assert any(reason in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    assert cache.get_or_build(KEY, ".engine", b.build, b.load) == (b"engine-2", "cached")


def test_payload_the_runtime_rejects_is_rebuilt(tmp_path):
    # checksum fine, but e.g. TensorRT cannot deserialize it: load() raises -> rebuild
    cache, b = ArtifactCache(tmp_path), Builds()
    bad = iter([ValueError("TensorRT could not deserialize it")])

    def load(path):
        exc = next(bad, None)
        if exc:
            raise exc
        return b.load(path)

    cache.get_or_build(KEY, ".engine", b.build, b.load)
    value, status = cache.get_or_build(KEY, ".engine", b.build, load)
    assert value == b"engine-2" and status == "rebuilt (corrupt: TensorRT could not deserialize it)"


def test_forced_rebuild_and_failed_build_leave_no_half_entry(tmp_path):
    cache, b = ArtifactCache(tmp_path), Builds()
    cache.get_or_build(KEY, ".engine", b.build, b.load)
    assert cache.get_or_build(KEY, ".engine", b.build, b.load, rebuild=True) == (b"engine-2", "rebuilt (rebuild requested)")

    def failing(path):
        path.write_bytes(b"half")
        raise RuntimeError("builder ran out of memory")

    other = {**KEY, "precision": "fp32"}
    with pytest.raises(RuntimeError, match="out of memory"):
        cache.get_or_build(other, ".engine", failing, b.load)
    assert not cache.path_for(other, ".engine").exists() and not list(tmp_path.glob("*.tmp"))


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(engine_cache.CACHE_ENV, str(tmp_path / "x"))
    assert engine_cache.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv(engine_cache.CACHE_ENV)
    assert engine_cache.default_cache_dir().parts[-2:] == ("avatarcam", "engines")


# ---- selection -------------------------------------------------------------------------------------
def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError) as info:
        create_predictor("tensorrtt", CONFIG)
    assert str(info.value) == ("unknown backend 'tensorrtt'; available: auto, onnxruntime, tensorrt, torch, torch-cuda")


@NO_CUDA
def test_auto_on_this_machine_picks_torch_cpu_and_says_why(cache_dir, caplog):
    if "tensorrt" in sys.modules or _importable("tensorrt"):
        pytest.skip("TensorRT is installed here")
    with caplog.at_level(logging.INFO, logger="engines.predictor"):
        choice = create_predictor("auto", CONFIG)
    assert AUTO_ORDER == ["tensorrt", "torch-cuda", "torch", "onnxruntime"]
    assert choice.name == "torch" and choice.predictor.name == "torch"
    assert choice.reasons == ["tensorrt: TensorRT is not installed (pip install -r requirements-gpu.txt)",
                              "torch-cuda: no CUDA device"]
    assert any("backend torch chosen" in r.getMessage() and "no CUDA device" in r.getMessage()
               for r in caplog.records)


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def test_auto_tries_in_order_and_records_every_failure(monkeypatch):
    tried = []

    def failing(name, message):
        def factory(config):
            tried.append(name)
            raise RuntimeError(message)
        return factory

    monkeypatch.setitem(BACKENDS, "tensorrt", failing("tensorrt", "TensorRT is not installed"))
    monkeypatch.setitem(BACKENDS, "torch-cuda", failing("torch-cuda", "no CUDA device"))
    choice = create_predictor("auto", CONFIG)
    assert tried == ["tensorrt", "torch-cuda"]
    assert choice.name == "torch" and isinstance(choice.predictor, TorchPredictor)
    assert choice.reasons == ["tensorrt: TensorRT is not installed", "torch-cuda: no CUDA device"]
    # torch broken too: ONNX Runtime is the last resort, and when it fails every reason is reported
    monkeypatch.setitem(BACKENDS, "torch", failing("torch", "broken"))
    monkeypatch.setitem(BACKENDS, "onnxruntime", failing("onnxruntime", "onnxruntime is not installed"))
    with pytest.raises(RuntimeError, match="no engine backend could start: tensorrt: .*torch: broken.*onnxruntime"):
        create_predictor("auto", CONFIG)


@NO_CUDA
def test_gpu_backends_without_cuda_raise_the_reason(monkeypatch):
    from engines.cuda_backend import TorchCudaPredictor
    from engines.trt_backend import TrtPredictor
    with pytest.raises(RuntimeError, match="^no CUDA device$"):
        TorchCudaPredictor(CONFIG)
    # TensorRT importable but no GPU: the reason is the missing GPU
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_trt())
    with pytest.raises(RuntimeError, match="^no CUDA device$"):
        TrtPredictor(CONFIG)
    monkeypatch.setitem(sys.modules, "tensorrt", None)           # import fails
    with pytest.raises(RuntimeError, match="TensorRT is not installed"):
        TrtPredictor(CONFIG)


# ---- TensorRT build policy, with a fake tensorrt module ------------------------------------------
def _fake_trt(fp16=True):
    trt = types.SimpleNamespace(__version__="10.16.1.11", float32="f32", float16="f16", bool="bool")
    flags = dict(PREFER_PRECISION_CONSTRAINTS=2)
    if fp16:
        flags["FP16"] = 1
    trt.BuilderFlag = types.SimpleNamespace(**flags)
    trt.LayerType = types.SimpleNamespace(GRID_SAMPLE="grid_sample", ELEMENTWISE="elementwise")
    return trt


class FakeLayer:
    def __init__(self, kind, *outputs):
        self.type = kind
        self.outputs = [types.SimpleNamespace(shape=s, dtype=d) for s, d in outputs]
        self.num_outputs = len(self.outputs)
        self.precision = None
        self.output_types = {}

    def get_output(self, i):
        return self.outputs[i]

    def set_output_type(self, i, dtype):
        self.output_types[i] = dtype


def test_fp16_build_keeps_geometry_and_sampling_in_fp32():
    from engines.trt_backend import _pin_fp32_except_images
    trt = _fake_trt()
    layers = {
        "mls matmul": FakeLayer("matrix", ((2304, 293), "f32")),
        "flow": FakeLayer("elementwise", ((2, 48, 48, 2), "f32")),
        "full-res grid": FakeLayer("resize", ((1, 256, 256, 2), "f32")),
        "sample rgb": FakeLayer("grid_sample", ((1, 3, 256, 256), "f32")),
        "blend rgb": FakeLayer("elementwise", ((1, 3, 184, 184), "f32")),
        "clamp frame": FakeLayer("elementwise", ((1, 3, 256, 256), "f32")),
        "weights": FakeLayer("elementwise", ((1, 3, 48, 48), "f32")),    # K+1 = 3 channels but coarse
        "mask": FakeLayer("elementwise", ((2304, 36), "bool")),
    }
    network = types.SimpleNamespace(num_layers=len(layers), get_layer=lambda i: list(layers.values())[i])
    _pin_fp32_except_images(trt, network, 256)
    pinned = {name for name, layer in layers.items() if layer.precision == "f32"}
    assert pinned == {"mls matmul", "flow", "full-res grid", "sample rgb", "weights"}
    assert layers["flow"].output_types == {0: "f32"} and layers["mask"].output_types == {}


def test_precision_falls_back_to_fp32_when_tensorrt_has_no_fp16_flag(caplog):
    from engines.trt_backend import effective_precision
    assert effective_precision(_fake_trt(fp16=True), "fp16") == "fp16"
    with caplog.at_level(logging.WARNING):
        assert effective_precision(_fake_trt(fp16=False), "fp16") == "fp32"
    assert "building in fp32" in caplog.text
    with pytest.raises(ValueError, match="expected precision 'fp16' or 'fp32', got 'int8'"):
        effective_precision(_fake_trt(), "int8")


# ---- doctor ----------------------------------------------------------------------------------------
def _doctor_args(**kw):
    return Namespace(**{"size": 256, "sources": 2, "frames": 2, "tensorrt_selftest": False, **kw})


@NO_CUDA
def test_doctor_prints_each_section_and_checks_the_backends(cache_dir, ort, capsys):
    from realtime.commands import doctor
    assert doctor.run(_doctor_args()) == 0
    out = capsys.readouterr().out
    for title in ("System", "Packages", "Cameras", "Virtual camera", "GPU", "TensorRT", "Engine cache",
                  "Engine backends"):
        assert f"== {title} ==" in out
    assert f"Python {sys.version.split()[0]}" in out
    from engines.cpu_tuning import engine_threads
    assert f"CPU engine: {engine_threads()} torch thread(s)" in out     # bug reports say how it ran
    assert f"torch {torch.__version__}" in out and "onnxruntime " in out
    assert "camera:0 " in out and "camera:3 " in out
    assert "no CUDA device" in out
    assert "tensorrt: unavailable (TensorRT is not installed" in out
    assert "torch-cuda: unavailable (no CUDA device)" in out
    assert str(cache_dir) in out
    m = re.search(r"onnxruntime: OK PSNR min ([\d.]+) dB \(need >= 45\), ([\d.]+) ms/frame", out)
    assert m and float(m.group(1)) >= 45.0 and float(m.group(2)) > 0
    assert re.search(r"torch: reference, [\d.]+ ms/frame", out)
    assert "--backend auto picks: torch" in out


def test_doctor_tensorrt_selftest_fails_clearly_without_tensorrt(monkeypatch, capsys):
    from realtime.commands import doctor
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    assert doctor.run(_doctor_args(tensorrt_selftest=True)) == 1
    out = capsys.readouterr().out
    assert "== TensorRT self-test ==" in out and "tensorrt: FAILED: TensorRT is not installed" in out


def test_doctor_virtual_camera_hint_and_success(monkeypatch):
    from realtime.commands import doctor

    def missing():
        raise RuntimeError("'v4l2loopback' backend: No v4l2 loopback device found")

    monkeypatch.setattr(sys, "platform", "linux")
    lines = doctor.virtual_camera_lines(open_camera=missing)
    assert "no virtual camera device: 'v4l2loopback' backend: No v4l2 loopback device found" in lines
    assert f"to create one: {doctor.MODPROBE_HINT}" in lines
    assert doctor.MODPROBE_HINT == "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam"

    closed = []
    cam = types.SimpleNamespace(device="/dev/video9", backend="v4l2loopback", close=lambda: closed.append(1))
    lines = doctor.virtual_camera_lines(open_camera=lambda: cam)
    assert "virtual camera OK: /dev/video9 via v4l2loopback" in lines and closed == [1]
    assert not any("modprobe" in line for line in lines)


def test_doctor_camera_probe_reports_each_index(monkeypatch):
    import cv2
    from realtime.commands import doctor

    class FakeCapture:
        def __init__(self, index, api):
            self.index = index

        def isOpened(self):
            return self.index in (0, 2)

        def read(self):
            return (True, np.zeros((480, 640, 3), np.uint8)) if self.index == 0 else (False, None)

        def release(self):
            pass

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(doctor.os.path, "exists", lambda p: p != "/dev/video3")
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    lines = doctor.camera_lines()
    assert lines == ["camera:0 OK 640x480", "camera:1 none",
                     "camera:2 opens but gives no frames (busy, or an output-only virtual camera)",
                     "camera:3 none (no /dev/video3)"]


# ---- layering --------------------------------------------------------------------------------------
def test_engine_backends_import_neither_realtime_nor_qt():
    root = Path(export.__file__).parent
    for name in ("export.py", "engine_cache.py", "ort_backend.py", "trt_backend.py", "cuda_backend.py",
                 "backends.py", "parity.py", "predictor.py"):
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for mod in mods:
                assert not mod.split(".")[0] in ("realtime", "ui", "PySide6", "PyQt5", "PyQt6"), (name, mod)


def test_parity_psnr_is_exact():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    assert math.isinf(psnr(a, b))
    b[0, 0, 0] = 255                                    # mse = 255^2 / 48
    assert psnr(a, b) == pytest.approx(10 * math.log10(48))
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:2])


def test_gpu_paths_convert_colours_like_the_reference():
    from engines.cuda_backend import DeviceFrames
    from engines.predictor import to_bgr8
    frame = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    frame[0, 0, 0, 0], frame[0, 2, 0, 0] = 1.0, 0.0                 # red pixel -> BGR (0, ?, 255)
    out = DeviceFrames.to_bgr8(frame)
    assert out.is_contiguous() and out.dtype == torch.uint8
    np.testing.assert_array_equal(out.numpy(), to_bgr8(frame))
    assert out[0, 0, 2] == 255 and out[0, 0, 0] == 0
