"""Where the app keeps its per-install state (consent records, keys, the C2PA CA).

AVATARCAM_HOME overrides the platform's config dir (tests point it at a temp dir).
"""
import os
import sys
from pathlib import Path


def app_home() -> Path:
    env = os.environ.get("AVATARCAM_HOME")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "AvatarCam"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "AvatarCam"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "avatarcam"


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write data atomically (temp file + replace), readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
