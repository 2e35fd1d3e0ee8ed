"""`run.py eval`: self-reenactment and cross-reenactment quality, K = 1 and K = 4, and the still baseline."""
import logging

import numpy as np

from .. import quality as Q
from engines import topology as topo

from ..avatar import avatar_from_arrays, load_avatar_set, norm_to_px
from ..geometry import apply
from ..pipeline import FrameProcessor, PipelineConfig
from ..sources import VideoFileSource
from ..tracking import FaceTracker

log = logging.getLogger(__name__)


def add_parser(sub):
    p = sub.add_parser("eval", help="quality measures on driving clips (and portraits for cross-reenactment)")
    p.add_argument("--driving", nargs="+", required=True, metavar="CLIP")
    p.add_argument("--portrait", nargs="*", default=[], metavar="IMG")
    p.add_argument("--size", type=int, choices=(256, 512), default=512)
    p.add_argument("--backend", default="torch")
    p.add_argument("--max-frames", type=int, default=0, help="use only the first N frames of each clip")
    p.add_argument("--stride", type=int, default=4, help="measure every Nth frame (all frames still drive)")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    p.set_defaults(func=run)


class _NoLabel:
    """Measurements compare faces with ground truth; the label would only add a constant error.
    Nothing evaluated here leaves the process."""
    session_id = "eval"

    def apply(self, frame):
        return frame

    apply_tensor = apply         # the device-side compose path (GPU backends)


def read_clip(path, max_frames=0):
    src = VideoFileSource(path)
    frames = []
    for f, _ in src:
        frames.append(f)
        if max_frames and len(frames) >= max_frames:
            break
    return frames, src.fps


def pick_sources(lmks, k):
    """Frame 0 plus the frames that show what frame 0 does not: mouth open, eyes closed, head turned."""
    idx = [0]
    valid = [i for i, l in enumerate(lmks) if l is not None]
    sig = {i: Q.expression_signals(lmks[i]) for i in valid}
    order = [max(valid, key=lambda i: sig[i]["mouth"]), min(valid, key=lambda i: sig[i]["eyes"]),
             max(valid, key=lambda i: abs(sig[i]["yaw"] - sig[0]["yaw"]))]
    for i in order:
        if len(idx) >= k:
            break
        if i not in idx:
            idx.append(i)
    return idx


def self_reenactment(clip, frames, lmks, k, size, backend, stride, tracker, embedder):
    """Frames used as sources by any method (K = 4's picks include frame 0) are not measured:
    reproducing a source is trivially exact and would flatter the still baseline most."""
    rows = dict(psnr=[], ssim=[], detail=[], lmk=[], ident=[])
    excluded = set(pick_sources(lmks, 4))
    if k == 0:   # the still baseline: output = first frame
        outputs = (frames[0] for _ in frames)
    else:
        idx = pick_sources(lmks, k)
        avatar = avatar_from_arrays([(f"{clip}#{i}", frames[i]) for i in idx], size, tracker)
        proc = FrameProcessor(avatar, PipelineConfig(size=size, backend=backend), _NoLabel())
        outputs = (proc.process(f, i / 30.0).output_bgr for i, f in enumerate(frames))
    out_tracker = FaceTracker(static=True)
    for i, out in enumerate(outputs):
        gt_l = lmks[i]
        if i % stride or gt_l is None or i in excluded:
            continue
        x0, y0, x1, y1 = Q.face_box(gt_l, out.shape)
        a, b = out[y0:y1, x0:x1], frames[i][y0:y1, x0:x1]
        rows["psnr"].append(Q.psnr(a, b))
        rows["ssim"].append(Q.ssim(a, b))
        rows["detail"].append(Q.detail(a, b))
        ol = out_tracker.detect(out)
        rows["lmk"].append(Q.landmark_error(ol, gt_l) if ol is not None else float("nan"))
        if ol is not None and i % (stride * 4) == 0:
            rows["ident"].append(embedder.distance(embedder.embed(out, ol), embedder.embed(frames[i], gt_l)))
    out_tracker.close()
    return {key: float(np.nanmean(v)) if v else float("nan") for key, v in rows.items()}


