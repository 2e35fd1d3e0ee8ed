"""Saved avatar sets: several can be kept and switched. Each set is a folder under the app's data dir:

    avatar_sets/<id>/set.json      {"name": ..., "images": [{"file": "img-01.jpg", "used": true}, ...]}
    avatar_sets/<id>/img-01.jpg    the photos, copied byte for byte (their hashes are what consent covers)

The built-in sample is not stored: it is drawn on demand and needs no consent (it depicts no one).
"""
import json
import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from ..errors import InputError
from ..images import decode_image_bgr, read_image_file
from ..provenance.consent import hash_image_file
from ..provenance.paths import app_home, write_private

log = logging.getLogger(__name__)

SAMPLE_ID = "sample"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic")
MAX_IMAGES = 8


@dataclass
class AvatarSetInfo:
    set_id: str
    name: str
    folder: Path = None
    files: list = field(default_factory=list)      # file names, base first
    used: dict = field(default_factory=dict)       # file name -> used by the engine

    @property
    def is_sample(self) -> bool:
        return self.set_id == SAMPLE_ID

    def paths(self) -> list:
        return [self.folder / f for f in self.files] if self.folder else []

    def hashes(self) -> list:
        """The files' hashes as they are now on disk. Not for consent checks of a checked set: those use
        the hashes of the bytes that were decoded (ui.avatar_checker), as the file may change in between."""
        return [hash_image_file(p) for p in self.paths()]


def sample_set() -> AvatarSetInfo:
    return AvatarSetInfo(SAMPLE_ID, "Sample avatar", None, [], {})


class AvatarLibrary:
    def __init__(self, root: Path = None):
        self.root = Path(root) if root else app_home() / "avatar_sets"

    # -- reading --------------------------------------------------------------------------------------
    def sets(self) -> list:
        """Saved sets, oldest first (a folder with an unreadable set.json is skipped with a warning)."""
        out = []
        if not self.root.is_dir():
            return out
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and (folder / "set.json").exists():
                try:
                    out.append(self._read(folder))
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("skipping avatar set %s: %s", folder, exc)
        return sorted(out, key=lambda s: s.set_id)

    def get(self, set_id: str) -> AvatarSetInfo:
        if set_id == SAMPLE_ID:
            return sample_set()
        folder = self._folder(set_id)
        if not (folder / "set.json").exists():
            raise KeyError(f"no avatar set {set_id!r}")
        return self._read(folder)

    def _folder(self, set_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-z-]+", set_id or ""):
            raise KeyError(f"bad avatar set id {set_id!r}")
        return self.root / set_id

    def _read(self, folder: Path) -> AvatarSetInfo:
        d = json.loads((folder / "set.json").read_text(encoding="utf-8"))
        files = [e["file"] for e in d["images"] if (folder / e["file"]).exists()]
        used = {e["file"]: bool(e.get("used", True)) for e in d["images"]}
        return AvatarSetInfo(folder.name, str(d["name"]), folder, files, {f: used[f] for f in files})

    def _write(self, info: AvatarSetInfo) -> None:
        d = {"name": info.name, "images": [{"file": f, "used": info.used.get(f, True)} for f in info.files]}
        write_private(info.folder / "set.json", json.dumps(d, indent=2).encode())

    # -- changing ---------------------------------------------------------------------------------------
    def create(self, name: str) -> AvatarSetInfo:
        name = name.strip() or "My avatar"
        set_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        info = AvatarSetInfo(set_id, name, self.root / set_id, [], {})
        info.folder.mkdir(parents=True, exist_ok=False)
        self._write(info)
        return info

    def _next_name(self, info: AvatarSetInfo, ext: str) -> str:
        n = 1
        taken = set(os.listdir(info.folder))
        while any(t.startswith(f"img-{n:02d}.") for t in taken):
            n += 1
        return f"img-{n:02d}{ext}"

    def _room(self, info, count):
        if len(info.files) + count > MAX_IMAGES:
            raise InputError(info.name, f"a set holds at most {MAX_IMAGES} photos; remove one first")

    def add_files(self, set_id: str, paths) -> list:
        """Copy photos into the set (byte for byte). Raises InputError for a file that is not a readable image."""
        info = self.get(set_id)
        paths = [Path(p) for p in paths]
        self._room(info, len(paths))
        added = []
        for p in paths:
            data = read_image_file(p)
            decode_image_bgr(data, p)               # refuse non-images now, with the loader's clear message
            ext = p.suffix.lower() if p.suffix.lower() in IMAGE_EXTS else ".img"
            name = self._next_name(info, ext)
            (info.folder / name).write_bytes(data)  # the bytes just checked, not a second read of p
            info.files.append(name)
            info.used[name] = True
            added.append(name)
        self._write(info)
        return added

    def add_array(self, set_id: str, image_bgr) -> str:
        info = self.get(set_id)
        self._room(info, 1)
        name = self._next_name(info, ".png")
        if not cv2.imwrite(str(info.folder / name), image_bgr):
            raise InputError(info.folder / name, "could not be written")
        info.files.append(name)
        info.used[name] = True
        self._write(info)
        return name

    def remove(self, set_id: str, file: str) -> None:
        info = self.get(set_id)
        if file in info.files:
            info.files.remove(file)
            info.used.pop(file, None)
            self._write(info)
            try:
                (info.folder / file).unlink()
            except OSError:
                pass

    def set_used(self, set_id: str, file: str, used: bool) -> None:
        info = self.get(set_id)
        if file in info.files:
            info.used[file] = bool(used)
            self._write(info)

    def make_base(self, set_id: str, file: str) -> None:
        info = self.get(set_id)
        if file in info.files:
            info.files.remove(file)
            info.files.insert(0, file)
            self._write(info)

    def rename(self, set_id: str, name: str) -> None:
        info = self.get(set_id)
        info.name = name.strip() or info.name
        self._write(info)

    def delete(self, set_id: str) -> None:
        folder = self._folder(set_id)
        if folder.is_dir():
            shutil.rmtree(folder)
