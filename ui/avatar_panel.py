"""The avatar set panel: choose among saved sets (and the sample), see each photo's check, add photos
(file dialog or drag and drop), remove them, choose which ones the engine uses, capture a new set."""
import os

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QListWidget,
                               QListWidgetItem, QMenu, QMessageBox, QPushButton, QToolButton, QVBoxLayout,
                               QWidget)

from . import theme
from .frame_view import bgr_to_qimage

IMAGE_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff)"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
THUMB = 64


def thumbnail(image_bgr, ok: bool, is_base: bool, lmk=None) -> QPixmap:
    """A square thumbnail centred on the face, with a check badge and a BASE tag."""
    pm = QPixmap(THUMB, THUMB)
    pm.fill(QColor(theme.CARD))
    if image_bgr is not None:
        h, w = image_bgr.shape[:2]
        if lmk is not None:
            x0, y0 = lmk[:, :2].min(0)
            x1, y1 = lmk[:, :2].max(0)
            cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * 1.6
        else:
            cx, cy, side = w / 2, h / 2, min(w, h)
        side = min(side, w, h)
        x = int(np.clip(cx - side / 2, 0, w - side))
        y = int(np.clip(cy - side / 2, 0, h - side))
        crop = image_bgr[y:y + int(side), x:x + int(side)]
        crop = cv2.resize(crop, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
        pm = QPixmap.fromImage(bgr_to_qimage(crop))
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(theme.GOOD if ok else theme.BAD))
    p.drawEllipse(THUMB - 19, 3, 16, 16)
    p.setPen(QColor("white"))
    f = QFont()
    f.setBold(True)
    f.setPointSize(7)
    p.setFont(f)
    p.drawText(THUMB - 19, 3, 16, 16, Qt.AlignCenter, "✓" if ok else "✕")
    if is_base:
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(3, THUMB - 17, 36, 14, 7, 7)
        p.setPen(QColor("white"))
        f.setPointSize(6)
        p.setFont(f)
        p.drawText(3, THUMB - 17, 36, 14, Qt.AlignCenter, "BASE")
    if not ok:
        p.fillRect(0, 0, THUMB, THUMB, QColor(0, 0, 0, 90))
    p.end()
    return pm


def _first_sentence(text: str) -> str:
    text = text.split(";")[0].split(". ")[0].rstrip(".")
    return text if len(text) < 60 else text[:57] + "…"


