"""The visible "AI-GENERATED" label burned into every synthetic frame (CONSENT.md L1-L3).

Placement: top-right corner of the centre 4:3 area (call apps crop 16:9 to 4:3), cap height at
least 5% of the frame's shorter side, white text on a dark plate for contrast after compression.
The plate is rendered once per frame size; per frame it is a small alpha blend.

The text is never cut: a line too wide for the 4:3 area first shrinks (never below 5%), then wraps
at a space or after a hyphen; a frame too small for even that gets a ValueError, not a clipped label.

Text is locale-aware. It is drawn with DejaVu Sans Bold when a copy ships in an installed package
(matplotlib's, pulled in by mediapipe) or the system has one, which covers Latin, Greek and
Cyrillic; otherwise with OpenCV's Hershey font after folding accents to ASCII. Scripts neither can
draw (Chinese, Japanese, Korean, Arabic...) fall back to English.
"""
import functools
import glob
import itertools
import logging
import os
import unicodedata

import cv2
import numpy as np

log = logging.getLogger(__name__)

TEXT = "AI-GENERATED"
CAP_FRACTION = 0.055          # cap height / shorter side (>= 0.05 required)
MIN_CAP_FRACTION = 0.05       # the requirement: a label that does not fit shrinks to this, no further
LEGIBLE_CAP_PX = 8            # wrap before shrinking line 1 below this...
MIN_CAP_PX = 6                # ...and never below this (tiny frames): smaller is not legible
SUB_FRACTION = 0.62           # second line's cap height / first line's
SUB_MIN_CAP_PX = 5
LABEL_MAX_LINES = 2           # the label reads as one unit; the attestation line wraps as needed

# (label, second line for the attestation-only path, recording notice)
TEXTS = {
    "en": ("AI-GENERATED", "CONSENT ATTESTED, NOT VERIFIED",
           "This video is AI-generated: the face is animated by software."),
    "de": ("KI-GENERIERT", "EINWILLIGUNG NUR ERKLÄRT",
           "Dieses Video ist KI-generiert: das Gesicht wird von Software animiert."),
    "fr": ("GÉNÉRÉ PAR IA", "CONSENTEMENT DÉCLARÉ, NON VÉRIFIÉ",
           "Cette vidéo est générée par IA : le visage est animé par un logiciel."),
    "es": ("GENERADO POR IA", "CONSENTIMIENTO DECLARADO, NO VERIFICADO",
           "Este vídeo está generado por IA: un programa anima la cara."),
    "it": ("GENERATO DALL'IA", "CONSENSO DICHIARATO, NON VERIFICATO",
           "Questo video è generato dall'IA: il volto è animato da un software."),
    "pt": ("GERADO POR IA", "CONSENTIMENTO DECLARADO, NÃO VERIFICADO",
           "Este vídeo é gerado por IA: o rosto é animado por software."),
    "nl": ("AI-GEGENEREERD", "TOESTEMMING VERKLAARD, NIET GECONTROLEERD",
           "Deze video is door AI gegenereerd: het gezicht wordt door software geanimeerd."),
    "pl": ("WYGENEROWANE PRZEZ AI", "ZGODA DEKLAROWANA, NIESPRAWDZONA",
           "To wideo jest wygenerowane przez AI: twarz animuje program."),
    "sv": ("AI-GENERERAD", "SAMTYCKE INTYGAT, EJ VERIFIERAT",
           "Den här videon är AI-genererad: ansiktet animeras av programvara."),
    "ru": ("СОЗДАНО ИИ", "СОГЛАСИЕ ЗАЯВЛЕНО, НЕ ПРОВЕРЕНО",
           "Это видео создано ИИ: лицо анимировано программой."),
    "uk": ("ЗГЕНЕРОВАНО ШІ", "ЗГОДУ ЗАЯВЛЕНО, НЕ ПЕРЕВІРЕНО",
           "Це відео згенероване ШІ: обличчя анімує програма."),
    "el": ("ΠΑΡΑΓΩΓΗ ΤΝ", "ΣΥΝΑΙΝΕΣΗ ΔΗΛΩΜΕΝΗ, ΜΗ ΕΠΑΛΗΘΕΥΜΕΝΗ",
           "Αυτό το βίντεο δημιουργήθηκε από ΤΝ: το πρόσωπο κινείται από λογισμικό."),
}


