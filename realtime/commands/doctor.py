"""`run.py doctor`: what a user runs when something is off, and pastes into a bug report.

Sections: system, packages, cameras, virtual camera, GPU, TensorRT, engine cache, and every engine
backend's parity with torch on the CPU (PSNR on a built-in clip) and speed.
`--tensorrt-selftest` builds a fresh TensorRT engine and checks it alone (exit status 0 = pass).
"""
import argparse
import importlib.metadata
import logging
import math
import os
import platform
import shutil
import sys
import time

log = logging.getLogger(__name__)

PACKAGES = ("torch", "numpy", "opencv-contrib-python", "mediapipe", "onnx", "onnxruntime", "pyvirtualcam",
            "PySide6-Essentials", "av", "tensorrt", "tensorrt-cu13", "tensorrt-cu12")
CAMERA_INDICES = range(4)
MODPROBE_HINT = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam"
PARITY_DB = {"tensorrt": 40.0}          # fp16 engine; the other backends compute in float32
DEFAULT_PARITY_DB = 45.0


def add_parser(sub):
    p = sub.add_parser("doctor", help="check the installation: versions, cameras, virtual camera, GPU, engines")
    p.add_argument("--size", type=int, choices=(256, 512), default=512, help="engine resolution to check")
    p.add_argument("--sources", type=int, default=4, help="avatar images K to check (1-8)")
    p.add_argument("--frames", type=int, default=6, help="frames of the built-in clip")
    p.add_argument("--tensorrt-selftest", action="store_true",
                   help="build a fresh TensorRT engine, run it, check parity with torch; exit 1 on failure")
    p.set_defaults(func=run)


def run(args, out=None) -> int:
    out = out or sys.stdout

    def say(line=""):
        print(line, file=out, flush=True)

    if args.tensorrt_selftest:
        return _tensorrt_selftest(args, say)
    for title, lines in (("System", system_lines()), ("Packages", package_lines()), ("Cameras", camera_lines()),
                         ("Virtual camera", virtual_camera_lines()), ("GPU", gpu_lines()),
                         ("TensorRT", tensorrt_lines()), ("Engine cache", cache_lines())):
        say(f"== {title} ==")
        for line in lines:
            say(f"  {line}")
    say("== Engine backends ==")
    return _backend_report(args, say)


# ---- environment -------------------------------------------------------------------------------
def system_lines():
    import cv2
    from engines.cpu_tuning import engine_threads
    return [f"Python {platform.python_version()} ({sys.executable})",
            f"OS {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPU threads",
            f"CPU engine: {engine_threads()} torch thread(s) (one per four CPU threads), OpenCV {cv2.getNumThreads()} "
            f"thread(s), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"]


def package_lines():
    lines = []
    for name in PACKAGES:
        try:
            lines.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            if not name.startswith("tensorrt-"):
                lines.append(f"{name} not installed")
    return lines


def camera_lines(indices=CAMERA_INDICES):
    import cv2
    lines = []
    for i in indices:
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{i}"):
            lines.append(f"camera:{i} none (no /dev/video{i})")
            continue
        cap = cv2.VideoCapture(i, cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY)
        try:
            if not cap.isOpened():
                lines.append(f"camera:{i} none")
                continue
            ok, frame = cap.read()
            if ok and frame is not None:
                lines.append(f"camera:{i} OK {frame.shape[1]}x{frame.shape[0]}")
            else:
                lines.append(f"camera:{i} opens but gives no frames (busy, or an output-only virtual camera)")
        finally:
            cap.release()
    if not any(" OK " in line for line in lines):
        lines.append("no working camera found: plug one in, close other apps using it, or drive from a video file")
    return lines


def virtual_camera_lines(open_camera=None):
    try:
        import pyvirtualcam
    except ImportError:
        return ["pyvirtualcam not installed: pip install -r requirements.txt"]
    lines = [f"pyvirtualcam {getattr(pyvirtualcam, '__version__', '?')}"]
    if sys.platform.startswith("linux"):
        loopback = _v4l2loopback_devices()
        lines.append("v4l2loopback devices: " + (", ".join(loopback) if loopback else "none"))
    opener = open_camera or (lambda: pyvirtualcam.Camera(width=64, height=64, fps=10))
    try:
        cam = opener()
    except Exception as exc:  # every backend's failure, as pyvirtualcam reports it
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        lines.append(f"no virtual camera device: {message}")
        if sys.platform.startswith("linux"):
            lines.append(f"to create one: {MODPROBE_HINT}")
        elif sys.platform == "win32":
            lines.append("to create one: install OBS Studio (its virtual camera) and start it once")
        else:
            lines.append("to create one: install OBS Studio and start its virtual camera once")
        return lines
    try:
        lines.append(f"virtual camera OK: {cam.device} via {cam.backend}")
    finally:
        cam.close()
    return lines


def _v4l2loopback_devices():
    root = "/sys/class/video4linux"
    found = []
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        try:
            with open(os.path.join(root, name, "name")) as f:
                label = f.read().strip()
        except OSError:
            continue
        driver = os.path.realpath(os.path.join(root, name, "device", "driver"))
        if "loopback" in driver or "AvatarCam" in label or "Dummy" in label:
            found.append(f"/dev/{name} ({label})")
    return found


