"""Watermark detector: pools frames over time and searches mirror, crop and letterbox hypotheses.

Centre crops that keep the shorter side (16:9 -> 4:3 or 1:1, pillarbox) keep the cell grid, so the
"as captured" geometry covers them. Letterboxing or cropping the shorter side changes the cell size:
those are the other scales. Mirroring is the same cells read right to left. Each geometry is tried
mirrored and not; the false-alarm probability is multiplied by the number of hypotheses tried.
"""
import logging
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError
from . import watermark as wm

log = logging.getLogger(__name__)

# name -> true cell size over the nominal one for the frame seen
GEOMETRIES = {
    "as captured (or centre-cropped)": 1.0,
    "16:9 letterboxed in 4:3": 0.75,
    "16:9 cut from 4:3": 4 / 3,
    "16:9 letterboxed in 1:1": 9 / 16,
}
LOG10_THRESHOLD = -6.0     # report "found" only below this false-alarm probability (1e-6)
WINDOW_SECONDS = 4.0
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class Detection:
    found: bool
    session_id: str = None          # set only when found
    log10_p: float = 0.0            # log10 of the false-alarm probability bound
    frames_used: int = 0
    hypothesis: str = ""
    bit_margin: float = 0.0         # smallest |z| over the 32 bits of the best hypothesis
    score: float = 0.0              # sum of z^2 (chi-square, 32 dof, under "unmarked")
    hypotheses: int = 0
    window: tuple = None            # (first frame, last frame + 1) of the pooled frames
    z: np.ndarray = field(default=None, repr=False)

    @property
    def p_false_alarm(self) -> float:
        return 10.0 ** self.log10_p

    @property
    def p_text(self) -> str:
        if self.log10_p < -300:
            return f"1e{self.log10_p:.0f}"
        return f"{self.p_false_alarm:.1e}"

    def describe(self) -> str:
        if self.found:
            return (f"watermark FOUND: session {self.session_id} ({self.hypothesis}); "
                    f"frames used {self.frames_used}; false-alarm probability {self.p_text}; "
                    f"weakest bit z={self.bit_margin:.1f}")
        return (f"watermark NOT FOUND in {self.frames_used} frame(s) ({self.hypotheses} hypotheses searched; "
                f"best false-alarm probability {self.p_text}, needs < 1e{LOG10_THRESHOLD:.0f})")


class _Pool:
    """Sum of cell means for one geometry over some frames."""

    def __init__(self):
        self.sum = None
        self.count = 0
        self.first = None

    def add(self, G, index):
        self.sum = G.copy() if self.sum is None else self.sum + G
        self.count += 1
        self.first = index if self.first is None else self.first