def resolve_locale(locale: str = None) -> str:
    """'de_DE.UTF-8' -> 'de'; None -> from LC_ALL / LC_MESSAGES / LANG; unknown -> 'en'."""
    if not locale:
        for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
            if os.environ.get(var):
                locale = os.environ[var]
                break
    code = (locale or "en").split(".")[0].split("_")[0].split("-")[0].lower()
    return code if code in TEXTS else "en"


def texts(locale: str = None) -> tuple:
    return TEXTS[resolve_locale(locale)]


@functools.lru_cache(maxsize=1)
def font_path():
    """A bold DejaVu Sans TTF from an installed package or the system, or None."""
    try:
        import matplotlib
        cands = [os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf", "DejaVuSans-Bold.ttf")]
    except ImportError:
        cands = []
    cands += glob.glob("/usr/share/fonts/**/DejaVuSans-Bold.ttf", recursive=True)
    for p in cands:
        if os.path.isfile(p):
            try:
                from PIL import ImageFont
                ImageFont.truetype(p, 12)
                return p
            except (ImportError, OSError):
                continue
    return None


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _drawable(text: str) -> bool:
    """True when the available font can draw every character of text."""
    if font_path() is None:
        return text == ascii_fold(text) or all(ord(c) < 0x250 for c in text)
    return all(ord(c) < 0x530 or c in "·–—’" for c in text)   # Latin, Greek, Cyrillic


def render_text(text: str, cap_px: int, color=(255, 255, 255)):
    """Anti-aliased text as (BGR uint8 image on black, alpha float32), cap height ~= cap_px."""
    path = font_path()
    if path is not None:
        from PIL import Image, ImageDraw, ImageFont
        probe = ImageFont.truetype(path, 100)
        l, t, r, b = probe.getbbox("H")
        size = max(6, int(round(100 * cap_px / (b - t))))
        font = ImageFont.truetype(path, size)
        if font.getbbox("H")[3] - font.getbbox("H")[1] < cap_px:   # rounding must not go below 5%
            font = ImageFont.truetype(path, size + 1)
        l, t, r, b = font.getbbox(text)
        img = Image.new("L", (r - l + 2, b - t + 2), 0)
        ImageDraw.Draw(img).text((1 - l, 1 - t), text, fill=255, font=font)
        alpha = np.asarray(img, np.float32) / 255
    else:
        text = ascii_fold(text)
        fontface = cv2.FONT_HERSHEY_DUPLEX
        (_, th), _ = cv2.getTextSize("H", fontface, 1.0, 1)
        scale = cap_px / th
        thick = max(1, int(round(scale * 1.6)))
        (tw, th), base = cv2.getTextSize(text, fontface, scale, thick)
        a = np.zeros((th + base + thick + 2, tw + thick + 2), np.uint8)
        cv2.putText(a, text, (1, th + 1), fontface, scale, 255, thick, cv2.LINE_AA)
        rows = np.nonzero(a.max(1))[0]
        alpha = a[rows.min():rows.max() + 1].astype(np.float32) / 255
    img = np.zeros(alpha.shape + (3,), np.uint8)
    img[:] = color
    return img, alpha


def centre_43_box(width: int, height: int):
    """(x0, y0, x1, y1) of the largest centred 4:3 region."""
    if width * 3 >= height * 4:
        w43 = height * 4 // 3
        x0 = (width - w43) // 2
        return x0, 0, x0 + w43, height
    h43 = width * 3 // 4
    y0 = (height - h43) // 2
    return 0, y0, width, y0 + h43


def _breaks(text: str) -> list:
    """Where text may wrap: (end of this line, start of the next); a hyphen stays on its line."""
    return [(i, i + 1) for i, c in enumerate(text) if c == " "] + \
           [(i + 1, i + 1) for i, c in enumerate(text[:-1]) if c == "-" and text[i + 1] != " "]


def _wrap(text: str, n: int):
    """text in n lines, the longest as short as possible; None when it has too few break points."""
    best = None
    for cut in itertools.combinations(sorted(_breaks(text)), n - 1):
        ends, starts = [c[0] for c in cut] + [len(text)], [0] + [c[1] for c in cut]
        lines = [text[s:e] for s, e in zip(starts, ends)]
        if all(lines) and (best is None or max(map(len, lines)) < max(map(len, best))):
            best = lines
    return best


def _spacing(cap: int):
    """(pad inside the plate, margin around it) for a cap height."""
    return max(3, cap // 3), max(2, cap // 3)


def _fits(text: str, caps, max_lines: int, room):
    """Yield (cap, [(img, alpha) per line]) whose every line is at most room(cap) px wide, in order
    of preference: fewer lines first, then the larger cap (shrink before wrapping)."""
    caps = list(caps)
    for n in range(1, max_lines + 1):
        lines = _wrap(text, n)
        if lines is None:
            break
        widest = max(render_text(ln, caps[0])[1].shape[1] for ln in lines)
        # text width ~ cap: skip the caps that clearly cannot fit instead of rendering each one
        start = caps[0] * room(caps[0]) / widest * 1.05 + 1
        for cap in caps:
            if cap > start:
                continue
            rendered = [render_text(ln, cap) for ln in lines]
            if max(a.shape[1] for _, a in rendered) <= room(cap):
                yield cap, rendered


def _label_caps(short: int):
    """Line 1 cap heights to try, preferred first: legible sizes, then (tiny frames) down to MIN_CAP_PX."""
    pref = max(LEGIBLE_CAP_PX, int(np.ceil(CAP_FRACTION * short)))
    floor = max(MIN_CAP_PX, int(np.ceil(MIN_CAP_FRACTION * short)))
    return range(pref, max(floor, LEGIBLE_CAP_PX) - 1, -1), range(min(pref, LEGIBLE_CAP_PX) - 1, floor - 1, -1)


class VisibleLabel:
    """The label plate for one frame size: line 1 the label, optional line 2 (attestation path).
    Raises ValueError when the frame is too small to hold the whole text legibly."""

    def __init__(self, width: int, height: int, text: str = None, subtext: str = None, locale: str = None):
        self.size = (width, height)
        label, second, _ = texts(locale)
        text = text or label
        if not _drawable(text):
            log.warning("label: cannot draw %r with the available font; using English", text)
            text = TEXT
        if subtext is not None and not _drawable(subtext):
            subtext = TEXTS["en"][1]
        self.text, self.subtext = text, subtext
        bx0, by0, bx1, by1 = centre_43_box(width, height)
        layout = self._layout(bx1 - bx0, by1 - by0, min(width, height))
        if layout is None:
            raise ValueError(f"label: a {width}x{height} frame is too small to show {text!r}"
                             f"{' / ' + repr(subtext) if subtext else ''} whole and legible "
                             f"(cap height >= {MIN_CAP_PX} px and 5% of the shorter side)")
        cap, lines, pad, margin, tw, th = layout
        gap = pad // 2
        pw, ph = tw + 2 * pad, th + 2 * pad
        x1 = bx1 - margin
        x0 = max(bx0 + margin, x1 - pw)
        y0 = by0 + margin
        self.rect = (x0, y0, x0 + pw, y0 + ph)
        self.cap_height = cap
        plate = np.full((ph, pw, 3), 20, np.float32)
        y = pad
        for img, a in lines:                   # right-aligned lines
            h, w = a.shape
            xs = pad + tw - w
            region = plate[y:y + h, xs:xs + w]
            region[:] = region * (1 - a[..., None]) + img.astype(np.float32) * a[..., None]
            y += h + gap
        self.plate = plate.astype(np.uint8)
        self.opacity = 0.85

    def _layout(self, box_w: int, box_h: int, short: int):
        """(cap, rendered lines, pad, margin, text width, text height) of the first layout whose
        plate fits the 4:3 box whole, or None. Never crops: a cut label reads as something else."""
        def room(cap):
            pad, margin = _spacing(cap)
            return box_w - 2 * pad - 2 * margin
        for caps in _label_caps(short):
            if not caps:
                continue
            for cap, lines in _fits(self.text, caps, LABEL_MAX_LINES, room):
                pad, margin = _spacing(cap)
                if self.subtext:               # line 2 shrinks (line 1 keeps its size), then wraps
                    sub_cap = max(6, int(round(cap * SUB_FRACTION)))
                    sub = next(_fits(self.subtext, range(sub_cap, SUB_MIN_CAP_PX - 1, -1),
                                     len(self.subtext.split()), lambda _: room(cap)), None)
                    if sub is None:
                        continue
                    lines = lines + sub[1]
                tw = max(a.shape[1] for _, a in lines)
                th = sum(a.shape[0] for _, a in lines) + pad // 2 * (len(lines) - 1)
                if th + 2 * pad + margin <= box_h:
                    return cap, lines, pad, margin, tw, th
        return None

    def apply(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Burn the label into frame_bgr in place and return it."""
        h, w = frame_bgr.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"label made for {self.size[0]}x{self.size[1]}, frame is {w}x{h}")
        x0, y0 = self.rect[:2]
        ph, pw = self.plate.shape[:2]
        roi = frame_bgr[y0:y0 + ph, x0:x0 + pw]
        cv2.addWeighted(self.plate, self.opacity, roi, 1 - self.opacity, 0, dst=roi)
        return frame_bgr


def notice_frame(width: int, height: int, session_id: str, locale: str = None, stronger: bool = False,
                 background_bgr: np.ndarray = None) -> np.ndarray:
    """A full-width recording notice card (BGR uint8) over a darkened background or plain dark."""
    label, second, sentence = texts(locale)
    if not _drawable(label + sentence):
        label, second, sentence = TEXTS["en"]
    if background_bgr is not None:
        if background_bgr.shape[:2] != (height, width):
            raise ValueError(f"notice: background is {background_bgr.shape[1]}x{background_bgr.shape[0]}, "
                             f"expected {width}x{height}")
        frame = (background_bgr.astype(np.float32) * 0.25 + 10).astype(np.uint8)
    else:
        frame = np.full((height, width, 3), 24, np.uint8)
    short = min(width, height)
    band_h = int(height * 0.5)
    y0 = (height - band_h) // 2
    frame[y0:y0 + band_h] = (30, 30, 150)            # full-width red band, BGR
    rows = [(label, 0.10), (sentence, 0.035), (f"Session {session_id}", 0.03)]
    if stronger:
        rows.insert(1, (second, 0.045))
    imgs = []
    for text, frac in rows:
        img, a = render_text(text, max(6, int(frac * short)))
        if a.shape[1] > width * 0.94:
            img, a = render_text(text, max(5, int(frac * short * width * 0.94 / a.shape[1])))
        imgs.append((img, a))
    gap = int(0.03 * short)
    total = sum(a.shape[0] for _, a in imgs) + gap * (len(imgs) - 1)
    y = y0 + (band_h - total) // 2
    for img, a in imgs:
        h, w = a.shape
        x = (width - w) // 2
        region = frame[y:y + h, x:x + w].astype(np.float32)
        frame[y:y + h, x:x + w] = (region * (1 - a[..., None]) + img * a[..., None]).astype(np.uint8)
        y += h + gap
    return frame
