"""The one place every output frame passes through: visible label + invisible watermark.

Fails closed: if anything goes wrong the caller gets an exception and must not emit the frame.
"""
import logging
import math
import secrets

import numpy as np

from .label import VisibleLabel, notice_frame, texts
from .watermark import ID_BITS, Watermarker, session_number

log = logging.getLogger(__name__)

NOTICE_SECONDS = 2.0


def new_session_id() -> str:
    """A random session id: 6 hex digits (the watermark carries 24 bits of id)."""
    return secrets.token_hex(ID_BITS // 8)


class Labeller:
    """Labels and watermarks frames of any size for one output session.

    session_id: 6 hex digits (made at random when None); the watermark carries it.
    locale: label language ('de', 'fr_FR.UTF-8', ...; None follows the environment).
    stronger: the attestation-only path (consent for someone else without their signed token):
    a second line under the label says consent is attested, not verified.
    """

    def __init__(self, session_id: str = None, locale: str = None, stronger: bool = False):
        self.session_id = new_session_id() if session_id is None else str(session_id).lower()
        session_number(self.session_id)            # ValueError now, not at the first frame
        self.locale = locale
        self.stronger = bool(stronger)
        self._labels = {}
        self._marks = {}
        self._device_labels = {}

    def _label(self, w: int, h: int) -> VisibleLabel:
        if (w, h) not in self._labels:
            sub = texts(self.locale)[1] if self.stronger else None
            try:
                self._labels[(w, h)] = VisibleLabel(w, h, subtext=sub, locale=self.locale)
            except ValueError as exc:          # too small for a whole label: remember, don't re-render
                self._labels[(w, h)] = str(exc)
        if isinstance(self._labels[(w, h)], str):
            raise ValueError(self._labels[(w, h)])     # fail closed: no frame without the whole label
        return self._labels[(w, h)]

    def check_fits(self, width: int, height: int) -> None:
        """ValueError, saying why, when a frame of this size cannot carry the whole label legibly."""
        self._label(width, height)

    def _for_size(self, w: int, h: int):
        if (w, h) not in self._marks:
            self._marks[(w, h)] = Watermarker(w, h, self.session_id)
        return self._label(w, h), self._marks[(w, h)]

    def apply(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Label and watermark frame_bgr (uint8 BGR, modified in place) and return it."""
        if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 \
                or frame_bgr.shape[2] != 3:
            got = f"{frame_bgr.dtype} {frame_bgr.shape}" if isinstance(frame_bgr, np.ndarray) else type(frame_bgr).__name__
            raise ValueError(f"labeller: expected a uint8 H x W x 3 BGR frame, got {got}")
        if not frame_bgr.flags.writeable:
            raise ValueError("labeller: the frame is read-only; pass a copy")
        h, w = frame_bgr.shape[:2]
        label, mark = self._for_size(w, h)
        label.apply(frame_bgr)
        return mark.apply(frame_bgr)

    def apply_tensor(self, frame_hwc):
        """apply() for a uint8 H x W x 3 BGR torch tensor on any device (the GPU path), in place.
        Same label, same session; fails closed the same way (raises)."""
        import torch                                    # only the device path needs torch here
        from .labeller_torch import TorchLabel
        if not isinstance(frame_hwc, torch.Tensor) or frame_hwc.dtype != torch.uint8 or frame_hwc.ndim != 3 \
                or frame_hwc.shape[2] != 3:
            got = f"{frame_hwc.dtype} {tuple(frame_hwc.shape)}" if isinstance(frame_hwc, torch.Tensor) \
                else type(frame_hwc).__name__
            raise ValueError(f"labeller: expected a uint8 H x W x 3 BGR tensor, got {got}")
        h, w = frame_hwc.shape[:2]
        key = (w, h, str(frame_hwc.device))
        if key not in self._device_labels:
            self._device_labels[key] = TorchLabel(self._label(w, h), self.session_id, frame_hwc.device)
        return self._device_labels[key].apply(frame_hwc)

    def notice_frames(self, width: int, height: int, fps: float, seconds: float = NOTICE_SECONDS,
                      background_bgr: np.ndarray = None) -> list:
        """The frames that open a recording: a full-width notice held >= `seconds` (labelled and
        watermarked like every other frame). Returns ceil(seconds * fps) frames (the same image)."""
        if fps <= 0:
            raise ValueError(f"notice: fps must be > 0, got {fps}")
        card = notice_frame(width, height, self.session_id, self.locale, self.stronger, background_bgr)
        self.apply(card)
        card.flags.writeable = False
        return [card] * int(math.ceil(seconds * fps - 1e-9))
