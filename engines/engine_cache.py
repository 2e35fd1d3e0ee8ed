"""On-disk cache for compiled engine artifacts: exported ONNX models and TensorRT engines.

An entry is a payload file plus a JSON sidecar holding the entry's full key and the payload's SHA-256.
The file name carries a digest of the key, so a change of any key field (model hash, shapes,
precision, GPU, TensorRT version...) selects a different entry. An existing entry is used only when
its sidecar holds the same key, its checksum matches and the caller's `load` accepts it; anything else
(stale, truncated, corrupt, half-written) is rebuilt with a warning that says why. Writes go to a
temporary file first and are moved into place, so a crash never leaves a half-written entry behind.
Pure Python: testable without TensorRT or a GPU.
"""
import hashlib
import json
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "AVATARCAM_CACHE_DIR"


def default_cache_dir() -> Path:
    """$AVATARCAM_CACHE_DIR, else the platform's user cache folder + avatarcam/engines."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "avatarcam" / "engines"


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key_digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def onnx_key(model_hash: str, size: int, num_sources: int, warp_fields: dict, opset: int,
             torch_version: str) -> dict:
    """Key of an exported per-frame graph: one ONNX file per (K, size) and engine version."""
    return {"kind": "onnx", "model_hash": model_hash, "size": size, "num_sources": num_sources,
            "warp": warp_fields, "opset": opset, "torch": torch_version}


def trt_key(model_hash: str, shapes: dict, precision: str, gpu_name: str, trt_version: str,
            build_policy: int) -> dict:
    """Key of a TensorRT engine. `model_hash` is the SHA-256 of the ONNX file it was built from."""
    return {"kind": "trt", "model_hash": model_hash,
            "shapes": {name: list(shape) for name, shape in shapes.items()},
            "precision": precision, "gpu": gpu_name, "tensorrt": trt_version, "build_policy": build_policy}


class ArtifactCache:
    def __init__(self, root=None):
        self.root = Path(root) if root else default_cache_dir()

    def path_for(self, key: dict, suffix: str) -> Path:
        return self.root / f"{key['kind']}-{key_digest(key)}{suffix}"

    def problem(self, key: dict, path: Path):
        """None when the entry at `path` is a valid entry for `key`, else why it is not."""
        meta_path = Path(str(path) + ".json")
        if not path.exists():
            return "missing"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable metadata ({exc.__class__.__name__})"
        if meta.get("key") != json.loads(json.dumps(key)):   # compare as JSON: tuples read back as lists
            return "stale: built for a different key"
        if meta.get("sha256") != file_sha256(path):
            return "corrupt: checksum mismatch"
        return None

    def get_or_build(self, key: dict, suffix: str, build, load, rebuild: bool = False):
        """Return (load(path), status). `build(tmp_path)` writes the payload; `load(path)` raises if unusable.

        status is "cached", "built", or "rebuilt (<reason>)" for logs and `doctor`.
        """
        path = self.path_for(key, suffix)
        reason = "rebuild requested" if rebuild else self.problem(key, path)
        if reason is None:
            try:
                return load(path), "cached"
            except Exception as exc:  # a payload the consumer cannot use is as bad as a corrupt one
                reason = f"corrupt: {exc}"
        if reason != "missing":
            log.warning("engine cache entry %s is unusable (%s); rebuilding", path, reason)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            build(tmp)
            meta = {"key": key, "sha256": file_sha256(tmp)}
            Path(str(path) + ".json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        status = "built" if reason == "missing" else f"rebuilt ({reason})"
        log.info("engine cache: %s %s", status, path)
        return load(path), status
