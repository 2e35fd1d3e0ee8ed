"""The live view: the driver (you, with an optional landmark overlay) and the avatar side by side."""
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .frame_view import FrameView


class LiveView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(16, 14, 16, 10)
        lay.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(14)
        self.driver = FrameView("Camera off", "Press Start. Without a webcam, the built-in demo motion drives "
                                              "the avatar.", aspect=4 / 3)
        self.avatar = FrameView("No avatar yet", "Choose an avatar set on the left, or try the sample.")
        for title, view, stretch in (("YOU · DRIVER", self.driver, 2), ("AVATAR · OUTPUT", self.avatar, 3)):
            view.title = title
            row.addWidget(view, stretch)
        lay.addLayout(row, 1)
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
