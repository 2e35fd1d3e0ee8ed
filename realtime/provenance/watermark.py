"""Invisible spread-spectrum watermark on a coarse luma grid (CONSENT.md W1-W11).

Layout: the frame is divided into square cells, GRID_SHORT cells along its shorter side (8 px at
720p, 4 px at 360p), counted from the frame centre, so centre crops (4:3, 1:1) keep the grid.
Every cell carries one payload bit times a pseudo-random chip (+1/-1) from a fixed public table,
so anyone's detector can read it. Each run of 32 neighbouring cells holds every bit once, so any
sizeable part of the frame carries the whole payload.

Payload: 32 bits = 24-bit session id + CRC-8, the same in every frame of a session.

Embedding adds amplitude(x, y) * pattern(x, y) to B, G and R alike (a pure luma change). The
amplitude follows local texture (stronger where the eye notices less). The +-1 pattern is made once
per frame size; per frame it costs a small texture map and one masked add (~5 ms at 720p).

Decoding (see detect.py): average the luma per cell, subtract each cell's 8-neighbour mean (removes
the picture's smooth content), correlate with chips per bit. Under "no watermark" each per-bit
score z_b = sum(chip * r) / sqrt(sum(r^2)) is a sum of random-signed terms with unit variance,
so sum(z_b^2) is bounded like a chi-square law with 32 degrees of freedom: that gives the
false-alarm probability without any training data.
"""
import math

import cv2
import numpy as np

GRID_SHORT = 90            # cells along the frame's shorter side
ID_BITS = 24
CRC_BITS = 8
PAYLOAD_BITS = ID_BITS + CRC_BITS
TABLE = 512                # chip table side, cells; centre at TABLE // 2 (aspect up to ~5:1)
KEY_SEED = 0xA17CA4        # public: the detector must be free for anyone to run
AMP_MIN, AMP_GAIN, AMP_MAX = 1.0, 0.15, 3.0    # luma levels; amplitude = clip(MIN + GAIN * local std)
AMP_RMS_MAX = 2.8          # per-frame cap on the RMS amplitude: luma PSNR >= ~39 dB on any content
EDGE_SOFTEN = 0.1          # Gaussian sigma, in cells, that softens cell edges (less visible, same robustness)
WEIGHT_EPS = 0.05           # luma levels^2: floor of the local residual energy in the weights


def _tables():
    rng = np.random.default_rng(KEY_SEED)
    chips = (rng.integers(0, 2, (TABLE, TABLE), dtype=np.int8) * 2 - 1).astype(np.int8)
    # every 4 x 8 block of cells holds each of the 32 bits exactly once, in a random order
    bits = np.empty((TABLE, TABLE), np.int16)
    for by in range(0, TABLE, 4):
        for bx in range(0, TABLE, 8):
            bits[by:by + 4, bx:bx + 8] = rng.permutation(PAYLOAD_BITS).reshape(4, 8)
    return chips, bits


CHIPS, BITS = _tables()


def crc8(value: int, nbits: int = ID_BITS) -> int:
    """CRC-8 (polynomial 0x07) over the id's bits, most significant first."""
    crc = 0
    for i in reversed(range(nbits)):
        bit = (value >> i) & 1
        top = (crc >> 7) & 1
        crc = (crc << 1) & 0xFF
        if bit ^ top:
            crc ^= 0x07
    return crc


def session_number(session_id: str) -> int:
    """The 24-bit number in a session id ("6 hex digits"); ValueError for anything else."""
    s = str(session_id).strip().lower()
    if len(s) != ID_BITS // 4 or any(c not in "0123456789abcdef" for c in s):
        raise ValueError(f"session id: expected {ID_BITS // 4} hex digits, got {session_id!r}")
    return int(s, 16)


def session_string(number: int) -> str:
    return f"{number:0{ID_BITS // 4}x}"


def payload_bits(session_id: str) -> np.ndarray:
    """32 bits (0/1), id most significant first, then its CRC-8."""
    n = session_number(session_id)
    word = (n << CRC_BITS) | crc8(n)
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], np.uint8)


def parse_bits(bits) -> tuple:
    """(session id, checksum ok) from 32 decoded bits."""
    word = 0
    for b in bits:
        word = (word << 1) | int(b)
    n, crc = word >> CRC_BITS, word & ((1 << CRC_BITS) - 1)
    return session_string(n), crc8(n) == crc


def cell_size(width: int, height: int) -> float:
    return min(width, height) / GRID_SHORT


