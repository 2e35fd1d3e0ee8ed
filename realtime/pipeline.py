"""The one place that wires the per-frame path: landmarks -> smoothing -> retarget -> engine ->
paste-back -> label. Used by `animate`, `demo`, `bench` and the live app alike.

Two ways to compose, same stages: on the host (the engine hands over a BGR crop; cv2 paste-back and
the numpy Labeller), or, when the engine runs on a GPU, on its device (compose_torch: the crop never
leaves the GPU and the labelled frame comes down once)."""
import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np

from engines.implicit_warp import WarpConfig
from engines.predictor import create_predictor
from .compose import PasteBack
from .compose_torch import DeviceComposer
from .neutral import NeutralWait
from .retarget import RetargetConfig, Retargeter
from .tracking import FaceTracker, LandmarkSmoother

log = logging.getLogger(__name__)

STAGES = ("landmarks", "retarget", "engine", "paste", "label")


@dataclass(frozen=True)
class PipelineConfig:
    size: int = 512
    backend: str = "auto"
    relative: bool = True
    expression: float = 1.0
    head_motion: bool = True
    smoothing: float = 1.0       # 0 = off, 1 = default One Euro smoothing, 2 = heavier
    neutral_wait: float = 0.0    # s: a live session waits this long for a neutral-looking driver face to
                                 # calibrate on (realtime/neutral.py); 0: the first face (files)


@dataclass
class FrameResult:
    output_bgr: np.ndarray               # labelled full frame (base image size)
    face_found: bool
    driver_lmk: np.ndarray = None        # 478 x 3 pixels of the driver frame, if a face was found
    timings_ms: dict = field(default_factory=dict)


@dataclass
class Tracked:
    """The driver side of one frame: what track() hands to render()."""
    driver_lmk: np.ndarray               # 478 x 3 pixels, or None when no face was found
    target: np.ndarray                   # 478 x 2 engine input, or None (the avatar holds its pose)
    timings_ms: dict = field(default_factory=dict)


