"""Guided capture of one's own avatar set from the webcam: neutral, smile, mouth open, eyes closed,
head left, head right. Each shot is checked before it is kept; a rejected shot says why."""
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout)

from .frame_view import FrameView

COUNTDOWN_S = 3


class _CheckBridge(QObject):
    done = Signal(object, object)           # (image, ImageCheck)


class GuidedCaptureDialog(QDialog):
    def __init__(self, live, checker, library, mirrored: bool = True, parent=None):
        super().__init__(parent)
        from realtime.live.image_check import SHOTS
        self.shots = SHOTS
        self.live, self.checker, self.library = live, checker, library
        self.mirrored = mirrored
        self.setWindowTitle("Capture your avatar set")
        self.setMinimumSize(820, 560)
        self.kept = {}                       # shot key -> (image, check)
        self.step = 0
        self.saved_set_id = None
        self._frame = None
        self._count = 0
        self._bridge = _CheckBridge()
        self._bridge.done.connect(self._checked)

        lay = QHBoxLayout(self)
        left = QVBoxLayout()
        self.view = FrameView("Waiting for the webcam…", "")
        left.addWidget(self.view, 1)
        self.instruction = QLabel()
        self.instruction.setObjectName("title")
        self.instruction.setWordWrap(True)
        left.addWidget(self.instruction)
        self.result = QLabel()
        self.result.setWordWrap(True)
        left.addWidget(self.result)
        row = QHBoxLayout()
        self.take_button = QPushButton("Take photo")
        self.take_button.setObjectName("primary")
        self.take_button.clicked.connect(self._countdown)
        self.skip_button = QPushButton("Skip this one")
        self.skip_button.clicked.connect(self._skip)
        row.addWidget(self.take_button)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        left.addLayout(row)
        lay.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(QLabel("SHOTS"))
        self.steps = QListWidget()
        for s in self.shots:
            self.steps.addItem(QListWidgetItem(f"○  {s.title}"))
        right.addWidget(self.steps, 1)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name of this set, e.g. your name")
        right.addWidget(self.name_edit)
        self.save_button = QPushButton("Save set")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._save)
        right.addWidget(self.save_button)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        right.addWidget(cancel)
        lay.addLayout(right, 1)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        self._timer.start(50)
        self._show_step()

    # -- preview ------------------------------------------------------------------------------------------
    def _poll(self):
        s = self.live.session
        if s is None:
            self.view.set_placeholder("The webcam is not running", "Close this window and press Start.")
            return
        active = s.active_driver
        if active is None or active.kind != "camera":
            self.view.set_placeholder("No webcam found", "Guided capture needs a webcam. Connect one (it is picked "
                                                         "up by itself), or use Choose photos instead.")
            self.view.clear()
            self.take_button.setEnabled(False)
            return
        self.take_button.setEnabled(self._count == 0)
        pv, _ = s.preview()
        if pv is not None and pv.driver_bgr is not None:
            self._frame = pv.driver_bgr
            self.view.set_frame(pv.driver_bgr)

    # -- steps --------------------------------------------------------------------------------------------
    def _show_step(self):
        for i, s in enumerate(self.shots):
            mark = "●" if s.key in self.kept else ("→" if i == self.step else "○")
            self.steps.item(i).setText(f"{mark}  {s.title}")
        if self.step < len(self.shots):
            shot = self.shots[self.step]
            self.instruction.setText(f"{self.step + 1}/{len(self.shots)} · {shot.title}: {shot.instruction}")
        else:
            self.instruction.setText("All done. Name the set and save it.")
            self.take_button.setEnabled(False)
        self.save_button.setEnabled("neutral" in self.kept)

    def _countdown(self):
        self._count = COUNTDOWN_S
        self.take_button.setEnabled(False)
        self._tick()

    def _tick(self):
        if self._count > 0:
            self.view.set_caption(f"{self._count}…", "warning")
            self._count -= 1
            QTimer.singleShot(1000, self._tick)
            return
        self.view.set_caption("")
        if self._frame is None:
            self.result.setText("No picture from the webcam yet.")
            return
        image = self._frame.copy()
        self.result.setText("Checking…")
        bridge = self._bridge
        self.checker.check_array(self.shots[self.step].key, image, lambda chk: bridge.done.emit(image, chk))

    def _checked(self, image, check):
        from realtime.live.image_check import check_shot
        shot = self.shots[self.step]
        neutral = self.kept.get("neutral", (None, None))[1]
        ok, reason = check_shot(shot.key, check, self.mirrored, neutral.facts if neutral else None)
        self.result.setText(("✓ " if ok else "✕ ") + reason)
        self.result.setStyleSheet(f"color: {'#36c98b' if ok else '#f0525b'};")
        if ok:
            self.kept[shot.key] = (image, check)
            self.step += 1
        self._show_step()

    def _skip(self):
        if self.step < len(self.shots) and self.shots[self.step].key != "neutral":
            self.step += 1
            self._show_step()

    def _save(self):
        info = self.library.create(self.name_edit.text() or "My avatar")
        for s in self.shots:                       # neutral first: it becomes the base picture
            if s.key in self.kept:
                self.library.add_array(info.set_id, self.kept[s.key][0])
        self.saved_set_id = info.set_id
        self.accept()

    def done(self, r):
        self._timer.stop()
        super().done(r)
