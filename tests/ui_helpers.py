"""Shared set-up for the window tests: an offscreen Qt, a fresh app home, and an AppContext whose
webcam and virtual camera are fakes behind the real seams."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from realtime import synthetic_face as sf  # noqa: E402
from tests.live_fakes import FakeCamera, FakeVirtualCameraDevice, fake_factory  # noqa: E402


class ConsentAnswer:
    """Stands in for the modal consent dialog: answers what the test says and counts how often it was asked."""
    answer = None
    asked = 0

    def __init__(self, name, thumbs=(), parent=None):
        type(self).asked += 1

    def exec(self):
        return 0

    def result_value(self):
        return type(self).answer


def make_ctx(tmp_path, camera=None, vcam=None, real_engine=False, cameras=None):
    from ui.context import AppContext
    camera = camera or FakeCamera(present=False)
    vcam = vcam or FakeVirtualCameraDevice()
    ctx = AppContext(tmp_path / "home", opener=camera.opener, vcam_factory=vcam.factory,
                     loopback_reader=vcam.reader,
                     processor_factory=None if real_engine else fake_factory(delay_s=0.02),
                     tracker_factory=None if real_engine else (lambda: None),
                     list_cameras=(lambda: cameras or []))
    ctx.camera, ctx.vcam = camera, vcam
    return ctx


def face_photo(path, who=sf.OTHER, **pose):
    cv2.imwrite(str(path), sf.render(size=480, who=who, **pose))
    return path


def no_face_photo(path):
    y, x = np.mgrid[0:300, 0:400]
    img = np.stack([x % 255, y % 255, (x + y) % 255], -1).astype(np.uint8)
    cv2.imwrite(str(path), img)
    return path


def two_faces_photo(path):
    a = sf.render(size=360, who=sf.OTHER)
    b = sf.render(size=360, who=sf.STRANGER)
    cv2.imwrite(str(path), np.hstack([a, b]))
    return path


def open_window(qtbot, ctx):
    from ui.main_window import MainWindow
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.resize(1320, 780)
    w.show()
    return w
