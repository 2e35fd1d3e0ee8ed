"""Guided capture from the webcam: each shot is checked before it is kept, a wrong one says why, and
the kept shots become a new avatar set with the neutral shot as its base. The webcam is a fake that
shows the painted demo face (the pose the test asks for)."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from realtime import synthetic_face as sf
from tests.live_fakes import FakeCamera
from tests.ui_helpers import make_ctx, open_window


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("ui.capture_dialog.COUNTDOWN_S", 0)


def test_guided_capture_checks_each_shot_and_saves_a_set(qtbot, tmp_path):
    pose = {"mouth": 0.0}
    cam = FakeCamera(frame_fn=lambda i: sf.render(size=480, width=640, who=sf.OTHER, **pose))
    ctx = make_ctx(tmp_path, camera=cam, cameras=[(0, "Fake webcam")])
    w = open_window(qtbot, ctx)
    from ui.capture_dialog import GuidedCaptureDialog
    w._start(avatar_required=False, camera_only=True)                    # the webcam runs; no avatar needed to capture
    dlg = GuidedCaptureDialog(w.live, w.checker, w.library, mirrored=False, parent=w)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.view.has_frame and dlg.take_button.isEnabled(), timeout=10000)

    qtbot.mouseClick(dlg.take_button, Qt.LeftButton)                       # 1. neutral: kept
    qtbot.waitUntil(lambda: dlg.result.text().startswith("✓"), timeout=10000)
    assert "neutral" in dlg.kept and dlg.save_button.isEnabled()
    assert dlg.step == 1 and "Smile" in dlg.instruction.text()

    qtbot.waitUntil(lambda: dlg.take_button.isEnabled(), timeout=5000)   # 2. smile, but the face is neutral
    qtbot.mouseClick(dlg.take_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.result.text().startswith("✕"), timeout=10000)
    assert "smile" in dlg.result.text() and "smile" not in dlg.kept and dlg.step == 1

    dlg.skip_button.click()                                               # 3. mouth open, shown by the face
    pose["mouth"] = 0.9
    qtbot.wait(300)
    qtbot.waitUntil(lambda: dlg.take_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(dlg.take_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "mouth_open" in dlg.kept, timeout=10000)
    assert "eyes" in dlg.instruction.text().lower()

    pose["mouth"] = 0.0                                                   # 4. eyes closed, but they are open
    qtbot.wait(300)
    qtbot.mouseClick(dlg.take_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.result.text().startswith("✕"), timeout=10000)
    assert "eyes look open" in dlg.result.text()

    dlg.name_edit.setText("Me")
    dlg.save_button.click()
    sets = w.library.sets()
    assert [s.name for s in sets] == ["Me"] and dlg.saved_set_id == sets[0].set_id
    assert len(sets[0].files) == 2
    base = sets[0].paths()[0]
    import cv2
    kept_neutral = dlg.kept["neutral"][0]
    assert np.abs(cv2.imread(str(base)).astype(int) - kept_neutral).max() == 0    # the neutral shot is the base


def test_guided_capture_without_a_webcam_says_so(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)                     # no camera: the demo motion drives
    w = open_window(qtbot, ctx)
    from ui.capture_dialog import GuidedCaptureDialog
    w._start(avatar_required=False, camera_only=True)
    dlg = GuidedCaptureDialog(w.live, w.checker, w.library, parent=w)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.view.placeholder_title == "No webcam found", timeout=10000)
    assert not dlg.take_button.isEnabled() and not dlg.view.has_frame
