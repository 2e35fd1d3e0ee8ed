"""The live "this is me" check before consent for one's own photos: the webcam shows the person, the
dialog asks for two actions in a random order (blink, turn left, turn right), then checks that the
face matches every photo of the set. Nothing but the distances is kept."""
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .frame_view import FrameView


class LiveCheckDialog(QDialog):
    """result_value(): the LiveCheckResult when it passed, else None. `no_camera`: no webcam to check with."""

    def __init__(self, live, photos_bgr, mirrored: bool = True, runner_factory=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Confirm it is you")
        self.setMinimumSize(640, 520)
        self.live, self.photos = live, list(photos_bgr)
        self.runner_factory = runner_factory
        self.runner = None
        self.no_camera = False
        self._result = None
        lay = QVBoxLayout(self)
        intro = QLabel("Look at your webcam and follow the instructions. AvatarCam checks that the face in "
                       "front of the camera is the face in these photos. Only the match distances are kept.")
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        lay.addWidget(intro)
        self.view = FrameView("Waiting for the webcam…", "", aspect=4 / 3)
        lay.addWidget(self.view, 1)
        self.prompt = QLabel("Getting ready…")
        self.prompt.setObjectName("hero")
        self.prompt.setStyleSheet("font-size: 16pt;")
        self.prompt.setWordWrap(True)
        lay.addWidget(self.prompt)
        row = QHBoxLayout()
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(self.start_check)
        self.retry_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        self._timer.start(40)
        QTimer.singleShot(0, self.start_check)

    def _frames(self):
        """The newest webcam frame as the camera sees it (the check's left and right are the person's;
        the session mirrors frames for the selfie view, so mirror them back)."""
        s = self.live.session
        if s is None:
            return None, 0
        pv, seq = s.preview()
        frame = pv.driver_bgr if pv is not None else None
        active = s.active_driver
        if frame is not None and active is not None and active.mirror and active.kind == "camera":
            import cv2
            frame = cv2.flip(frame, 1)
        return frame, seq

    def _camera_ready(self) -> bool:
        s = self.live.session
        return s is not None and s.active_driver is not None and s.active_driver.kind == "camera"

    def start_check(self) -> None:
        from realtime.live.live_check_runner import LiveCheckRunner
        if self.runner is not None:
            self.runner.stop()
        self.retry_button.hide()
        factory = self.runner_factory or (lambda frames, photos: LiveCheckRunner(frames, photos))
        self.runner = factory(self._frames, self.photos)
        self._started = False

    def _poll(self) -> None:
        if not self._camera_ready():
            self.view.clear()
            self.view.set_placeholder("No webcam found", "The live check needs a webcam. Connect one (it is "
                                                         "picked up by itself) or cancel.")
            self.prompt.setText("Waiting for a webcam…")
            self.no_camera = True
            return
        self.no_camera = False
        pv, _ = self.live.session.preview()
        if pv is not None and pv.driver_bgr is not None:
            self.view.set_frame(pv.driver_bgr)          # what the person sees: the selfie view
        r = self.runner
        if r is None:
            return
        if not self._started:
            self._started = True
            r.start()
        self.prompt.setText(r.prompt)
        if r.state == "passed":
            self._result = r.result()
            self._timer.stop()
            QTimer.singleShot(600, self.accept)
        elif r.state == "failed":
            self.prompt.setText(f"✕ {r.prompt}")
            self.retry_button.show()

    def result_value(self):
        return self._result

    def done(self, code) -> None:
        self._timer.stop()
        if self.runner is not None:
            self.runner.stop()
        super().done(code)
