"""The consent dialog lays out whole: no text squeezed under another line, whichever choice is made."""
from PySide6.QtWidgets import QWidget

from realtime import synthetic_face as sf
from ui.consent_dialog import ConsentDialog


def _layout_problems(dialog) -> list:
    kids = [w for w in dialog.findChildren(QWidget) if w.isVisible() and w.parent() is dialog]
    found = []
    for w in kids:
        g = w.geometry()
        if not dialog.rect().contains(g):
            found.append(f"{type(w).__name__} outside the dialog")
        if w.hasHeightForWidth() and g.height() < w.heightForWidth(g.width()):      # wrapped text cut
            found.append(f"{getattr(w, 'text', lambda: '')()[:30]!r} squeezed to {g.height()} px")
    for i, a in enumerate(kids):
        for b in kids[i + 1:]:
            if a.geometry().intersects(b.geometry()):
                found.append(f"{type(a).__name__} over {type(b).__name__}")
    return found


def test_the_dialog_grows_with_the_note_for_someone_who_agreed(qtbot):
    d = ConsentDialog("Portrait", [sf.render(size=128)])
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    assert _layout_problems(d) == []
    before = d.height()
    d.other_radio.setChecked(True)                    # shows the note about the attested label line
    qtbot.waitUntil(lambda: d.other_note.isVisible())
    qtbot.wait(50)
    assert _layout_problems(d) == [] and d.height() > before
