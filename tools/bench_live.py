#!/usr/bin/env python3
"""Live benchmark: a 640x480 30 fps video file played at real time stands in for the webcam, and the
live pipeline (capture -> MediaPipe + engine + label -> paced output) runs as in the app, with a
stand-in virtual camera (the same BGR->I420 conversion pyvirtualcam does) and, by default, a preview
reader polling the newest frame 30 times a second like the window does.

Prints, per engine size: sustained fresh fps (new avatar frames per second), output fps, capture-to-
output latency p50/p95, dropped driver frames, and memory (RSS) over time.

    python tools/bench_live.py                          # 512 (K=4) and 256, 60 s each
    python tools/bench_live.py --seconds 1800 --sizes 512   # the long memory run
    python tools/bench_live.py --window                 # the real window (offscreen) instead of the preview stand-in
    python tools/bench_live.py --video my_640x480.mp4 --json out.json
"""
import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import run  # noqa: E402,F401  the app's process settings (thread pools) before numpy loads

import cv2  # noqa: E402
import numpy as np  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "d6.mp4"


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_driver_video(path: Path, seconds: float = 20.0) -> Path:
    """640x480 at 30 fps: the real talking-head fixture padded to 4:3 when present, else the demo face."""
    from realtime import synthetic_face as sf
    from realtime.video_io import Mp4Writer
    src = cv2.VideoCapture(str(FIXTURE)) if FIXTURE.exists() else None
    with Mp4Writer(path, 30, 640, 480, crf=18) as w:
        for i in range(int(seconds * 30)):
            frame = None
            if src is not None:
                ok, frame = src.read()
                if not ok:
                    src.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok, frame = src.read()
            if frame is None:
                frame = sf.render(size=480, who=sf.OTHER, width=640, **sf.demo_motion(i / 30))
            if frame.shape[:2] != (480, 640):
                h, w0 = frame.shape[:2]
                s = min(640 / w0, 480 / h)
                inner = cv2.resize(frame, (int(w0 * s), int(h * s)))
                canvas = cv2.resize(cv2.GaussianBlur(frame, (0, 0), 9), (640, 480))
                y0, x0 = (480 - inner.shape[0]) // 2, (640 - inner.shape[1]) // 2
                canvas[y0:y0 + inner.shape[0], x0:x0 + inner.shape[1]] = inner
                frame = canvas
            w.write(frame)
    return path


class VirtualCameraStandIn:
    """What pyvirtualcam costs per frame on Linux (BGR -> I420), without a device."""

    def __init__(self, width, height, fps, device=None):
        self.device = "bench"

    def send(self, frame):
        cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)

    def close(self):
        pass


def preview_reader(session, stop: threading.Event):
    """The window's preview: peek ~30x/s, copy-scale both frames to a 640-wide view."""
    seq = 0
    while not stop.wait(1 / 30):
        pv, s = session.preview()
        if pv is None or s == seq:
            continue
        seq = s
        for f in (pv.driver_bgr, pv.avatar_bgr):
            if f is not None:
                cv2.resize(f, (640, int(640 * f.shape[0] / f.shape[1])), interpolation=cv2.INTER_AREA)


class StubPredictor:
    """Stands in for a fast (GPU) engine: returns the base crop after `ms` of waiting (the CPU stays
    free, as with a GPU). Separates the live loop's own cost from the engine's."""
    name = "stub"

    def __init__(self, crop, ms):
        self.crop, self.ms = crop, ms

    def render_bgr(self, tgt):
        time.sleep(self.ms / 1000)
        return self.crop.copy()


def stub_engine_factory(ms: float):
    from realtime.avatar import AvatarSet
    from realtime.pipeline import FrameProcessor

    def factory(avatar, config, labeller, tracker):
        aset = AvatarSet(list(avatar.images), config.size)
        stub = StubPredictor(aset.crops_bgr[0], ms)
        stub.set_sources = lambda *a: None
        proc = FrameProcessor(aset, config, labeller, tracker=tracker, predictor=stub)
        proc.backend = f"stub engine ({ms:g} ms, CPU idle)"
        return proc
    return factory


def sample_avatar(size: int, out_w: int, out_h: int, k: int):
    from realtime.avatar import avatar_from_arrays
    from realtime.live.live_avatar import make_live_avatar
    from realtime.sample_avatar import sample_images
    from realtime.tracking import FaceTracker
    tracker = FaceTracker(static=True, max_faces=2)
    try:
        aset = avatar_from_arrays(sample_images(count=min(k, 4)), size, tracker)
    finally:
        tracker.close()
    return make_live_avatar("sample", aset.images, ("sample",), out_w, out_h, needs_consent=False)