class WatermarkDetector:
    """Feed frames with add(); result() gives the best Detection over geometries, mirror and time.

    window_frames: besides pooling everything, also pool non-overlapping windows of this many frames
    (a recording that mixes sessions or unmarked parts); None pools everything only.
    """

    def __init__(self, window_frames: int = None, geometries: dict = None, log10_threshold: float = LOG10_THRESHOLD):
        self.geometries = dict(geometries or GEOMETRIES)
        self.window_frames = window_frames
        self.log10_threshold = log10_threshold
        self.size = None
        self.frames = 0
        self.skipped = 0
        self._grid = {}                    # geometry -> (valid, iy, ix)
        self._total = {g: _Pool() for g in self.geometries}
        self._window = {g: _Pool() for g in self.geometries}
        self._done_windows = []            # list of {geometry: _Pool}

    def add(self, frame) -> None:
        luma = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        h, w = luma.shape
        if self.size is None:
            self.size = (w, h)
        elif (w, h) != self.size:
            self.skipped += 1
            return
        for name, scale in self.geometries.items():
            G, valid, iy, ix = wm.cell_means(luma, scale)
            self._grid[name] = (valid, iy, ix)
            self._total[name].add(G, self.frames)
            if self.window_frames:
                self._window[name].add(G, self.frames)
        self.frames += 1
        if self.window_frames and self._window[next(iter(self.geometries))].count >= self.window_frames:
            self._done_windows.append(self._window)
            self._window = {g: _Pool() for g in self.geometries}

    def _pools(self):
        yield self._total
        if self.window_frames and self._done_windows and (len(self._done_windows) > 1 or self._window_partial()):
            yield from self._done_windows

    def _window_partial(self):
        return self._window[next(iter(self.geometries))].count > 0

    def result(self) -> Detection:
        if self.frames == 0:
            return Detection(False, frames_used=0)
        pools = list(self._pools())
        n_hyp = len(pools) * len(self.geometries) * 2
        best = None
        for pool in pools:
            for name, p in pool.items():
                valid, iy, ix = self._grid[name]
                R, usable = wm.residual(p.sum / p.count, valid)
                if usable.sum() < 4 * wm.PAYLOAD_BITS:
                    continue
                for mirror in (False, True):
                    z = wm.bit_scores(R, usable, iy, ix, mirror)
                    sid, ok, lp = wm.decide(z, n_hyp)
                    score = float(np.sum(z * z))
                    cand = (lp, -score)
                    if best is None or cand < best[0]:
                        hyp = name + (", mirrored" if mirror else "")
                        found = ok and lp < self.log10_threshold
                        best = (cand, Detection(
                            found=found, session_id=sid if found else None,
                            log10_p=lp, frames_used=p.count, hypothesis=hyp,
                            bit_margin=float(np.min(np.abs(z))), score=score, hypotheses=n_hyp,
                            window=(p.first, p.first + p.count), z=z))
        if best is None:
            return Detection(False, frames_used=self.frames, hypotheses=n_hyp)
        return best[1]


def detect_frames(frames, window_frames: int = None) -> Detection:
    d = WatermarkDetector(window_frames)
    for f in frames:
        d.add(f)
    return d.result()


@dataclass
class FileVerdict:
    path: str
    kind: str                    # "image" | "video"
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frames_read: int = 0
    detection: Detection = None


def detect_file(path, max_seconds: float = 30.0, early_stop: bool = True) -> FileVerdict:
    """Read an image or a video and look for the watermark. InputError if it cannot be read."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(path, "no such file")
    if os.path.splitext(path)[1].lower() in IMAGE_EXTS:
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise InputError(path, "not a readable image")
        det = detect_frames([img])
        return FileVerdict(path, "image", img.shape[1], img.shape[0], 0.0, 1, det)
    return _detect_video(path, max_seconds, early_stop)


def _detect_video(path, max_seconds, early_stop) -> FileVerdict:
    import av
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise InputError(path, f"not a readable video or image ({e})") from None
    with container:
        if not container.streams.video:
            raise InputError(path, "has no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        limit = max(1, int(round(max_seconds * fps)))
        det = WatermarkDetector(window_frames=max(1, int(round(WINDOW_SECONDS * fps))))
        verdict = FileVerdict(path, "video", stream.codec_context.width, stream.codec_context.height, fps)
        check_every = max(1, int(round(fps)))
        try:
            for frame in container.decode(stream):
                det.add(frame.to_ndarray(format="gray"))
                verdict.frames_read += 1
                if verdict.frames_read >= limit:
                    break
                if early_stop and verdict.frames_read % check_every == 0 and verdict.frames_read >= 2 * check_every:
                    r = det.result()
                    if r.found and r.log10_p < LOG10_THRESHOLD - 6:
                        break
        except (av.error.FFmpegError, ValueError) as e:
            if verdict.frames_read == 0:
                raise InputError(path, f"no decodable video frames ({e})") from None
            log.warning("%s: stopped reading after %d frames (%s)", path, verdict.frames_read, e)
    if verdict.frames_read == 0:
        raise InputError(path, "no decodable video frames")
    verdict.detection = det.result()
    return verdict