def cross_reenactment(portrait, frames, lmks, size, backend, stride, tracker, embedder, fps):
    """The avatar's following of the driver, measured by MediaPipe on both (the issue's figures), and
    where what it loses is lost: the driver -> target correlations are the retarget's share; how far
    the drawn nose tip (Q.DRAWN_POINTS, found by its texture) and MediaPipe's reading of it move
    otherwise than the target asked, over inter-ocular distance, split the rest between the engine's
    drawing and MediaPipe's reading of it."""
    import cv2
    avatar = load_avatar_set([portrait], size, tracker)
    ref = embedder.embed(avatar.base_bgr, avatar.images[0].lmk_px)
    proc = FrameProcessor(avatar, PipelineConfig(size=size, backend=backend), _NoLabel())
    crop_to_base = np.linalg.inv(avatar.base_to_crop)
    out_tracker = FaceTracker(static=False)
    drv, out_sig, with_target, ident, drawn_err, read_err = [], [], [], [], [], []
    first = None                     # the first measured frame: output (gray), asked and read points
    for i, f in enumerate(frames):
        tracked = proc.track(f, i / fps)
        res = proc.render(tracked)
        if i % max(1, stride // 2) or lmks[i] is None:
            continue
        ol = out_tracker.detect(res.output_bgr)
        if ol is None:
            continue
        drv.append(Q.expression_signals(lmks[i]))
        out_sig.append(Q.expression_signals(ol))
        if i % (stride * 4) == 0:
            ident.append(embedder.distance(ref, embedder.embed(res.output_bgr, ol)))
        if tracked.target is None:   # the avatar held its pose: nothing was asked of the engine
            continue
        asked = apply(crop_to_base, norm_to_px(tracked.target, size))
        with_target.append((drv[-1], Q.expression_signals(asked)))
        gray = cv2.cvtColor(res.output_bgr, cv2.COLOR_BGR2GRAY)
        if first is None:
            first = gray, asked, ol[:, :2], topo.inter_ocular(ol)
            continue
        gray0, asked0, read0, iod = first
        for p in Q.DRAWN_POINTS:
            found = Q.patch_offset(gray0, asked0[p], gray, asked[p], int(0.12 * iod), int(0.3 * iod))
            if found is not None and found[1] >= 0.8:      # a turned head can change a patch past matching
                drawn_err.append(np.linalg.norm(found[0]) / iod)
                read_err.append(np.linalg.norm((ol[p, :2] - read0[p]) - (asked[p] - asked0[p])) / iod)
    out_tracker.close()
    keys = ("mouth", "eyes", "yaw", "pitch")
    corr = {k: Q.correlation([d[k] for d in drv], [o[k] for o in out_sig]) for k in keys}
    to_target = {k: Q.correlation([d[k] for d, _ in with_target], [t[k] for _, t in with_target]) for k in keys}
    spread = (lambda v: tuple(np.percentile(v, (50, 90))) if v else (float("nan"),) * 2)
    return dict(ident=float(np.mean(ident)) if ident else float("nan"), **corr, to_target=to_target,
                drawn_err=spread(drawn_err), read_err=spread(read_err), matched=len(drawn_err))


def run(args) -> int:
    import os
    from ..identity import FaceEmbedder
    embedder = FaceEmbedder()
    tracker = FaceTracker(static=True, max_faces=2)
    lines = ["## Self-reenactment (sources = frames of the clip, driver = the clip)", "",
             "| clip | method | PSNR face box (dB) | SSIM | detail | landmark err / IOD | identity dist |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    clips = {}
    for clip in args.driving:
        frames, fps = read_clip(clip, args.max_frames)
        track = FaceTracker(static=False)
        lmks = [track.detect(f) for f in frames]
        track.close()
        clips[clip] = (frames, lmks, fps)
        name = os.path.basename(clip)
        for k, label in ((0, "still (first frame)"), (1, "K = 1"), (4, "K = 4")):
            r = self_reenactment(name, frames, lmks, k, args.size, args.backend, args.stride, tracker, embedder)
            lines.append(f"| {name} | {label} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['detail']:.3f} | {r['lmk']:.3f} | "
                         f"{r['ident']:.3f} |")
            print(lines[-1], flush=True)
    if args.portrait:
        lines += ["", "## Cross-reenactment (portrait driven by a clip)", "",
                  "| portrait | driver | identity dist | mouth corr | eyes corr | yaw corr | pitch corr |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        where = ["", "## Where the following is lost (the same runs)", "",
                 "Driver -> target: MediaPipe's signals of the driver against the same signals of the landmarks "
                 "the retarget asks the engine to draw. Nose tip drawn / read: how far the drawn nose tip (found "
                 "by its texture) or MediaPipe's reading of it moved otherwise than the target asked since the "
                 "first frame, over inter-ocular distance, median / 90th percentile over the frames matched.", "",
                 "| portrait | driver | driver -> target mouth / eyes / yaw / pitch | nose tip drawn err / IOD | "
                 "nose tip read err / IOD | frames matched |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for portrait in args.portrait:
            for clip, (frames, lmks, fps) in clips.items():
                r = cross_reenactment(portrait, frames, lmks, args.size, args.backend, args.stride, tracker, embedder, fps)
                lines.append(f"| {os.path.basename(portrait)} | {os.path.basename(clip)} | {r['ident']:.3f} | "
                             f"{r['mouth']:.3f} | {r['eyes']:.3f} | {r['yaw']:.3f} | {r['pitch']:.3f} |")
                print(lines[-1], flush=True)
                t = r["to_target"]
                where.append(f"| {os.path.basename(portrait)} | {os.path.basename(clip)} | {t['mouth']:.3f} / "
                             f"{t['eyes']:.3f} / {t['yaw']:.3f} / {t['pitch']:.3f} | {r['drawn_err'][0]:.4f} / "
                             f"{r['drawn_err'][1]:.4f} | {r['read_err'][0]:.4f} / {r['read_err'][1]:.4f} | {r['matched']} |")
        lines += where
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text)
    return 0
