"""The look: a calm dark theme with one accent colour, applied once to the whole application."""
from pathlib import Path

from PySide6.QtGui import QColor, QPalette

CHECK_SVG = (Path(__file__).parent / "assets" / "check.svg").as_posix()

BG = "#111318"
PANEL = "#191c23"
CARD = "#20242d"
BORDER = "#2c313c"
TEXT = "#e9eaef"
MUTED = "#9aa1ae"
ACCENT = "#7b6cff"
ACCENT_HOVER = "#8f82ff"
GOOD = "#36c98b"
WARN = "#f2a93b"
BAD = "#f0525b"

STYLE = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 10pt; }}
QMainWindow::separator {{ background: {BORDER}; width: 1px; height: 1px; }}
QToolTip {{ background: {CARD}; color: {TEXT}; border: 1px solid {BORDER}; padding: 6px; }}
QFrame#panel, QWidget#panel {{ background: {PANEL}; border: none; }}
QFrame#card {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 10px; }}
QLabel {{ background: transparent; }}
QLabel#title {{ font-size: 11pt; font-weight: 600; color: {TEXT}; }}
QLabel#section {{ font-size: 8pt; font-weight: 700; color: {MUTED}; letter-spacing: 1px; padding-top: 8px; }}
QLabel#muted {{ color: {MUTED}; }}
QLabel#hero {{ font-size: 22pt; font-weight: 700; }}
QLabel#chip {{ background: rgba(0,0,0,150); color: {TEXT}; border-radius: 9px; padding: 3px 10px; }}
QLabel#chipWarn {{ background: rgba(242,169,59,220); color: #1b1200; border-radius: 9px; padding: 3px 10px; font-weight: 600; }}
QLabel#chipBad {{ background: rgba(240,82,91,230); color: white; border-radius: 9px; padding: 3px 10px; font-weight: 600; }}
QLabel#chipGood {{ background: rgba(54,201,139,220); color: #04160e; border-radius: 9px; padding: 3px 10px; font-weight: 600; }}
QPushButton {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 7px; padding: 6px 12px; }}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #5d6370; border-color: {BORDER}; }}
QPushButton#primary {{ background: {ACCENT}; border: none; color: white; font-weight: 600; padding: 9px 16px; }}
QPushButton#primary:hover {{ background: {ACCENT_HOVER}; }}
QPushButton#primary:disabled {{ background: #3b3766; color: #a9a5d6; }}
QPushButton#danger {{ background: {BAD}; border: none; color: white; font-weight: 600; padding: 9px 16px; }}
QPushButton#link {{ background: transparent; border: none; color: {ACCENT_HOVER}; padding: 2px; text-align: left; }}
QPushButton#choice {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 12px; padding: 18px; text-align: left; }}
QPushButton#choice:hover {{ border-color: {ACCENT}; background: #252a36; }}
QComboBox, QLineEdit, QSpinBox {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 6px; padding: 4px 8px; }}
QComboBox:hover, QLineEdit:hover {{ border-color: {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {CARD}; selection-background-color: {ACCENT}; border: 1px solid {BORDER}; }}
QCheckBox, QRadioButton {{ background: transparent; spacing: 8px; }}
QCheckBox::indicator, QListWidget::indicator {{ width: 16px; height: 16px; border: 1px solid #4a5161; border-radius: 4px; background: {CARD}; }}
QCheckBox::indicator:hover, QListWidget::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked, QListWidget::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url({CHECK_SVG}); }}
QCheckBox::indicator:disabled {{ background: #2a2e38; border-color: #363b47; }}
QRadioButton::indicator {{ width: 14px; height: 14px; border: 1px solid #4a5161; border-radius: 8px; background: {CARD}; }}
QRadioButton::indicator:checked {{ background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5, stop:0 white, stop:0.35 white, stop:0.45 {ACCENT}, stop:1 {ACCENT}); border-color: {ACCENT}; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: white; width: 14px; height: 14px; margin: -5px 0; border-radius: 7px; }}
QListWidget {{ background: {PANEL}; border: none; outline: none; }}
QListWidget::item {{ border-radius: 8px; padding: 4px; margin: 2px; }}
QListWidget::item:selected {{ background: #2b2f4a; border: 1px solid {ACCENT}; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollBar:vertical {{ background: transparent; width: 8px; }}
QScrollBar::handle:vertical {{ background: {BORDER}; border-radius: 4px; min-height: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 8px; }}
QFrame#banner {{ border-radius: 8px; }}
QDialog {{ background: {PANEL}; }}
QGroupBox {{ border: none; }}
"""


def apply(app) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in ((QPalette.Window, BG), (QPalette.WindowText, TEXT), (QPalette.Base, CARD),
                         (QPalette.AlternateBase, PANEL), (QPalette.Text, TEXT), (QPalette.Button, CARD),
                         (QPalette.ButtonText, TEXT), (QPalette.Highlight, ACCENT),
                         (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, CARD),
                         (QPalette.ToolTipText, TEXT), (QPalette.PlaceholderText, MUTED)):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(STYLE)
