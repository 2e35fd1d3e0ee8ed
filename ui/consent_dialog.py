"""Consent before any output (CONSENT.md): who is depicted, self or someone who agreed. Recording it
signs a record over the set's exact image hashes; it can be revoked at any time."""
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QHBoxLayout, QLabel, QLayout, QLineEdit,
                               QPushButton, QRadioButton, QVBoxLayout)

from .frame_view import bgr_to_qimage


class ConsentDialog(QDialog):
    """Result: (kind, name) with kind "self" | "other", or None when refused."""

    def __init__(self, set_name: str, thumbnails_bgr=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Consent for this avatar set")
        self.setModal(True)
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 20, 22, 18)
        lay.setSpacing(12)
        title = QLabel(f"Who is in “{set_name}”?")
        title.setObjectName("hero")
        title.setStyleSheet("font-size: 16pt;")
        lay.addWidget(title)
        row = QHBoxLayout()
        for img in list(thumbnails_bgr)[:6]:
            lab = QLabel()
            lab.setPixmap(QPixmap.fromImage(bgr_to_qimage(img)).scaled(64, 64, Qt.KeepAspectRatioByExpanding,
                                                                       Qt.SmoothTransformation))
            lab.setFixedSize(64, 64)
            row.addWidget(lab)
        row.addStretch(1)
        lay.addLayout(row)
        intro = QLabel("AvatarCam animates a person only with their consent. Before the virtual camera, the "
                       "stream or a recording can start, tell us who these photos show.")
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        lay.addWidget(intro)
        self.self_radio = QRadioButton("These photos show me  (confirmed with a short webcam check)")
        self.other_radio = QRadioButton("These photos show someone who agreed to be animated by me")
        group = QButtonGroup(self)
        group.addButton(self.self_radio)
        group.addButton(self.other_radio)
        lay.addWidget(self.self_radio)
        lay.addWidget(self.other_radio)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Their name")
        self.name_edit.setEnabled(False)
        lay.addWidget(self.name_edit)
        self.other_note = QLabel("Their consent is recorded as your statement; outputs then carry a second "
                                 "label line saying consent was attested.")
        self.other_note.setWordWrap(True)
        self.other_note.setObjectName("muted")
        self.other_note.hide()
        lay.addWidget(self.other_note)
        self.confirm = QCheckBox("I confirm this is true")
        self.confirm.setStyleSheet("QCheckBox { padding-top: 6px; }")
        lay.addWidget(self.confirm)
        facts = QLabel("Every frame AvatarCam makes is labelled “AI-GENERATED” and carries an invisible "
                       "watermark. Stored on this computer only: the photos' fingerprints (SHA-256), who they "
                       "show, and the date. Valid for one year. Revoke it any time from the avatar set's menu; "
                       "revoking stops every output that uses it.")
        facts.setWordWrap(True)
        facts.setObjectName("muted")
        lay.addWidget(facts)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Not now")
        self.ok_button = QPushButton("Record consent")
        self.ok_button.setObjectName("primary")
        self.ok_button.setEnabled(False)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ok_button)
        lay.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self.accept)
        for w in (self.self_radio, self.other_radio, self.confirm):
            w.toggled.connect(self._update)
        self.name_edit.textChanged.connect(self._update)
        # wrapped text needs its height for the dialog's width: the dialog follows its content (the note
        # shown for "someone who agreed" grows it) instead of squeezing the labels over each other
        lay.setSizeConstraint(QLayout.SetFixedSize)

    def _update(self) -> None:
        other = self.other_radio.isChecked()
        self.name_edit.setEnabled(other)
        self.other_note.setVisible(other)
        ready = self.confirm.isChecked() and (self.self_radio.isChecked()
                                              or (other and bool(self.name_edit.text().strip())))
        self.ok_button.setEnabled(ready)

    def result_value(self):
        if self.result() != QDialog.Accepted:
            return None
        if self.self_radio.isChecked():
            return ("self", None)
        return ("other", self.name_edit.text().strip())
