"""Checks avatar photos off the UI thread: one worker thread owns a MediaPipe face tracker (static
mode, two faces so a second person is noticed) and answers requests in order; results come back as a
Qt signal. Each file is read once: its image and its hash (what consent covers) come from the same
bytes. Results are cached per file content."""
import logging
import queue
import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


@dataclass
class CheckedImage:
    file: str                 # file name in the set (or the sample image's name)
    image_bgr: object         # the full image
    check: object             # realtime.live.image_check.ImageCheck
    used: bool = True
    sha256: str = None        # hash of the bytes image_bgr was decoded from (consent covers it); None: unreadable


@dataclass
class CheckedSet:
    info: object              # AvatarSetInfo
    images: list              # CheckedImage, base first
    error: str = ""

    @property
    def usable(self) -> list:
        return [c for c in self.images if c.check.ok]


class AvatarChecker(QObject):
    checked = Signal(object, int)          # CheckedSet, request number

    def __init__(self, tracker_factory=None, parent=None):
        super().__init__(parent)
        self._q = queue.Queue()
        self._tracker_factory = tracker_factory
        self._cache = {}
        self._embedder = None
        self._n = 0
        self._thread = threading.Thread(target=self._run, name="avatarcam-checker", daemon=True)
        self._thread.start()

    def request(self, info, sample_used=None) -> int:
        self._n += 1
        self._q.put((self._n, info, sample_used))
        return self._n

    def check_array(self, name: str, image_bgr, callback) -> None:
        """Check one in-memory image (a webcam shot); callback(ImageCheck) runs on the worker thread."""
        self._q.put(("array", name, image_bgr, callback))

    def shutdown(self, wait_s: float = 2.0) -> None:
        self._q.put(None)
        self._thread.join(wait_s)

    def _tracker(self):
        if self._tracker_factory:
            return self._tracker_factory()
        from realtime.tracking import FaceTracker
        return FaceTracker(static=True, max_faces=2)

    def _run(self) -> None:
        from realtime.live.image_check import ImageCheck, check_image
        from realtime.provenance.consent import hash_image_array
        tracker = None
        while True:
            job = self._q.get()
            if job is None:
                break
            if job[0] == "array":
                _, name, image, callback = job
                try:
                    if tracker is None:
                        tracker = self._tracker()
                    result = check_image(name, image, tracker)
                except Exception as exc:
                    result = ImageCheck(name, False, f"Could not check the picture: {exc}")
                callback(result)
                continue
            n, info, sample_used = job
            try:
                if tracker is None:
                    tracker = self._tracker()
                images = []
                if info.is_sample:
                    from realtime.sample_avatar import sample_images
                    for i, (name, img) in enumerate(sample_images()):
                        used = sample_used is None or i in sample_used
                        images.append(CheckedImage(name, img, self._cached(("sample", name), lambda: check_image(name, img, tracker)),
                                                   used, hash_image_array(img)))
                else:
                    for path in info.paths():
                        images.append(self._check_file(path, info.used.get(path.name, True), tracker))
                    self._same_person(images)
                self.checked.emit(CheckedSet(info, images), n)
            except Exception as exc:
                log.exception("checking the avatar set failed")
                self.checked.emit(CheckedSet(info, [], f"Could not check the photos: {exc}"), n)
        if tracker is not None:
            try:
                tracker.close()
            except Exception:
                pass

    def _check_file(self, path, used: bool, tracker) -> CheckedImage:
        """One read of the file: the image checked and shown and the hash consent is checked against
        are both from these bytes, so a file swapped later cannot borrow this one's consent."""
        from realtime.images import decode_image_bgr, read_image_file
        from realtime.provenance.consent import hash_image_bytes
        from realtime.live.image_check import ImageCheck, check_image
        img = sha = None
        try:
            data = read_image_file(path)
            sha = hash_image_bytes(data)
            img = decode_image_bgr(data, path)
            check = self._cached((path.name, sha), lambda: check_image(path.name, img, tracker))
        except Exception as exc:           # unreadable: a rejection with its reason
            img, check = None, ImageCheck(path.name, False, str(getattr(exc, "problem", exc)))
        return CheckedImage(path.name, img, check, used, sha)

    def _same_person(self, images) -> None:
        """Reject photos of someone else than the base photo's person (dlib face embedding)."""
        if sum(1 for c in images if c.check.ok) < 2:
            return
        from realtime.live.image_check import reject_other_people
        try:
            if self._embedder is None:
                from realtime.identity import FaceEmbedder
                self._embedder = FaceEmbedder()
            from realtime.identity import SAME_PERSON
        except Exception as exc:            # no dlib here: the check is skipped, and the log says so
            log.warning("identity check unavailable: %s", exc)
            return
        emb = self._embedder
        checks = reject_other_people([(c.image_bgr, c.check) for c in images],
                                     emb.embed, emb.distance, SAME_PERSON)
        for c, chk in zip(images, checks):
            c.check = chk

    def _cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]
