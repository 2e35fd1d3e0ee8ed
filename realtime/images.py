"""Loading avatar photos safely: every odd but valid image just works, every bad one gets a clear error."""
import io
import os
import re

import numpy as np

from .errors import InputError, check_input_file

MAX_PIXELS = 40_000_000        # 40 MP: above any phone photo, far below a decompression bomb
MAX_FILE_BYTES = 200 * 2 ** 20


def load_image_bgr(path) -> np.ndarray:
    """Read PATH into an 8-bit BGR array, applying EXIF rotation; 16-bit, alpha, grey and CMYK convert."""
    return decode_image_bgr(read_image_file(path), path)


def load_image_hashed(path) -> tuple:
    """(BGR array, SHA-256 hex of the file) from ONE read of PATH: consent is checked against the hash,
    so it must be the hash of exactly the bytes that were decoded, not of a second read of the file."""
    from .provenance.consent import hash_image_bytes
    data = read_image_file(path)
    return decode_image_bgr(data, path), hash_image_bytes(data)


def read_image_file(path) -> bytes:
    """PATH's bytes, read once and at most MAX_FILE_BYTES (a file growing while read cannot get past it)."""
    path = check_input_file(path, "an image file")
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
        size = os.fstat(f.fileno()).st_size
    if len(data) > MAX_FILE_BYTES:
        raise InputError(path, f"file is {max(size, len(data)) / 2**20:.0f} MB, larger than the {MAX_FILE_BYTES // 2**20} MB limit")
    if not data:
        raise InputError(path, "file is empty")
    return data


def decode_image_bgr(data: bytes, path) -> np.ndarray:
    """Decode an image file's bytes (PATH only names it in errors) into an 8-bit BGR array."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise InputError(path, f"image is {w}x{h} ({w * h / 1e6:.0f} MP), larger than the "
                                       f"{MAX_PIXELS / 1e6:.0f} MP limit; resize it first")
            img.load()
            fmt = img.format
            img = ImageOps.exif_transpose(img)
            arr = _to_rgb8(img)
        if fmt == "JPEG":
            _check_not_greyed_out(arr, path)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(path, "not an image (unrecognised format); use a JPEG or PNG photo") from None
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)) / 1e6:.0f} MP, " if found else ""
        raise InputError(path, f"image is too large ({size}decompression bomb guard, limit {MAX_PIXELS / 1e6:.0f} MP)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated image ({exc})") from None
    if min(arr.shape[:2]) < 64:
        raise InputError(path, f"image is {arr.shape[1]}x{arr.shape[0]}, too small for a face (at least 64x64)")
    return np.ascontiguousarray(arr[:, :, ::-1])


def _check_not_greyed_out(arr: np.ndarray, path) -> None:
    """A JPEG damaged in the middle decodes without an error: the decoder fills everything after the
    damage with flat mid-grey. Say so, instead of a puzzling "no face found" (or a half-grey avatar)."""
    rows = arr.reshape(arr.shape[0], -1)
    grey = (rows.min(1) >= 127) & (rows.max(1) <= 129)
    tail = int(np.argmin(grey[::-1])) if not grey.all() else len(grey)
    if tail >= max(8, 0.05 * len(grey)):
        raise InputError(path, f"corrupt or truncated image (the last {100 * tail / len(grey):.0f}% of it decodes "
                               "as flat grey); use an undamaged copy of the photo")


def _to_rgb8(img) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img).astype(np.float32)
        peak = 65535.0 if a.max() > 255 else 255.0
        a = np.clip(a / peak * 255.0, 0, 255).astype(np.uint8)
        return np.repeat(a[:, :, None], 3, 2)
    if mode == "F":
        a = np.asarray(img)
        a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        return np.repeat(a[:, :, None], 3, 2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # flatten transparency onto mid-grey rather than black, so a cut-out face stays visible
        rgba = img.convert("RGBA")
        from PIL import Image
        bg = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))
