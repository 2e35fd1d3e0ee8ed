"""`run.py bench`: per-stage timings and end-to-end fps of the whole per-frame path.

Input: a 640x480 driving clip (the built-in demo motion encoded to MP4 first, or --driving CLIP),
decoded frame by frame; output: the built-in sample avatar as a 1280x720 base image, labelled,
encoded to H.264 in memory-backed temp storage. Prints a Markdown table.

With a GPU backend the paste-back, label and watermark run on the GPU (compose_torch) and "label"
includes the one download of the finished frame; the device is synchronised at each stage's end so
the stage times are true (the live app does not wait there).
"""
import os
import platform
import resource
import statistics
import tempfile
import time

import numpy as np

STAGE_ORDER = ("decode", "landmarks", "retarget", "engine", "paste", "label", "encode")


def add_parser(sub):
    p = sub.add_parser("bench", help="per-stage timings and fps of the per-frame path")
    p.add_argument("--size", type=int, nargs="+", default=[256, 512], choices=(256, 512))
    p.add_argument("--sources", type=int, nargs="+", default=[1, 4], metavar="K")
    p.add_argument("--backend", default="torch")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--driving", help="driving clip (default: built-in demo motion, 640x480)")
    p.add_argument("--engine-only", action="store_true", help="time the engine alone on varied poses")
    p.set_defaults(func=run)


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _demo_clip(path, frames, fps=30.0):
    from ..sources import DemoMotionSource
    from ..video_io import Mp4Writer
    demo = DemoMotionSource(seconds=frames / fps, fps=fps, size=480)
    with Mp4Writer(path, fps, 640, 480) as w:
        for frame, _ in demo:
            canvas = np.empty((480, 640, 3), np.uint8)
            canvas[:] = frame[:, :1]
            canvas[:, 80:560] = frame
            w.write(canvas)


def _sample_avatar(size, k):
    from ..avatar import avatar_from_arrays
    from ..sample_avatar import sample_images
    from ..tracking import FaceTracker
    tracker = FaceTracker(static=True)
    images = sample_images(count=4, size=720)
    # the base must be 1280x720; the others are square crops of the same painted person
    avatar = avatar_from_arrays(images[:k] if k <= 4 else images + images[1:k - 3], size, tracker)
    tracker.close()
    return avatar


def bench_one(size, k, backend, frames, driving):
    import av
    from ..pipeline import FrameProcessor, PipelineConfig
    from ..provenance.labeller import Labeller
    from ..sources import VideoFileSource

    avatar = _sample_avatar(size, k)
    proc = FrameProcessor(avatar, PipelineConfig(size=size, backend=backend), Labeller())
    proc.sync_stages = True
    compose = "host" if proc.composer is None else f"on {proc.composer.device}"
    H, W = avatar.base_bgr.shape[:2]
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.options = {"preset": "veryfast", "crf": "20"}
    from fractions import Fraction
    enc.time_base = Fraction(1, 30)
    src = VideoFileSource(driving)
    times = {s: [] for s in STAGE_ORDER}
    e2e = []
    rss0 = None
    it = iter(src)
    n = 0
    t_wall = time.perf_counter()
    while n < frames:
        t0 = time.perf_counter()
        try:
            frame, t = next(it)
        except StopIteration:
            it = iter(VideoFileSource(driving))
            continue
        t1 = time.perf_counter()
        res = proc.process(frame, n / 30.0)
        t2 = time.perf_counter()
        vf = av.VideoFrame.from_ndarray(res.output_bgr, format="bgr24")
        vf.pts = n
        enc.encode(vf)
        t3 = time.perf_counter()
        if n >= 10:    # warm-up excluded
            times["decode"].append((t1 - t0) * 1e3)
            for s, v in res.timings_ms.items():
                times[s].append(v)
            times["encode"].append((t3 - t2) * 1e3)
            e2e.append((t2 - t1) * 1e3)
        if n == 10:
            rss0 = _rss_mb()
            t_wall = time.perf_counter()
        n += 1
    wall = time.perf_counter() - t_wall
    proc.close()
    med = {s: statistics.median(v) if v else 0.0 for s, v in times.items()}
    return dict(size=size, k=k, backend=f"{proc.backend} (compose {compose})", stages=med,
                e2e_fps=1000.0 / statistics.mean(e2e), all_fps=(n - 11) / wall,
                rss=(rss0, _rss_mb()), out=(W, H))


def bench_engine(size, k, backend, frames):
    from engines.implicit_warp import WarpConfig
    from engines.predictor import create_predictor
    avatar = _sample_avatar(size, k)
    choice = create_predictor(backend, WarpConfig(size=size, num_sources=k))
    rgb, lmk = avatar.engine_inputs()
    choice.predictor.set_sources(rgb, lmk)
    # realistic targets: the demo motion (talking, blinking, turning) tracked and retargeted
    from ..retarget import Retargeter
    from ..sources import DemoMotionSource
    from ..tracking import FaceTracker
    tracker = FaceTracker(static=False)
    rt = Retargeter(lmk[0])
    poses = []
    for frame, _ in DemoMotionSource(seconds=4.0, size=320):
        found = tracker.detect(frame)
        if found is not None:
            poses.append(rt(found))
    tracker.close()
    for p in poses[:5]:
        choice.predictor.render_bgr(p)
    t0 = time.perf_counter()
    for i in range(frames):
        choice.predictor.render_bgr(poses[i % len(poses)])
    dt = (time.perf_counter() - t0) / frames
    return choice.name, 1000 * dt


def run(args) -> int:
    import torch
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} threads {torch.get_num_threads()}, python {platform.python_version()}")
    if args.engine_only:
        print("| size | K | backend | engine ms | engine fps |\n| --- | --- | --- | --- | --- |")
        for size in args.size:
            for k in args.sources:
                name, ms = bench_engine(size, k, args.backend, args.frames)
                print(f"| {size} | {k} | {name} | {ms:.1f} | {1000 / ms:.1f} |", flush=True)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        driving = args.driving
        if not driving:
            driving = os.path.join(tmp, "demo480.mp4")
            _demo_clip(driving, 120)
        head = " | ".join(f"{s} ms" for s in STAGE_ORDER)
        print(f"| size | K | backend | {head} | path fps (landmarks..label) | all fps (decode..encode) | RSS MB start->end |")
        print("|" + " --- |" * (len(STAGE_ORDER) + 6))
        for size in args.size:
            for k in args.sources:
                r = bench_one(size, k, args.backend, args.frames, driving)
                cells = " | ".join(f"{r['stages'][s]:.1f}" for s in STAGE_ORDER)
                print(f"| {size} | {k} | {r['backend']} | {cells} | {r['e2e_fps']:.1f} | {r['all_fps']:.1f} | "
                      f"{r['rss'][0]:.0f}->{r['rss'][1]:.0f} |", flush=True)
    return 0
