"""The desktop app (PySide6). Depends on realtime/, never the other way round."""
from . import qt_workarounds

qt_workarounds.install()