def measure(session, seconds: float, warmup: float, mem_every: float, log) -> dict:
    t0 = time.monotonic()
    while session.stats().processed == 0:
        if time.monotonic() - t0 > 120:
            raise RuntimeError("no frame was processed within 120 s: " +
                               "; ".join(e.message for e in session.drain_events()))
        time.sleep(0.1)
    time.sleep(warmup)
    s0 = session.stats()
    session.stats_.all_latencies_ms.clear()
    session.stats_.keep_all_latencies(True)
    start, mem = time.monotonic(), []
    next_mem = start
    while time.monotonic() - start < seconds:
        now = time.monotonic()
        if now >= next_mem:
            mem.append((round(now - start, 1), round(rss_mb(), 1)))
            st = session.stats()
            log(f"  t={now - start:6.0f}s  rss={mem[-1][1]:7.1f} MB  {st.describe()}")
            next_mem += mem_every
        time.sleep(0.2)
    dur = time.monotonic() - start
    s1 = session.stats()
    lat = np.array(session.stats_.all_latencies_ms or [np.nan])
    mem.append((round(dur, 1), round(rss_mb(), 1)))
    return dict(seconds=round(dur, 1), fresh_fps=round((s1.processed - s0.processed) / dur, 2),
                output_fps=round(s1.output_fps, 2), latency_p50_ms=round(float(np.percentile(lat, 50)), 1),
                latency_p95_ms=round(float(np.percentile(lat, 95)), 1),
                dropped=s1.dropped - s0.dropped, captured_fps=round(s1.capture_fps, 1),
                process_ms=round(s1.process_ms, 1), stage_ms={k: round(v, 1) for k, v in (s1.stage_ms or {}).items()},
                rss_mb=mem,
                rss_growth_mb=round(mem[-1][1] - mem[0][1], 1))


def run_headless(args, video: Path, size: int, log) -> dict:
    from realtime.live.grabbers import DriverConfig
    from realtime.live.session import LiveSession, OutputConfig
    from realtime.outputs.virtual_camera import VirtualCameraSink
    from realtime.pipeline import PipelineConfig
    out = OutputConfig(args.width, args.height, 30.0)
    factory = {}
    if args.stub_engine is not None:
        factory["processor_factory"] = stub_engine_factory(args.stub_engine)
    session = LiveSession(out, **factory)
    session.add_sink(VirtualCameraSink(device_factory=VirtualCameraStandIn))
    session.set_avatar(sample_avatar(size, out.width, out.height, args.sources),
                       PipelineConfig(size=size, backend=args.backend))
    session.start(DriverConfig(kind="video", video_path=str(video)))
    stop = threading.Event()
    if not args.no_preview:
        threading.Thread(target=preview_reader, args=(session, stop), daemon=True).start()
    backend = {}
    try:
        res = measure(session, args.seconds, args.warmup, args.mem_every, log)
    finally:
        stop.set()
        for e in session.drain_events():
            if e.kind == "avatar":
                backend = e.data
        session.stop()
    res.update(size=size, sources=backend.get("sources"), backend=backend.get("backend"), mode="headless+preview"
               if not args.no_preview else "headless")
    return res


def run_window(args, video: Path, size: int, log) -> dict:
    """The real MainWindow (offscreen Qt), previewing, with the video as its driver."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from ui import theme
    from ui.context import AppContext
    from ui.main_window import MainWindow
    app = QApplication.instance()
    if app is None:
        app = QApplication([])
        theme.apply(app)                  # once: re-styling a live application is not supported
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    (home / "settings.json").write_text(json.dumps(dict(
        welcome_done=True, current_set="sample", start_on_launch=True, driver_kind="video",
        video_path=str(video), engine_size=size, output_width=args.width, output_height=args.height)))
    ctx = AppContext(home, vcam_factory=VirtualCameraStandIn, list_cameras=lambda: [])
    win = MainWindow(ctx)
    win.resize(1320, 780)
    win.show()
    result, done = {}, threading.Event()

    def work():
        try:
            while win.live.session is None:
                time.sleep(0.1)
            result.update(measure(win.live.session, args.seconds, args.warmup, args.mem_every, log))
        except Exception as exc:
            result["error"] = str(exc)
        finally:
            done.set()

    threading.Thread(target=work, daemon=True).start()
    poll = QTimer()                       # the measuring thread has no Qt loop: the GUI thread watches it
    poll.timeout.connect(lambda: app.quit() if done.is_set() else None)
    poll.start(200)
    app.exec()
    poll.stop()
    win.close()
    win.deleteLater()
    app.processEvents()
    result.update(size=size, mode="window (offscreen)", backend=win.status.engine.text())
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", help="640x480 30 fps driving video (default: made from the fixture or the demo face)")
    p.add_argument("--sizes", default="512,256")
    p.add_argument("--sources", type=int, default=4, help="K, images in the avatar set (sample: up to 4)")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--mem-every", type=float, default=10)
    p.add_argument("--backend", default="auto")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--no-preview", action="store_true", help="no preview reader (the window's polling)")
    p.add_argument("--window", action="store_true", help="run the real window offscreen instead")
    p.add_argument("--stub-engine", type=float, metavar="MS",
                   help="replace the engine by a stub that waits MS ms (what the live loop costs without it)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    logging.basicConfig(level=logging.WARNING)

    def log(msg):
        print(msg, flush=True)

    video = Path(args.video) if args.video else make_driver_video(Path(tempfile.mkdtemp()) / "driver_640x480.mp4")
    cap = cv2.VideoCapture(str(video))
    log(f"driver: {video} {int(cap.get(3))}x{int(cap.get(4))} @ {cap.get(5):g} fps, played at real time; "
        f"output {args.width}x{args.height} @ 30 fps; {os.cpu_count()} CPU(s)")
    cap.release()
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        log(f"engine size {size}, K={args.sources}:")
        res = (run_window if args.window else run_headless)(args, video, size, log)
        results.append(res)
        log(f"=> size {size} ({res.get('backend')}): {res.get('fresh_fps')} fps sustained (output "
            f"{res.get('output_fps')}), latency p50 {res.get('latency_p50_ms')} ms / p95 {res.get('latency_p95_ms')} ms, "
            f"dropped {res.get('dropped')}, process {res.get('process_ms')} ms {res.get('stage_ms')}, RSS growth {res.get('rss_growth_mb')} MB "
            f"over {res.get('seconds')} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
