"""The controls: start/stop, the driver (camera, resolution, fps, mirror; or a video; or demo motion),
calibration, expression strength, head motion, smoothing, engine size, and the outputs. Every change
is emitted at once; the window applies it live."""
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QScrollArea, QSlider, QVBoxLayout, QWidget)

from . import theme

RESOLUTIONS = [(640, 480), (1280, 720), (1920, 1080)]
FPS_CHOICES = [15, 30, 60]


def _section(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setObjectName("section")
    return lab


def _slider(lo: int, hi: int) -> QSlider:
    s = QSlider(Qt.Horizontal)
    s.setRange(lo, hi)
    return s


class ControlsPanel(QScrollArea):
    start_stop_clicked = Signal()
    calibrate_clicked = Signal()
    driver_changed = Signal()
    pipeline_changed = Signal()
    landmarks_toggled = Signal(bool)
    vcam_toggled = Signal(bool)
    vcam_retry_clicked = Signal()
    vcam_selftest_clicked = Signal()
    stream_toggled = Signal(bool)
    record_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMinimumWidth(270)
        self.setMaximumWidth(310)
        body = QWidget()
        body.setObjectName("panel")
        body.setAttribute(Qt.WA_StyledBackground)
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(14, 14, 14, 14)
        lay.setSpacing(7)

        self.start_button = QPushButton("▶  Start")
        self.start_button.setObjectName("primary")
        self.start_button.setMinimumHeight(42)
        self.start_button.clicked.connect(self.start_stop_clicked)
        lay.addWidget(self.start_button)
        # Record sits with Start: at the foot of the outputs it was below the fold of a laptop's window
        arow = QHBoxLayout()
        self.calibrate_button = QPushButton("Calibrate  (Ctrl+K)")
        self.calibrate_button.setToolTip("Look at the camera with a relaxed face and click: that pose becomes "
                                         "the neutral face")
        self.calibrate_button.clicked.connect(self.calibrate_clicked)
        arow.addWidget(self.calibrate_button)
        self.record_button = QPushButton("●  Record")
        self.record_button.setToolTip("Record the labelled output to an MP4 file (Ctrl+R)")
        self.record_button.clicked.connect(self.record_clicked)
        arow.addWidget(self.record_button)
        lay.addLayout(arow)
        self.record_state = QLabel("")
        self.record_state.setObjectName("muted")
        self.record_state.setWordWrap(True)
        lay.addWidget(self.record_state)

        lay.addWidget(_section("DRIVER"))
        self.source_combo = QComboBox()
        self.source_combo.addItem("Webcam", "camera")
        self.source_combo.addItem("Video file", "video")
        self.source_combo.addItem("Demo motion", "demo")
        lay.addWidget(self.source_combo)
        self.camera_combo = QComboBox()
        lay.addWidget(self.camera_combo)
        row = QHBoxLayout()
        self.resolution_combo = QComboBox()
        for w, h in RESOLUTIONS:
            self.resolution_combo.addItem(f"{w}×{h}", (w, h))
        self.fps_combo = QComboBox()
        for f in FPS_CHOICES:
            self.fps_combo.addItem(f"{f} fps", f)
        row.addWidget(self.resolution_combo, 3)
        row.addWidget(self.fps_combo, 2)
        lay.addLayout(row)
        self.mirror_check = QCheckBox("Mirror (selfie view)")
        lay.addWidget(self.mirror_check)
        vrow = QHBoxLayout()
        self.video_edit = QLineEdit()
        self.video_edit.setReadOnly(True)
        self.video_edit.setPlaceholderText("No video chosen")
        self.video_button = QPushButton("Choose…")
        self.video_button.clicked.connect(self._choose_video)
        vrow.addWidget(self.video_edit, 1)
        vrow.addWidget(self.video_button)
        self.video_row = QWidget()
        self.video_row.setLayout(vrow)
        vrow.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.video_row)
        self.landmarks_check = QCheckBox("Show face landmarks")
        lay.addWidget(self.landmarks_check)

        lay.addWidget(_section("ANIMATION"))
        self.expression_label = QLabel()
        self.expression_slider = _slider(0, 150)
        lay.addWidget(self.expression_label)
        lay.addWidget(self.expression_slider)
        self.smoothing_label = QLabel()
        self.smoothing_slider = _slider(0, 20)
        lay.addWidget(self.smoothing_label)
        lay.addWidget(self.smoothing_slider)
        self.head_check = QCheckBox("Follow head motion")
        lay.addWidget(self.head_check)
        erow = QHBoxLayout()
        erow.addWidget(QLabel("Engine"))
        self.size_combo = QComboBox()
        self.size_combo.addItem("256 px · fast", 256)
        self.size_combo.addItem("512 px · sharp", 512)
        erow.addWidget(self.size_combo, 1)
        lay.addLayout(erow)

        lay.addWidget(_section("OUTPUTS"))
        self.vcam_check = QCheckBox("Virtual camera")
        self.vcam_check.setToolTip("Appear as this avatar in Zoom, Meet, Teams or OBS: pick the AvatarCam / "
                                   "OBS Virtual Camera there")
        lay.addWidget(self.vcam_check)
        self.vcam_state = QLabel("Off")
        self.vcam_state.setWordWrap(True)
        self.vcam_state.setObjectName("muted")
        lay.addWidget(self.vcam_state)
        vb = QHBoxLayout()
        self.selftest_button = QPushButton("Self-test")
        self.selftest_button.setToolTip("Read the virtual camera back like a call app would")
        self.retry_button = QPushButton("Retry")
        self.selftest_button.clicked.connect(self.vcam_selftest_clicked)
        self.retry_button.clicked.connect(self.vcam_retry_clicked)
        vb.addWidget(self.selftest_button)
        vb.addWidget(self.retry_button)
        lay.addLayout(vb)
        self.stream_check = QCheckBox("Browser / OBS stream")
        self.stream_check.setToolTip("A private web address (this computer only) showing the labelled output: "
                                     "for a projector, or as an OBS browser source")
        lay.addWidget(self.stream_check)
        srow = QHBoxLayout()
        self.stream_url = QLineEdit()
        self.stream_url.setReadOnly(True)
        self.stream_url.setPlaceholderText("Starts with the output")
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self._copy_url)
        srow.addWidget(self.stream_url, 1)
        srow.addWidget(self.copy_button)
        lay.addLayout(srow)
        lay.addStretch(1)

        for sig in (self.source_combo.currentIndexChanged, self.camera_combo.currentIndexChanged,
                    self.resolution_combo.currentIndexChanged, self.fps_combo.currentIndexChanged,
                    self.mirror_check.toggled):
            sig.connect(self._driver_changed)
        for sig in (self.expression_slider.valueChanged, self.smoothing_slider.valueChanged,
                    self.head_check.toggled, self.size_combo.currentIndexChanged):
            sig.connect(self._pipeline_changed)
        for box, signal in ((self.landmarks_check, self.landmarks_toggled), (self.vcam_check, self.vcam_toggled),
                            (self.stream_check, self.stream_toggled)):
            box.toggled.connect(lambda on, signal=signal: None if self._loading else signal.emit(on))
        self._loading = False
        self._running = self._vcam_on = False
        self.set_running(False)
        self.set_vcam_state("Off")

    # -- settings in and out --------------------------------------------------------------------------
    def set_cameras(self, cameras) -> None:
        self.camera_combo.blockSignals(True)
        self.camera_combo.clear()
        for index, name in cameras:
            self.camera_combo.addItem(f"{index}: {name}", index)
        if not cameras:
            self.camera_combo.addItem("No camera: demo motion", 0)
        self.camera_combo.blockSignals(False)

    def load(self, s) -> None:
        self._loading = True
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(s.driver_kind)))
        i = self.camera_combo.findData(s.camera_index)
        self.camera_combo.setCurrentIndex(max(0, i))
        i = self.resolution_combo.findData((s.camera_width, s.camera_height))
        if i < 0:
            self.resolution_combo.addItem(f"{s.camera_width}×{s.camera_height}", (s.camera_width, s.camera_height))
            i = self.resolution_combo.count() - 1
        self.resolution_combo.setCurrentIndex(i)
        i = self.fps_combo.findData(s.camera_fps)
        if i < 0:
            self.fps_combo.addItem(f"{s.camera_fps} fps", s.camera_fps)
            i = self.fps_combo.count() - 1
        self.fps_combo.setCurrentIndex(i)
        self.mirror_check.setChecked(s.mirror)
        self.video_edit.setText(s.video_path)
        self.landmarks_check.setChecked(s.show_landmarks)
        self.expression_slider.setValue(int(round(s.expression * 100)))
        self.smoothing_slider.setValue(int(round(s.smoothing * 10)))
        self.head_check.setChecked(s.head_motion)
        self.size_combo.setCurrentIndex(max(0, self.size_combo.findData(s.engine_size)))
        self.vcam_check.setChecked(s.virtual_camera)
        self.stream_check.setChecked(s.stream)
        self._loading = False
        self._update_labels()

    def store(self, s) -> None:
        s.driver_kind = self.source_combo.currentData()
        s.camera_index = int(self.camera_combo.currentData() or 0)
        s.camera_width, s.camera_height = self.resolution_combo.currentData()
        s.camera_fps = int(self.fps_combo.currentData())
        s.mirror = self.mirror_check.isChecked()
        s.video_path = self.video_edit.text()
        s.show_landmarks = self.landmarks_check.isChecked()
        s.expression = self.expression_slider.value() / 100.0
        s.smoothing = self.smoothing_slider.value() / 10.0
        s.head_motion = self.head_check.isChecked()
        s.engine_size = int(self.size_combo.currentData())
        s.virtual_camera = self.vcam_check.isChecked()
        s.stream = self.stream_check.isChecked()

    # -- state shown ----------------------------------------------------------------------------------
    def set_running(self, running: bool, can_start: bool = True, why_not: str = "") -> None:
        self.start_button.setText("■  Stop" if running else "▶  Start")
        self.start_button.setObjectName("danger" if running else "primary")
        self.start_button.setStyle(self.start_button.style())
        self.start_button.setEnabled(running or can_start)
        self.start_button.setToolTip(why_not if not running and not can_start else "")
        self.calibrate_button.setEnabled(running)
        self.record_button.setEnabled(running)
        self._running = running
        self._enable_selftest()

    def set_vcam_on(self, on: bool) -> None:
        """Whether the virtual camera is open: only then is there anything to read back."""
        self._vcam_on = on
        self._enable_selftest()

    def _enable_selftest(self) -> None:
        self.selftest_button.setEnabled(self._running and self._vcam_on and self.vcam_check.isChecked())

    def set_vcam_state(self, text: str, level: str = "info", retry: bool = False) -> None:
        colour = {"good": theme.GOOD, "warning": theme.WARN, "error": theme.BAD}.get(level, theme.MUTED)
        self.vcam_state.setText(text)
        self.vcam_state.setStyleSheet(f"color: {colour};")
        self.retry_button.setVisible(retry)

    def set_recording(self, recording: bool, text: str = "") -> None:
        self.record_button.setText("■  Stop recording" if recording else "●  Record")
        self.record_state.setText(text)
        if text:       # on a short screen the panel may be scrolled down: bring the line into view
            from PySide6.QtCore import QTimer
            QTimer.singleShot(0, self, lambda: self.ensureWidgetVisible(self.record_state))

    def _update_labels(self) -> None:
        kind = self.source_combo.currentData()
        self.camera_combo.setVisible(kind == "camera")
        self.resolution_combo.setVisible(kind == "camera")
        self.fps_combo.setVisible(kind == "camera")
        self.mirror_check.setVisible(kind == "camera")
        self.video_row.setVisible(kind == "video")
        self.expression_label.setText(f"Expression strength  {self.expression_slider.value()}%")
        sm = self.smoothing_slider.value() / 10
        self.smoothing_label.setText(f"Smoothing  {'off' if sm == 0 else f'{sm:.1f}'}")

    def _driver_changed(self, *_):
        self._update_labels()
        if not self._loading:
            self.driver_changed.emit()

    def _pipeline_changed(self, *_):
        self._update_labels()
        if not self._loading:
            self.pipeline_changed.emit()

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a driving video", self.video_edit.text(),
                                              "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v)")
        if path:
            self.video_edit.setText(path)
            self._driver_changed()

    def _copy_url(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtGui import QGuiApplication
        if self.stream_url.text():
            QGuiApplication.clipboard().setText(self.stream_url.text())
            self.copy_button.setText("Copied ✓")               # the clipboard gives no sign of its own
            QTimer.singleShot(1500, self.copy_button, lambda: self.copy_button.setText("Copy"))   # gone with it
