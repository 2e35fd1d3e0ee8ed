"""`run.py animate` and `run.py demo`: driving video/camera/demo motion + avatar set -> labelled MP4."""
import logging
import os
import sys
import time

from ..avatar import avatar_from_arrays, load_avatar_set
from ..errors import InputError, OutputError
from ..pipeline import FrameProcessor, PipelineConfig
from ..sources import open_driving, DemoMotionSource
from ..video_io import Mp4Writer, check_writable

log = logging.getLogger(__name__)


def add_parser(sub):
    p = sub.add_parser("animate", help="animate an avatar image set from a driving video, camera or demo motion")
    p.add_argument("--source", nargs="+", required=True, metavar="IMG",
                   help="1 to 8 photos of the same person; the first is the base image")
    p.add_argument("--driving", required=True, help="video file, camera, camera:N or demo")
    p.add_argument("--output", required=True, metavar="OUT.mp4")
    add_engine_args(p)
    p.add_argument("--consent", metavar="self|other:NAME",
                   help="record consent for this image set (needed once per set); an attestation, so outputs "
                        "say consent is attested, not verified (`run.py consent self` checks it live instead)")
    p.set_defaults(func=run_animate)

    d = sub.add_parser("demo", help="the built-in sample avatar driven by built-in demo motion")
    d.add_argument("--output", default="demo.mp4")
    d.add_argument("--seconds", type=float, default=8.0)
    add_engine_args(d)
    d.set_defaults(func=run_demo)


def add_engine_args(p):
    p.add_argument("--size", type=int, choices=(256, 512), default=512, help="engine resolution of the face region")
    p.add_argument("--backend", default="auto", help="auto, torch, onnxruntime, torch-cuda or tensorrt")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--relative", dest="relative", action="store_true", default=True,
                   help="motion relative to the first driving frame with a face (default)")
    g.add_argument("--absolute", dest="relative", action="store_false", help="use the driver's face shape")


def config_from_args(args) -> PipelineConfig:
    return PipelineConfig(size=args.size, backend=args.backend, relative=args.relative)


def check_same_person(avatar) -> None:
    """Refuse sets that mix people: each image is compared with the base image."""
    if avatar.count < 2:
        return
    from ..identity import FaceEmbedder, SAME_PERSON
    emb = FaceEmbedder()
    base = emb.embed(avatar.images[0].image_bgr, avatar.images[0].lmk_px)
    for img in avatar.images[1:]:
        d = emb.distance(base, emb.embed(img.image_bgr, img.lmk_px))
        if d >= SAME_PERSON:
            raise InputError(img.name, f"shows a different person than {avatar.images[0].name} "
                                       f"(face distance {d:.2f}, same person is below {SAME_PERSON}); "
                                       "an avatar set must show one person")


def check_label_fits(avatar, base_path) -> None:
    """The output is the base photo's frame: it must hold the whole label, with the attestation line
    (the larger of the two), or nothing can be written (fail closed), so say so before any work."""
    from ..provenance.labeller import Labeller
    h, w = avatar.base_bgr.shape[:2]
    try:
        Labeller(stronger=True).check_fits(w, h)
    except ValueError:
        raise InputError(base_path, f"the photo is {w}x{h}, too small to carry the AI-GENERATED label "
                                    "legibly; use a larger photo") from None


def check_output(output, inputs=()) -> None:
    """OUT must be a new or replaceable .mp4 that is none of the inputs: the finished video is moved
    onto its name, and a typo (the photo's own name, the driving clip's) would destroy that file."""
    check_writable(output)
    if os.path.splitext(output)[1].lower() != ".mp4":
        raise OutputError(f"{output}: the output is an MP4 video; give a file name ending in .mp4")
    for path in inputs:
        if os.path.exists(output) and os.path.exists(path) and os.path.samefile(output, path):
            raise OutputError(f"{output}: is one of the inputs ({path}); writing the video there would "
                              "destroy it, so choose another file name")


def run_animate(args) -> int:
    from ..consent_gate import require_consent
    from ..provenance.consent import ConsentStore
    check_output(args.output, [*args.source, args.driving])
    avatar = load_avatar_set(args.source, args.size)
    check_same_person(avatar)
    check_label_fits(avatar, args.source[0])
    driving = open_driving(args.driving)
    store = ConsentStore.default()
    # the hashes of the bytes that were decoded, not a second read: the file may have changed since.
    # A new record is kept only once the video is made: a bad input, found before or while rendering
    # (a driving clip with no face), must not leave a record behind for a video that was never made
    record, new = require_consent(avatar.image_hashes, args.consent, store, args.source)
    return _render(avatar, driving, args.output, config_from_args(args), store=store, record=record,
                   driving_name=args.driving, new_record=new)


def run_demo(args) -> int:
    from ..sample_avatar import sample_images
    from ..tracking import FaceTracker
    check_output(args.output)
    tracker = FaceTracker(static=True)
    avatar = avatar_from_arrays(sample_images(), args.size, tracker)
    tracker.close()
    driving = DemoMotionSource(seconds=args.seconds)
    return _render(avatar, driving, args.output, config_from_args(args), store=None, record=None,
                   driving_name="demo")


def _render(avatar, driving, output, config, store, record, driving_name, new_record=False) -> int:
    from ..provenance.c2pa_sign import sign_mp4
    from ..provenance.consent import needs_stronger_label
    from ..provenance.labeller import Labeller
    labeller = Labeller(stronger=record is not None and needs_stronger_label(record))
    proc = FrameProcessor(avatar, config, labeller)
    log.info("engine backend: %s%s", proc.backend,
             f" (skipped: {'; '.join(proc.backend_notes)})" if proc.backend_notes else "")
    H, W = avatar.base_bgr.shape[:2]
    faces = frames = 0
    t0 = time.perf_counter()
    writer = Mp4Writer(output, driving.fps, W, H)
    try:
        for frame, t in driving:
            res = proc.process(frame, t)
            writer.write(res.output_bgr)
            frames += 1
            faces += res.face_found
        if frames and not faces:
            raise InputError(driving_name, "no face found in any frame of the driving video")
        if not frames:
            raise InputError(driving_name, "the driving video has no frames")
    except BaseException:
        writer.abort()
        raise
    finally:
        proc.close()
    if new_record:
        store.save(record)
    # signed (C2PA, verified by reading back) before it takes the output's name: fail closed
    path = writer.commit(finalize=lambda tmp: sign_mp4(tmp, labeller.session_id,
                                                       record.record_hash if record is not None else None))
    if store is not None and record is not None:
        store.log_session(labeller.session_id, record.id, path)
    dt = time.perf_counter() - t0
    size = f"{writer.width}x{writer.height}"
    if (writer.width, writer.height) != (W, H):
        size += f" (the photo's {W}x{H} less its odd row or column: H.264 video needs even sizes)"
    print(f"wrote {path}: {frames} frames ({faces} with a face), {size} at {driving.fps:g} fps, "
          f"backend {proc.backend}, session {labeller.session_id}, {frames / max(dt, 1e-9):.1f} fps")
    short = driving.shortfall() if hasattr(driving, "shortfall") else ""
    if short:
        print(f"warning: {driving_name}: {short}; the output has a frame for each frame that was read",
              file=sys.stderr)
    return 0