class TrackAhead:
    """Runs track() of the next frame on a worker thread while the caller renders the current one.

    On a 2-core CPU MediaPipe (one core) and the engine (one torch thread, `engines/cpu_tuning.py`)
    then run side by side: the frame rate is set by the slower of the two, not their sum. One
    worker, so frames are tracked in order (MediaPipe's tracking mode needs that)."""

    def __init__(self, processor: "FrameProcessor" = None):
        from concurrent.futures import ThreadPoolExecutor
        self.processor = processor
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatarcam-track")

    def submit(self, *args):
        """submit(frame, t) or submit(processor, frame, t): a future of processor.track(frame, t)."""
        processor, frame_bgr, t = args if len(args) == 3 else (self.processor, *args)
        return self._pool.submit(processor.track, frame_bgr, t)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class FrameProcessor:
    """Owns MediaPipe, the engine and the paste-back for one avatar set. One thread at a time.

    device_compose: None composes on the engine's device when that is not the CPU; True forces the
    device path (tests run it on the CPU device); False keeps the host path.
    """

    def __init__(self, avatar, config: PipelineConfig, labeller, tracker: FaceTracker = None, predictor=None,
                 device_compose: bool = None):
        self.avatar = avatar
        self.config = config
        self.labeller = labeller
        warp = WarpConfig(size=config.size, num_sources=avatar.count)
        if predictor is None:
            choice = create_predictor(config.backend, warp)
            predictor, self.backend, self.backend_notes = choice.predictor, choice.name, choice.reasons
        else:
            self.backend, self.backend_notes = predictor.name, []
        self.predictor = predictor
        rgb, lmk = avatar.engine_inputs()
        self.predictor.set_sources(rgb, lmk)
        self.paste = PasteBack(avatar.base_bgr, avatar.base_to_crop, config.size)
        device = str(getattr(predictor, "device", "cpu"))
        if device_compose is None:
            device_compose = device != "cpu"
        self.composer = DeviceComposer(self.paste, labeller, device) if device_compose else None
        self.sync_stages = False     # bench: wait for the device at stage ends so stage times are true
        self.retarget = Retargeter(avatar.lmk_norm[0], self._retarget_config(config), avatar.base_depth)
        self.tracker = tracker or FaceTracker(static=False)
        self._own_tracker = tracker is None
        self.smoother = LandmarkSmoother(config.smoothing)
        # held pose: starts as the base image itself (a device tensor on the device path)
        base_crop = avatar.crops_bgr[0]
        self._last_crop = base_crop if self.composer is None else self.composer.upload(base_crop)
        self._calibrate_next = False
        self._neutral = NeutralWait(config.neutral_wait)     # until the retargeter has its neutral

    @staticmethod
    def _retarget_config(c: PipelineConfig) -> RetargetConfig:
        return RetargetConfig(relative=c.relative, expression=c.expression, head_motion=c.head_motion)

    def update(self, **changes) -> None:
        """Live changes that need no rebuild (expression, head motion, smoothing, relative)."""
        self.config = replace(self.config, **changes)
        self.retarget.config = self._retarget_config(self.config)
        self.smoother.strength = self.config.smoothing

    def calibrate(self, wait: bool = False) -> None:
        """Use the next frame with a face as the neutral reference (the user asked, facing the
        camera); wait=True: the next that looks neutral, within config.neutral_wait (a new driver)."""
        if wait:
            self.retarget.reference = None
            self._neutral = NeutralWait(self.config.neutral_wait)
        else:
            self._calibrate_next = True

    @property
    def finding_neutral(self) -> bool:
        """Waiting for a neutral-looking driver face to calibrate on (the avatar holds still)."""
        return self.retarget.reference is None and self.config.neutral_wait > 0

    def keep_neutral_of(self, other: "FrameProcessor") -> None:
        """Take over the driver's neutral from the processor this one replaces: a new avatar set or
        engine size changes the avatar, not the driver, and calibrating again on whatever face the
        driver made at that moment mis-set the mouth or the head for the rest of the session."""
        neutral = other.retarget.neutral
        if neutral is not None and not other._calibrate_next:
            self.retarget.calibrate(neutral)

    def process(self, frame_bgr, t: float) -> FrameResult:
        """One frame, serially: track() then render()."""
        return self.render(self.track(frame_bgr, t))

    def track(self, frame_bgr, t: float) -> Tracked:
        """Landmarks, smoothing, calibration and retargeting: the driver side. It shares no state with
        render(), so the next frame's track() may run on another thread while this one renders."""
        t0 = time.perf_counter()
        lmk = self.tracker.detect(frame_bgr) if frame_bgr is not None else None
        t1 = time.perf_counter()
        timings = {"landmarks": (t1 - t0) * 1e3}
        if lmk is None:
            self.smoother.reset()
            return Tracked(None, None, timings)
        lmk_s = self.smoother(lmk, t)
        if self._calibrate_next:
            self.retarget.calibrate(lmk_s)
            self._calibrate_next = False
        elif self.retarget.reference is None:
            neutral = self._neutral.offer(lmk_s, t)
            if neutral is None:          # still waiting for a neutral face: the avatar holds its pose
                return Tracked(lmk, None, timings)
            self.retarget.calibrate(neutral)
        target = self.retarget(lmk_s)
        timings["retarget"] = (time.perf_counter() - t1) * 1e3
        return Tracked(lmk, target, timings)

    def render(self, tracked: Tracked) -> FrameResult:
        """Engine, paste-back, label + watermark: the avatar side."""
        timings = dict(tracked.timings_ms)
        t2 = time.perf_counter()
        if tracked.target is not None:
            tgt = tracked.target
            crop = self.predictor.render_bgr(tgt) if self.composer is None else self.predictor.render_tensor(tgt)
            self._sync()
            self._last_crop = crop
            t3 = time.perf_counter()
            timings["engine"] = (t3 - t2) * 1e3
        else:
            # no face: the avatar holds its last pose; the driver image never reaches the output
            t3 = t2
        if self.composer is None:      # host: cv2 paste-back, then label + watermark in place
            full = self.paste(self._last_crop)
            t4 = time.perf_counter()
            self.labeller.apply(full)
        else:                          # device: the same, then the one download (raises: no frame out)
            full = self.composer.paste(self._last_crop)
            self._sync()
            t4 = time.perf_counter()
            full = self.composer.finish(full)
        timings["paste"] = (t4 - t3) * 1e3
        timings["label"] = (time.perf_counter() - t4) * 1e3
        return FrameResult(full, tracked.target is not None, tracked.driver_lmk, timings)

    def _sync(self) -> None:
        if self.sync_stages and self.composer is not None:
            self.composer.sync()

    def close(self):
        if self._own_tracker:
            self.tracker.close()