def gpu_lines():
    import torch
    if torch.cuda.is_available():
        i = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(i)
        return [f"{props.name}, {props.total_memory / 2 ** 30:.0f} GiB, compute capability {props.major}.{props.minor}",
                f"torch {torch.__version__} with CUDA {torch.version.cuda}"]
    built = f"with CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
    lines = [f"no CUDA device (torch {torch.__version__} is {built})"]
    if shutil.which("nvidia-smi") and not torch.version.cuda:
        lines.append("an NVIDIA driver is installed but this torch is CPU-only: pip install -r requirements-gpu.txt")
    return lines


def tensorrt_lines():
    try:
        import tensorrt as trt
    except ImportError:
        return ["not installed (optional, NVIDIA GPUs only): pip install -r requirements-gpu.txt"]
    fp16 = "fp16 builds" if hasattr(trt.BuilderFlag, "FP16") else "no BuilderFlag.FP16 (TensorRT 11+): fp32 builds"
    return [f"TensorRT {trt.__version__} ({fp16})"]


def cache_lines():
    from engines.engine_cache import default_cache_dir
    root = default_cache_dir()
    entries = [n for n in os.listdir(root) if not n.endswith((".json", ".tmp"))] if root.is_dir() else []
    return [f"{root} ({len(entries)} entries)"]


# ---- engines -----------------------------------------------------------------------------------
def _clip_and_reference(args, say):
    from engines.implicit_warp import WarpConfig
    from engines.parity import render_all
    from engines.predictor import TorchPredictor
    from ..sample_clip import make_sample_clip
    config = WarpConfig(size=args.size, num_sources=args.sources)
    clip = make_sample_clip(args.size, args.sources, args.frames)
    reference = TorchPredictor(config)
    reference.set_sources(clip.rgb_kchw, clip.lmk_kn2)
    say(f"  built-in clip: {len(clip.targets)} frames, K={args.sources}, {args.size} px; reference: torch on the CPU")
    return config, clip, reference, render_all(reference, clip.targets)


def _check_line(name, predictor, clip, ref_frames, seconds_to_start):
    from engines.parity import check_backend
    result = check_backend(predictor, clip.targets, ref_frames)
    need = PARITY_DB.get(name, DEFAULT_PARITY_DB)
    ok = result.psnr_min_db >= need
    psnr = "identical" if math.isinf(result.psnr_min_db) else f"PSNR min {result.psnr_min_db:.1f} dB"
    status = getattr(predictor, "cache_status", None)
    extra = f", compiled model {status}" if status else ""
    line = (f"{name}: {'OK' if ok else 'MISMATCH'} {psnr} (need >= {need:.0f}), "
            f"{result.ms_per_frame:.1f} ms/frame ({1e3 / result.ms_per_frame:.0f} fps), "
            f"started in {seconds_to_start:.1f} s{extra}")
    return ok, line


def _backend_report(args, say) -> int:
    from engines.parity import check_backend
    from engines.predictor import AUTO_ORDER, BACKENDS
    config, clip, reference, ref_frames = _clip_and_reference(args, say)
    timing = check_backend(reference, clip.targets, ref_frames)
    say(f"  torch: reference, {timing.ms_per_frame:.1f} ms/frame ({1e3 / timing.ms_per_frame:.0f} fps)")
    failures, picked = 0, None
    for name in AUTO_ORDER:
        if name == "torch":
            picked = picked or name
            continue
        start = time.perf_counter()
        try:
            predictor = BACKENDS[name](config)
            predictor.set_sources(clip.rgb_kchw, clip.lmk_kn2)
        except Exception as exc:  # a reason to report, as auto-selection does
            say(f"  {name}: unavailable ({exc})")
            continue
        ok, line = _check_line(name, predictor, clip, ref_frames, time.perf_counter() - start)
        say(f"  {line}")
        failures += not ok
        picked = picked or name
    say(f"  --backend auto picks: {picked}")
    return 1 if failures else 0


def _tensorrt_selftest(args, say) -> int:
    say("== TensorRT self-test ==")
    for line in tensorrt_lines() + gpu_lines():
        say(f"  {line}")
    from engines.cuda_backend import require_cuda
    from engines.trt_backend import TrtPredictor, import_tensorrt
    try:
        import_tensorrt()
        require_cuda()
    except RuntimeError as exc:
        say(f"  tensorrt: FAILED: {exc}")
        return 1
    config, clip, _, ref_frames = _clip_and_reference(args, say)
    start = time.perf_counter()
    try:
        predictor = TrtPredictor(config, rebuild=True)
        predictor.set_sources(clip.rgb_kchw, clip.lmk_kn2)
    except Exception as exc:
        say(f"  tensorrt: FAILED to build or load ({exc})")
        return 1
    ok, line = _check_line("tensorrt", predictor, clip, ref_frames, time.perf_counter() - start)
    say(f"  {line} [{predictor.precision}]")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.commands.doctor")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["doctor"] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
