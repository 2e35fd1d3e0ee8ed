"""Live figures for the status bar and the benchmark: output fps, fresh-frame fps, capture-to-output
latency (p50/p95), dropped and repeated frames. Thread-safe; cheap enough to update every frame."""
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StatsSnapshot:
    output_fps: float = 0.0         # frames sent to the outputs per second (steady: repeats included)
    fresh_fps: float = 0.0          # new avatar frames per second (what the engine sustains)
    capture_fps: float = 0.0        # driver frames arriving per second
    latency_p50_ms: float = float("nan")   # capture -> first sent to the outputs
    latency_p95_ms: float = float("nan")
    dropped: int = 0                # driver frames replaced in the mailbox before processing
    repeated: int = 0               # output ticks that repeated the previous frame
    processed: int = 0
    process_ms: float = float("nan")       # mean processing time of recent frames
    face_found: bool = False
    stage_ms: dict = None                  # mean per pipeline stage (landmarks, engine, paste, label...)

    def describe(self) -> str:
        lat = "n/a" if np.isnan(self.latency_p50_ms) else f"{self.latency_p50_ms:.0f}/{self.latency_p95_ms:.0f} ms"
        return (f"{self.fresh_fps:.1f} fps (output {self.output_fps:.0f}), latency p50/p95 {lat}, "
                f"dropped {self.dropped}")


class _Rate:
    def __init__(self, window_s: float):
        self.window = window_s
        self.times = deque()

    def tick(self, t: float) -> None:
        self.times.append(t)
        while self.times and t - self.times[0] > self.window:
            self.times.popleft()

    def rate(self, now: float) -> float:
        while self.times and now - self.times[0] > self.window:
            self.times.popleft()
        if len(self.times) < 2:
            return 0.0
        span = max(now - self.times[0], self.times[-1] - self.times[0])
        return (len(self.times) - 1) / span if span > 0 else 0.0


class LiveStats:
    def __init__(self, window_s: float = 2.0, latency_samples: int = 300, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._output = _Rate(window_s)
        self._fresh = _Rate(window_s)
        self._capture = _Rate(window_s)
        self._latency = deque(maxlen=latency_samples)
        self._process = deque(maxlen=30)
        self._stages = {}
        self.all_latencies_ms = []            # whole run, for the benchmark (bounded below)
        self._keep_all = False
        self.dropped = 0
        self.repeated = 0
        self.processed = 0
        self.face_found = False

    def keep_all_latencies(self, on: bool = True) -> None:
        self._keep_all = on

    def captured(self, t: float) -> None:
        with self._lock:
            self._capture.tick(t)

    def frame_processed(self, ms: float, face_found: bool, stages: dict = None) -> None:
        with self._lock:
            self._process.append(ms)
            for k, v in (stages or {}).items():
                self._stages.setdefault(k, deque(maxlen=30)).append(v)
            self.processed += 1
            self.face_found = face_found

    def output_tick(self, t: float, fresh_capture_t: float = None) -> None:
        """One frame sent to the outputs; fresh_capture_t is the capture time of a new frame, None for a repeat."""
        with self._lock:
            self._output.tick(t)
            if fresh_capture_t is None:
                self.repeated += 1
                return
            self._fresh.tick(t)
            ms = (t - fresh_capture_t) * 1e3
            self._latency.append(ms)
            if self._keep_all and len(self.all_latencies_ms) < 1_000_000:
                self.all_latencies_ms.append(ms)

    def set_dropped(self, n: int) -> None:
        with self._lock:
            self.dropped = n

    def snapshot(self) -> StatsSnapshot:
        now = self._clock()
        with self._lock:
            lat = np.array(self._latency) if self._latency else None
            return StatsSnapshot(
                output_fps=self._output.rate(now), fresh_fps=self._fresh.rate(now),
                capture_fps=self._capture.rate(now),
                latency_p50_ms=float(np.percentile(lat, 50)) if lat is not None else float("nan"),
                latency_p95_ms=float(np.percentile(lat, 95)) if lat is not None else float("nan"),
                dropped=self.dropped, repeated=self.repeated, processed=self.processed,
                process_ms=float(np.mean(self._process)) if self._process else float("nan"),
                face_found=self.face_found,
                stage_ms={k: float(np.mean(v)) for k, v in self._stages.items()})
