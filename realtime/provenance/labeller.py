"""The one place every output frame passes through: visible label + invisible watermark.

Fails closed: if anything goes wrong the caller gets an exception and must not emit the frame.
"""
import secrets

from .label import VisibleLabel


class Labeller:
    def __init__(self, session_id: str = None):
        self.session_id = session_id or secrets.token_hex(4)
        self._labels = {}

    def apply(self, frame_bgr):
        """Label frame_bgr (modified in place) and return it."""
        h, w = frame_bgr.shape[:2]
        label = self._labels.get((w, h))
        if label is None:
            label = self._labels[(w, h)] = VisibleLabel(w, h)
        return label.apply(frame_bgr)
