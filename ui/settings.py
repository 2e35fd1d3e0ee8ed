"""Settings that persist between runs, as JSON in the platform's config location (the same folder
as the consent records; AVATARCAM_HOME overrides it). A corrupt file is set aside with a warning and
the defaults are used: never a crash. Plain Python, no Qt."""
import json
import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from realtime.provenance.paths import app_home, write_private

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"


@dataclass
class AppSettings:
    welcome_done: bool = False
    current_set: str = ""              # avatar set id, "sample", or "" (none chosen yet)
    sample_used: list = None           # indices of the sample's images in use (None: all)
    driver_kind: str = "camera"        # camera | video | demo
    camera_index: int = 0
    camera_width: int = 640
    camera_height: int = 480
    camera_fps: int = 30
    mirror: bool = True
    video_path: str = ""
    engine_size: int = 256
    expression: float = 1.0
    head_motion: bool = True
    smoothing: float = 1.0
    show_landmarks: bool = False
    virtual_camera: bool = True
    stream: bool = False
    stream_port: int = 0               # 0: a free port chosen at random
    output_width: int = 1280
    output_height: int = 720
    output_fps: int = 30
    record_dir: str = ""
    start_on_launch: bool = False
    window_geometry: str = ""

    def validated(self) -> list:
        """Fix values out of range in place; return the names of the fields that were fixed."""
        fixed = []
        rules = {
            "driver_kind": lambda v: v in ("camera", "video", "demo"),
            "engine_size": lambda v: v in (256, 512),
            "camera_index": lambda v: 0 <= v < 64,
            "camera_width": lambda v: 160 <= v <= 3840, "camera_height": lambda v: 120 <= v <= 2160,
            "camera_fps": lambda v: 5 <= v <= 60, "output_fps": lambda v: 5 <= v <= 60,
            "output_width": lambda v: 320 <= v <= 3840 and v % 2 == 0,
            "output_height": lambda v: 180 <= v <= 2160 and v % 2 == 0,
            "expression": lambda v: 0.0 <= v <= 2.0, "smoothing": lambda v: 0.0 <= v <= 3.0,
            "stream_port": lambda v: v == 0 or 1024 <= v <= 65535,
        }
        defaults = AppSettings()
        for name, ok in rules.items():
            if not ok(getattr(self, name)):
                setattr(self, name, getattr(defaults, name))
                fixed.append(name)
        return fixed


def _typed(value, default):
    """value if it has the default's type (ints accepted for floats), else raise TypeError."""
    if default is None:
        if value is None or (isinstance(value, list) and all(isinstance(i, int) for i in value)):
            return value
        raise TypeError
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise TypeError
    if isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, type(default)) and not isinstance(value, bool):
        return value
    raise TypeError


class SettingsStore:
    def __init__(self, path: Path = None):
        self.path = Path(path) if path else app_home() / FILE_NAME

    def load(self):
        """(AppSettings, warning or None)."""
        if not self.path.exists():
            return AppSettings(), None
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError(f"expected a JSON object, found {type(raw).__name__}")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            kept = self._set_aside()
            msg = (f"Your settings file could not be read ({_short(exc)}). It was kept as {kept.name} "
                   "and the default settings are used.")
            log.warning(msg)
            return AppSettings(), msg
        s = AppSettings()
        bad = []
        for f in fields(AppSettings):
            if f.name in raw:
                try:
                    setattr(s, f.name, _typed(raw[f.name], getattr(s, f.name)))
                except TypeError:
                    bad.append(f.name)
        bad += s.validated()
        if bad:
            msg = f"Some settings were invalid and were reset to their defaults: {', '.join(sorted(set(bad)))}."
            log.warning(msg)
            return s, msg
        return s, None

    def save(self, settings: AppSettings) -> None:
        write_private(self.path, json.dumps(asdict(settings), indent=2, sort_keys=True).encode())

    def _set_aside(self) -> Path:
        target = self.path.with_name(f"settings.corrupt-{time.strftime('%Y%m%d-%H%M%S')}.json")
        n = 1
        while target.exists():
            target = self.path.with_name(f"settings.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}.json")
            n += 1
        try:
            self.path.replace(target)
        except OSError:
            log.warning("could not move the corrupt settings file aside", exc_info=True)
        return target


def _short(exc) -> str:
    text = str(exc)
    return text if len(text) < 80 else text[:77] + "..."
