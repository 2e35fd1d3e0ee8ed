"""Builds the frame processor for an avatar set off the live path, then hands it to the processing
thread, which swaps it in between two frames: loading a set, changing the engine size or the sources
used never stalls the output and never shows a frame of the raw driver. Requests coalesce: only the
newest one is built."""
import logging
import threading
import time
from dataclasses import dataclass

from ..avatar import AvatarSet
from ..pipeline import FrameProcessor, PipelineConfig
from ..provenance.labeller import Labeller
from .events import ERROR, INFO, EventQueue

log = logging.getLogger(__name__)


def default_processor_factory(avatar, config: PipelineConfig, labeller, tracker):
    return FrameProcessor(AvatarSet(list(avatar.images), config.size), config, labeller, tracker=tracker)


def default_tracker_factory():
    from ..tracking import FaceTracker
    return FaceTracker(static=False)


@dataclass(frozen=True)
class BuildRequest:
    avatar: object                 # LiveAvatar
    config: PipelineConfig
    new_session: bool = True       # a new labeller (session id) for a new avatar set; kept for engine changes


class ProcessorBuilder(threading.Thread):
    def __init__(self, processing, events: EventQueue, processor_factory=default_processor_factory,
                 tracker_factory=default_tracker_factory, consent_store=None, locale: str = None):
        super().__init__(name="avatarcam-builder", daemon=True)
        self.processing = processing
        self.events = events
        self.processor_factory = processor_factory
        self.tracker_factory = tracker_factory
        self.consent_store = consent_store
        self.locale = locale
        self.tracker = None
        self._cond = threading.Condition()
        self._request = None
        self._stopping = False
        self.busy = False
        self.labeller = None
        self.current = None              # the BuildRequest last handed to the processing thread
        self.generation = 0

    def request(self, req: BuildRequest) -> None:
        with self._cond:
            self._request = req
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    @property
    def session_id(self):
        return self.labeller.session_id if self.labeller else None

    def _labeller_for(self, req: BuildRequest):
        if req.new_session or self.labeller is None:
            return Labeller(locale=self.locale, stronger=req.avatar.stronger_label)
        return self.labeller

    def _build(self, req: BuildRequest) -> None:
        t0 = time.perf_counter()
        if self.tracker is None:
            self.tracker = self.tracker_factory()
        labeller = self._labeller_for(req)
        proc = self.processor_factory(req.avatar, req.config, labeller, self.tracker)
        if self.consent_store is not None and req.avatar.needs_consent and labeller is not self.labeller:
            rec = self.consent_store.find_valid(req.avatar.image_hashes, scope="live")
            if rec is not None:
                self.consent_store.log_session(labeller.session_id, rec.id, f"live: {req.avatar.name}")
        self.labeller = labeller
        self.current = req
        self.generation += 1
        self.processing.submit("swap", proc, req.avatar)
        backend = getattr(proc, "backend", "?")
        notes = getattr(proc, "backend_notes", [])
        self.events.post("avatar", f"Animating {req.avatar.name}: engine {req.config.size} px, "
                                   f"{req.avatar.count} image(s), {backend} backend "
                                   f"(ready in {time.perf_counter() - t0:.1f} s)", INFO,
                         backend=backend, backend_notes=list(notes), size=req.config.size,
                         sources=req.avatar.count, session_id=labeller.session_id, name=req.avatar.name)

    def run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._request is not None)
                if self._stopping:
                    break
                req, self._request = self._request, None
                self.busy = True
            try:
                self._build(req)
            except Exception as exc:
                log.warning("building the processor failed", exc_info=True)
                self.events.post("avatar", f"Could not load {req.avatar.name}: {exc}", ERROR, name=req.avatar.name)
            finally:
                self.busy = False
