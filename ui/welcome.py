"""The first-run welcome: three ways in, each one click."""
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget, QHBoxLayout


class WelcomePage(QWidget):
    capture_chosen = Signal()
    photos_chosen = Signal()
    sample_chosen = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        box = QWidget()
        box.setMaximumWidth(620)
        lay = QVBoxLayout(box)
        lay.setSpacing(14)
        hero = QLabel("Welcome to AvatarCam")
        hero.setObjectName("hero")
        lay.addWidget(hero)
        sub = QLabel("Appear in calls as an animated avatar that follows your face in real time. "
                     "Every frame is labelled as AI-generated, and only people who agreed can be animated.")
        sub.setObjectName("muted")
        sub.setWordWrap(True)
        lay.addWidget(sub)
        lay.addSpacing(10)
        self.capture_button = self._choice("Capture my own avatar",
                                           "Take six guided photos of yourself with your webcam (about a minute).")
        self.photos_button = self._choice("Choose photos",
                                          "Use 1 to 8 photos of you, or of someone who agreed to be animated.")
        self.sample_button = self._choice("Try the sample avatar",
                                          "A painted face that depicts no real person: see how it works right now.")
        self.capture_button.clicked.connect(self.capture_chosen)
        self.photos_button.clicked.connect(self.photos_chosen)
        self.sample_button.clicked.connect(self.sample_chosen)
        for b in (self.sample_button, self.capture_button, self.photos_button):
            lay.addWidget(b)
        foot = QLabel("Later you can switch between avatar sets at any time from the Avatar panel of the "
                      "main window.")
        foot.setObjectName("muted")
        lay.addSpacing(6)
        lay.addWidget(foot)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)

    @staticmethod
    def _choice(title: str, text: str) -> QPushButton:
        b = QPushButton()
        b.setObjectName("choice")
        b.setMinimumHeight(78)
        b.setCursor(Qt.PointingHandCursor)
        b.setAccessibleName(title)
        inner = QVBoxLayout(b)
        inner.setContentsMargins(18, 12, 18, 12)
        t = QLabel(f"{title}  ›")
        t.setObjectName("title")
        d = QLabel(text)
        d.setObjectName("muted")
        d.setWordWrap(True)
        for w in (t, d):
            w.setAttribute(Qt.WA_TransparentForMouseEvents)
            inner.addWidget(w)
        return b
