"""The error banner: a readable message (never a traceback) with up to two actions and a close button."""
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from . import theme

LEVELS = {"error": (theme.BAD, "white"), "warning": (theme.WARN, "#1b1200"), "info": ("#2e3550", theme.TEXT),
          "good": (theme.GOOD, "#04160e")}


class Banner(QFrame):
    action_triggered = Signal(str)       # the action's key

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 8, 8)
        lay.setSpacing(10)
        self.icon = QLabel()
        self.icon.setFixedWidth(18)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.icon)
        lay.addWidget(self.label, 1)
        self.buttons = []
        for _ in range(2):
            b = QPushButton()
            b.hide()
            b.clicked.connect(self._clicked)
            lay.addWidget(b)
            self.buttons.append(b)
        self.close_button = QPushButton("✕")
        self.close_button.setFixedWidth(32)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        lay.addWidget(self.close_button)
        self.level = None
        self.hide()

    def show_message(self, text: str, level: str = "error", actions=()) -> None:
        """actions: [(key, button text), ...] (at most two)."""
        bg, fg = LEVELS.get(level, LEVELS["error"])
        self.level = level
        self.setStyleSheet(f"QFrame#banner {{ background: {bg}; }} QLabel {{ color: {fg}; }} "
                           f"QPushButton {{ background: rgba(255,255,255,40); color: {fg}; border: 1px solid "
                           f"rgba(255,255,255,90); border-radius: 6px; padding: 4px 10px; }}")
        self.icon.setText({"error": "⚠", "warning": "⚠", "good": "✓"}.get(level, "ℹ"))
        self.label.setText(text)
        for b, action in zip(self.buttons, list(actions)[:2] + [None] * 2):
            if action:
                b.setProperty("key", action[0])
                b.setText(action[1])
                b.show()
            else:
                b.hide()
        self.show()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _clicked(self):
        self.action_triggered.emit(self.sender().property("key"))
