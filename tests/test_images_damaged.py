"""Photos damaged in ways a decoder does not report: the message says what is wrong with the file."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from realtime import synthetic_face as sf
from realtime.errors import InputError
from realtime.images import load_image_hashed


def _jpeg(path, quality=90):
    buf = io.BytesIO()
    Image.fromarray(sf.render(size=256)[:, :, ::-1]).save(buf, "JPEG", quality=quality)
    path.write_bytes(buf.getvalue())
    return path


def test_a_jpeg_damaged_in_the_middle_is_called_corrupt_not_faceless(tmp_path):
    """The decoder fills what follows the damage with flat grey and raises nothing."""
    p = _jpeg(tmp_path / "damaged.jpg")
    data = bytearray(p.read_bytes())
    n = len(data) // 3
    data[n:n + 2000] = np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match="damaged.jpg: corrupt or truncated image"):
        load_image_hashed(p)


def test_an_undamaged_jpeg_with_a_grey_band_still_loads(tmp_path):
    """A photo's own grey areas have texture and compression noise; only decoder fill is flat."""
    img = sf.render(size=256)
    img[-40:] = (128, 128, 128)
    img[-40:] += np.random.default_rng(2).integers(0, 6, img[-40:].shape, dtype=np.uint8)
    p = tmp_path / "grey_floor.jpg"
    Image.fromarray(img[:, :, ::-1]).save(p, "JPEG", quality=95)
    arr, digest = load_image_hashed(p)
    assert arr.shape == (256, 256, 3) and len(digest) == 64


def test_a_decompression_bomb_says_how_large_it_claims_to_be(tmp_path):
    """A PNG whose header claims 30000 x 30000 (900 MP) in a few hundred bytes."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    p = tmp_path / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                  + chunk(b"IEND", b""))
    with pytest.raises(InputError, match=r"bomb.png: image is too large \(900 MP, .*limit 40 MP"):
        load_image_hashed(p)
