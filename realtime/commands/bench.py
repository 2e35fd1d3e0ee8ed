"""`run.py bench`: per-stage timings and end-to-end fps of the whole per-frame path.

Input: a 640x480 driving clip (the built-in demo motion encoded to MP4 first, or --driving CLIP),
decoded frame by frame; output: the built-in sample avatar as a 1280x720 base image, labelled,
encoded to H.264 in memory. Landmarks of the next frame run on a worker thread while the current
frame renders, as in the live app. Prints a Markdown table; `--frames 10000` is the memory run.

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


def _frames(driving, n):
    """Decoded driving frames, looping the clip: (frame, decode ms) pairs, lazily."""
    from ..sources import VideoFileSource
    done = 0
    while done < n:
        it = iter(VideoFileSource(driving))
        while done < n:
            t0 = time.perf_counter()
            try:
                frame, _ = next(it)
            except StopIteration:
                break
            yield frame, (time.perf_counter() - t0) * 1e3
            done += 1


def _overlapped(proc, frames, sink=None):
    """The per-frame path as the live app runs it: track() of frame n+1 on a worker thread while
    render() of frame n runs here. `frames` yields (frame, decode ms); `sink(result, n)` is called
    on this thread (encoding). Returns per-frame results' timings and the wall time after warm-up."""
    from ..pipeline import TrackAhead
    ahead = TrackAhead(proc)
    times, warm, t_wall, n = [], 10, None, 0
    try:
        it = iter(frames)
        first = next(it, None)
        if first is None:
            return times, 0.0, 0
        fut, dec = ahead.submit(first[0], 0.0), first[1]
        while fut is not None:
            nxt = next(it, None)
            fut_next = ahead.submit(nxt[0], (n + 1) / 30.0) if nxt is not None else None
            res = proc.render(fut.result())
            t = dict(res.timings_ms, decode=dec)
            if sink is not None:
                t0 = time.perf_counter()
                sink(res, n)
                t["encode"] = (time.perf_counter() - t0) * 1e3
            n += 1
            if n == warm:
                t_wall = time.perf_counter()
            elif n > warm:
                times.append(t)
            fut, dec = fut_next, (nxt[1] if nxt is not None else 0.0)
    finally:
        ahead.close()
    return times, (time.perf_counter() - t_wall) if t_wall else 0.0, max(0, n - warm)


def bench_one(size, k, backend, frames, driving):
    import av
    from fractions import Fraction
    from ..pipeline import FrameProcessor, PipelineConfig
    from ..provenance.labeller import Labeller

    avatar = _sample_avatar(size, k)
    proc = FrameProcessor(avatar, PipelineConfig(size=size, backend=backend), Labeller())
    proc.sync_stages = True          # on a GPU, stage times include the device work
    H, W = avatar.base_bgr.shape[:2]
    # 1. decoded frame -> labelled frame: the clip decoded into memory first, nothing encoded
    decoded = [(f, 0.0) for f, _ in _frames(driving, min(frames, 300))]
    times, wall, n = _overlapped(proc, decoded)
    path_fps = n / wall if wall else 0.0
    del decoded
    # 2. decode .. encode, streaming (also the memory run: RSS after warm-up and at the end)
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = W, H, "yuv420p"
    enc.options = {"preset": "veryfast", "crf": "20"}
    enc.time_base = Fraction(1, 30)
    rss = []

    def sink(res, i):
        vf = av.VideoFrame.from_ndarray(res.output_bgr, format="bgr24")
        vf.pts = i
        enc.encode(vf)
        if i == 10 or (i + 1) % 1000 == 0:
            rss.append(_rss_mb())

    all_times, all_wall, all_n = _overlapped(proc, _frames(driving, frames), sink)
    proc.close()
    rss.append(_rss_mb())
    # stage medians from the in-memory pass; decode and encode exist only in the streaming pass
    med = {s: statistics.median([t.get(s, 0.0) for t in (all_times if s in ("decode", "encode") else times)] or [0.0])
           for s in STAGE_ORDER}
    return dict(size=size, k=k, backend=f"{proc.backend} ({'compose device' if proc.composer else 'compose host'})",
                stages=med, e2e_fps=path_fps, all_fps=all_n / all_wall if all_wall else 0.0,
                rss=(rss[0], rss[-1]), rss_all=rss, out=(W, H))


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
    from engines.cpu_tuning import engine_threads
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} (CPU engine: {engine_threads()} thread(s)), python {platform.python_version()}")
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
        print("Stages run as in the live app: landmarks of frame n+1 on a worker thread while frame n renders.\n"
              "path fps: decoded 480p frame -> labelled frame (clip decoded into memory first); "
              "all fps: decode .. encode, streaming.")
        print(f"| size | K | backend | {head} | path fps | all fps | RSS MB start->end |")
        print("|" + " --- |" * (len(STAGE_ORDER) + 6))
        for size in args.size:
            for k in args.sources:
                r = bench_one(size, k, args.backend, args.frames, driving)
                cells = " | ".join(f"{r['stages'][s]:.1f}" for s in STAGE_ORDER)
                print(f"| {size} | {k} | {r['backend']} | {cells} | {r['e2e_fps']:.1f} | {r['all_fps']:.1f} | "
                      f"{r['rss'][0]:.0f}->{r['rss'][1]:.0f} |", flush=True)
                if len(r["rss_all"]) > 2:        # long runs: the memory curve, every 1000 frames
                    print("  RSS MB (frame 10, every 1000th, end):", " ".join(f"{v:.0f}" for v in r["rss_all"]), flush=True)
    return 0