class AvatarPanel(QWidget):
    set_chosen = Signal(str)                 # set id
    files_added = Signal(str, list)          # set id, paths
    file_removed = Signal(str, str)
    used_changed = Signal(str, str, bool)    # set id, file, used
    base_changed = Signal(str, str)
    new_set_requested = Signal()
    capture_requested = Signal()
    consent_requested = Signal()
    revoke_requested = Signal()
    rename_requested = Signal(str, str)
    delete_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("panel")
        self.setAttribute(Qt.WA_StyledBackground)
        self.setAcceptDrops(True)
        self.setMinimumWidth(250)
        self.setMaximumWidth(300)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 14, 14, 14)
        lay.setSpacing(8)
        head = QLabel("AVATAR")
        head.setObjectName("section")
        lay.addWidget(head)
        row = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setMinimumWidth(150)
        self.combo.activated.connect(self._combo_activated)
        self.new_button = QToolButton()
        self.new_button.setText("+")
        self.new_button.setToolTip("New avatar set")
        self.new_button.clicked.connect(self.new_set_requested)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("Rename, delete, revoke consent")
        self.menu_button.setPopupMode(QToolButton.InstantPopup)
        self.menu = QMenu(self)
        self.rename_action = self.menu.addAction("Rename set…", self._rename)
        self.revoke_action = self.menu.addAction("Revoke consent…", self.revoke_requested)
        self.menu.addSeparator()
        self.delete_action = self.menu.addAction("Delete set…", self._delete)
        self.menu_button.setMenu(self.menu)
        for b in (self.new_button, self.menu_button):
            b.setFixedSize(30, 30)
        row.addWidget(self.combo, 1)
        row.addWidget(self.new_button)
        row.addWidget(self.menu_button)
        lay.addLayout(row)

        self.consent_label = QLabel()
        self.consent_label.setWordWrap(True)
        self.consent_button = QPushButton("Give consent…")
        self.consent_button.setObjectName("link")
        self.consent_button.clicked.connect(self.consent_requested)
        lay.addWidget(self.consent_label)
        lay.addWidget(self.consent_button)

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setWordWrap(True)
        self.list.setSpacing(1)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentItemChanged.connect(self._selection_changed)
        lay.addWidget(self.list, 1)

        self.detail = QLabel("Drop photos here, or use Add photos.")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("muted")
        self.detail.setMinimumHeight(48)
        self.detail.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        lay.addWidget(self.detail)

        grid = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add photos of the same person (or drop them here)")
        self.remove_button = QPushButton("Remove")
        self.base_button = QPushButton("Make base")
        self.base_button.setToolTip("The base photo is the picture the output shows")
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.base_button.clicked.connect(self._make_base)
        for b in (self.add_button, self.remove_button, self.base_button):
            grid.addWidget(b)
        lay.addLayout(grid)
        self.capture_button = QPushButton("Capture with webcam…")
        self.capture_button.clicked.connect(self.capture_requested)
        lay.addWidget(self.capture_button)
        self.set_id = ""
        self.is_sample = False
        self._filling = False
        self.checked = None
        self._update_buttons()

    # -- content ------------------------------------------------------------------------------------
    def set_sets(self, sets, current: str) -> None:
        """sets: [(set id, name)] including the sample."""
        self.combo.blockSignals(True)
        self.combo.clear()
        for sid, name in sets:
            self.combo.addItem(name, sid)
        i = self.combo.findData(current)
        self.combo.setCurrentIndex(i if i >= 0 else -1)
        self.combo.blockSignals(False)

    def show_loading(self, set_id: str, is_sample: bool) -> None:
        self.set_id, self.is_sample = set_id, is_sample
        self.checked = None
        self.list.clear()
        self.detail.setText("Checking the photos…")
        self._update_buttons()

    def show_checked(self, checked) -> None:
        self.checked = checked
        self.set_id, self.is_sample = checked.info.set_id, checked.info.is_sample
        self._filling = True
        self.list.clear()
        for i, c in enumerate(checked.images):
            ok = c.check.ok
            title = ("Base photo" if i == 0 else f"Photo {i + 1}") if ok else "Rejected"
            what = c.check.facts.describe() if ok and c.check.facts else _first_sentence(c.check.reason)
            item = QListWidgetItem(QIcon(thumbnail(c.image_bgr, ok, i == 0, c.check.lmk_px)), f"{title}\n{what}")
            item.setData(Qt.UserRole, c.file)
            item.setToolTip(f"{c.file}\n{c.check.reason}")
            flags = Qt.ItemIsSelectable | Qt.ItemIsEnabled
            if ok and i > 0:
                flags |= Qt.ItemIsUserCheckable
                item.setCheckState(Qt.Checked if c.used else Qt.Unchecked)
            item.setFlags(flags)
            if not ok:
                item.setForeground(QColor(theme.BAD))
            self.list.addItem(item)
        self._filling = False
        self.show_counts()
        self._update_buttons()

    def show_counts(self) -> None:
        """The line under the photos: how many are usable, animated from, rejected."""
        checked = self.checked
        n_ok = len(checked.usable)
        if checked.error:
            self.detail.setText(checked.error)
        elif not checked.images:
            self.detail.setText("This set has no photos yet. Add 1 to 8 photos of one person (drop them here), "
                                "or capture them with your webcam.")
        else:
            bad = len(checked.images) - n_ok
            used = sum(1 for c in checked.usable if c.used)
            text = f"{n_ok} photo{'s' if n_ok != 1 else ''} usable"
            if used < n_ok:                 # unticked photos are kept in the set but not animated from
                text += f", {used} animated from"
            self.detail.setText(text + (f"; {bad} rejected: select one to see why." if bad else
                                        ". Select a photo to see its check."))

    def set_consent(self, text: str, level: str, can_give: bool, can_revoke: bool) -> None:
        colour = {"good": theme.GOOD, "warning": theme.WARN, "error": theme.BAD}.get(level, theme.MUTED)
        self.consent_label.setText(text)
        self.consent_label.setStyleSheet(f"color: {colour};")
        self.consent_button.setVisible(can_give)
        self.revoke_action.setEnabled(can_revoke)

    # -- interaction ----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        editable = bool(self.set_id) and not self.is_sample
        cur = self.list.currentItem()
        self.add_button.setEnabled(True)
        self.remove_button.setEnabled(editable and cur is not None)
        self.base_button.setEnabled(editable and cur is not None and self.list.row(cur) > 0)
        self.rename_action.setEnabled(editable)
        self.delete_action.setEnabled(editable)

    def _combo_activated(self, index: int) -> None:
        sid = self.combo.itemData(index)
        if sid:
            self.set_chosen.emit(sid)

    def _selection_changed(self, cur, _prev) -> None:
        if cur is not None and self.checked is not None:
            c = self.checked.images[self.list.row(cur)]
            verdict = "✓ " if c.check.ok else "✕ Rejected: "
            self.detail.setText(f"{c.file}\n{verdict}{c.check.reason}")
        self._update_buttons()

    def _item_changed(self, item) -> None:
        if self._filling or not (item.flags() & Qt.ItemIsUserCheckable):
            return
        self.used_changed.emit(self.set_id, item.data(Qt.UserRole), item.checkState() == Qt.Checked)

    def _add(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add photos of one person", os.path.expanduser("~"), IMAGE_FILTER)
        if paths:
            self.files_added.emit(self.set_id, paths)

    def _remove(self) -> None:
        cur = self.list.currentItem()
        if cur is not None:
            self.file_removed.emit(self.set_id, cur.data(Qt.UserRole))

    def _make_base(self) -> None:
        cur = self.list.currentItem()
        if cur is not None:
            self.base_changed.emit(self.set_id, cur.data(Qt.UserRole))

    def _rename(self) -> None:
        name, ok = QInputDialog.getText(self, "Rename avatar set", "Name:", text=self.combo.currentText())
        if ok and name.strip():
            self.rename_requested.emit(self.set_id, name.strip())

    def _delete(self) -> None:
        if QMessageBox.question(self, "Delete avatar set",
                                f"Delete “{self.combo.currentText()}” and its photos from AvatarCam?") == QMessageBox.Yes:
            self.delete_requested.emit(self.set_id)

    # -- drag and drop --------------------------------------------------------------------------------
    @staticmethod
    def _image_paths(mime) -> list:
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls()
                if u.isLocalFile() and u.toLocalFile().lower().endswith(IMAGE_EXTS)]

    def dragEnterEvent(self, event):
        if self._image_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event):
        if self._image_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = self._image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.files_added.emit(self.set_id, paths)