def cell_index(n: int, cell: float) -> np.ndarray:
    """Table index of each of n pixels along one axis (cells counted from the centre)."""
    return np.floor((np.arange(n) + 0.5 - n / 2) / cell).astype(np.int64) + TABLE // 2


def pattern(width: int, height: int, session_id: str) -> np.ndarray:
    """float32 (height x width), about +-1: chip * (bit ? +1 : -1) per cell, edges softened."""
    c = cell_size(width, height)
    iy, ix = cell_index(height, c), cell_index(width, c)
    if iy.min() < 0 or ix.min() < 0 or iy.max() >= TABLE or ix.max() >= TABLE:
        raise ValueError(f"watermark: frame {width}x{height} is too elongated for the cell table")
    signs = payload_bits(session_id).astype(np.float32) * 2 - 1
    cells = (CHIPS[np.ix_(iy, ix)] * signs[BITS[np.ix_(iy, ix)]]).astype(np.float32)
    return np.ascontiguousarray(cv2.GaussianBlur(cells, (0, 0), EDGE_SOFTEN * c))


class Watermarker:
    """Embeds one session's payload into BGR uint8 frames of one size, in place."""

    def __init__(self, width: int, height: int, session_id: str, strength: float = 1.0):
        self.size = (width, height)
        self.session_id = session_id
        self.strength = float(strength)
        self.pattern = pattern(width, height, session_id)
        # texture is measured on a 4x smaller copy, over a window of about one cell
        self._small = (max(8, width // 4), max(8, height // 4))
        k = max(3, int(round(cell_size(width, height) / 4)) * 2 + 1)
        self._win = (k, k)

    def amplitude(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Per-pixel amplitude in luma levels (float32, height x width)."""
        # luma first, then the 4x smaller copy: a third of the resizing work (equal to within 1 level)
        luma = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        y = cv2.resize(luma, self._small, interpolation=cv2.INTER_AREA).astype(np.float32)
        mean = cv2.blur(y, self._win)
        var = cv2.blur(y * y, self._win) - mean * mean
        amp = AMP_MIN + AMP_GAIN * np.sqrt(np.maximum(var, 0))
        np.clip(amp, AMP_MIN, AMP_MAX, out=amp)
        rms = float(np.sqrt(np.mean(amp * amp)))
        gain = self.strength * min(1.0, AMP_RMS_MAX / rms)
        if gain != 1.0:
            amp *= gain                         # on the small map: 16x fewer pixels
        return cv2.resize(amp, self.size, interpolation=cv2.INTER_LINEAR)

    def apply(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Add the watermark to frame_bgr (uint8, height x width x 3) in place and return it."""
        h, w = frame_bgr.shape[:2]
        if (w, h) != self.size or frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3:
            raise ValueError(f"watermark: expected uint8 {self.size[0]}x{self.size[1]}x3, got "
                             f"{frame_bgr.dtype} {'x'.join(map(str, frame_bgr.shape))}")
        delta = self.amplitude(frame_bgr)
        np.multiply(delta, self.pattern, out=delta)
        # the same luma offset on all three channels, as saturating uint8 adds of its rounded positive
        # and negative parts (equal to adding the float offset and rounding; 2.5x faster at 720p)
        up = cv2.convertScaleAbs(cv2.max(delta, 0.0))
        down = cv2.convertScaleAbs(cv2.min(delta, 0.0))
        cv2.add(frame_bgr, cv2.merge((up, up, up)), dst=frame_bgr)
        cv2.subtract(frame_bgr, cv2.merge((down, down, down)), dst=frame_bgr)
        return frame_bgr


# -- decoding primitives (the search over crops, mirror and time is in detect.py) --------------

def log10_tail_bound(x: float, dof: int = PAYLOAD_BITS) -> float:
    """log10 of a bound on P(S >= x) for S = sum of dof squared unit-variance random-sign sums.

    Each z_b is sub-Gaussian (a sum of terms with random signs), so E exp(t z^2) <= (1 - 2t)^-1/2
    as for a Gaussian, and the chi-square Chernoff bound holds: P(S >= x) <= exp(-(x - k)/2) (x/k)^(k/2).
    It is a little looser than the chi-square tail itself, which makes the reported figure safe.
    """
    k = float(dof)
    if x <= k:
        return 0.0
    return (-(x - k) / 2 + k / 2 * math.log(x / k)) / math.log(10)


_COVER_CACHE = {}


def cell_means(luma: np.ndarray, scale: float = 1.0, ppc: int = 4):
    """Mean luma per cell on the table grid, for a frame whose true cell size is scale x nominal.

    The frame is shrunk (area average) to ppc pixels per cell and placed on a canvas whose centre
    is the frame's centre; each cell's inner (ppc-2)^2 pixels are averaged (edges blur in codecs).
    Returns (G, valid, iy, ix): G and valid are (ny x nx); iy, ix are the table rows/columns.
    """
    h, w = luma.shape
    c = cell_size(w, h) * scale
    nxh, nyh = int(math.ceil(w / 2 / c)), int(math.ceil(h / 2 / c))
    f = ppc / c
    sw, sh = max(1, int(round(w * f))), max(1, int(round(h * f)))
    small = cv2.resize(luma, (sw, sh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    # small pixel centre u maps to canvas position (u + 0.5) * (w f / sw) - w f / 2 + nxh ppc - 0.5
    fx, fy = w * f / sw, h * f / sh
    m = np.array([[fx, 0, 0.5 * fx - w * f / 2 + nxh * ppc - 0.5],
                  [0, fy, 0.5 * fy - h * f / 2 + nyh * ppc - 0.5]])
    size = (2 * nxh * ppc, 2 * nyh * ppc)
    warped = cv2.warpAffine(small.astype(np.float32), m, size, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT)
    ny, nx = 2 * nyh, 2 * nxh
    key = (w, h, scale, ppc)
    if key not in _COVER_CACHE:
        cover = cv2.warpAffine(np.ones((sh, sw), np.float32), m, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        if len(_COVER_CACHE) > 64:
            _COVER_CACHE.clear()
        _COVER_CACHE[key] = cover.reshape(ny, ppc, nx, ppc).min(axis=(1, 3)) > 0.999
    valid = _COVER_CACHE[key]
    G = warped.reshape(ny, ppc, nx, ppc)[:, 1:-1, :, 1:-1].mean(axis=(1, 3))
    iy = np.arange(ny) - nyh + TABLE // 2
    ix = np.arange(nx) - nxh + TABLE // 2
    return G, valid, iy, ix


_NEIGHBOURS = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], np.float32)


def residual(G: np.ndarray, valid: np.ndarray) -> tuple:
    """Each cell minus the mean of its valid 8 neighbours; (R, usable) with zeros where unusable."""
    v = valid.astype(np.float32)
    s = cv2.filter2D(G * v, -1, _NEIGHBOURS, borderType=cv2.BORDER_CONSTANT)
    n = cv2.filter2D(v, -1, _NEIGHBOURS, borderType=cv2.BORDER_CONSTANT)
    usable = valid & (n >= 5)
    R = np.where(usable, G - s / np.maximum(n, 1), 0).astype(np.float32)
    return R, usable


def bit_scores(R: np.ndarray, usable: np.ndarray, iy: np.ndarray, ix: np.ndarray, mirror: bool = False):
    """Per-bit z scores (32,) for cell residuals R on table rows iy / columns ix.

    Cells are weighted by the inverse of the local residual energy (3 x 3 cells), so busy parts of
    the picture (edges, hair) do not drown the quiet ones. The weights never depend on the chips,
    so under "no watermark" each z is still a random-signed sum with unit variance.
    """
    if mirror:                # a horizontally mirrored frame: cell k from the centre is cell -k-1
        ix = (TABLE - 1) - ix
    energy = cv2.blur(R * R, (3, 3), borderType=cv2.BORDER_REFLECT)
    weight = 1.0 / (energy + WEIGHT_EPS)
    chips = CHIPS[np.ix_(iy, ix)].astype(np.float32)
    bits = BITS[np.ix_(iy, ix)]
    m = usable.ravel()
    b = bits.ravel()[m]
    wr = (weight * R).ravel()[m]
    s = np.bincount(b, weights=chips.ravel()[m] * wr, minlength=PAYLOAD_BITS)
    v = np.bincount(b, weights=wr * wr, minlength=PAYLOAD_BITS)
    return s / np.sqrt(np.maximum(v, 1e-12))


def decide(z: np.ndarray, hypotheses: int = 1):
    """(session id, checksum ok, log10 false-alarm probability) from per-bit z scores.

    The probability bounds the chance that an unmarked input scores this high and passes the
    checksum (1 in 256), corrected for the number of hypotheses searched (Bonferroni).
    """
    bits = (z > 0).astype(np.uint8)
    sid, ok = parse_bits(bits)
    if not ok:
        return sid, False, 0.0
    lp = log10_tail_bound(float(np.sum(z * z))) - CRC_BITS * math.log10(2) + math.log10(max(1, hypotheses))
    return sid, True, min(0.0, lp)
