"""The visible label is never cut (CONSENT.md L2): every character of every line lies inside the frame
and the centre 4:3 area, at >= 5% cap height, for any frame size and locale; a frame too small for
that fails closed (ValueError) instead of showing a clipped label."""
import numpy as np
import pytest

from realtime.provenance import label as L
from realtime.provenance.labeller import Labeller
from tests.test_provenance_helpers import luma

SIZES = [(1280, 720), (640, 480), (720, 720), (720, 1280), (160, 120), (88, 88), (72, 72)]
GREY = 128
PLATE, OPACITY = 20, 0.85


def labelled(lab, w, h):
    """A flat grey frame with lab burned in, as the user sees it."""
    return lab.apply(np.full((h, w, 3), GREY, np.uint8))


def ink(frame):
    """Per-pixel text coverage (0..1) recovered from a labelled grey frame."""
    on_plate = OPACITY * PLATE + (1 - OPACITY) * GREY
    return np.clip((luma(frame).astype(np.float32) - on_plate) / (OPACITY * (255 - PLATE)), 0, 1)


def runs(mask_rows):
    """[(first, last)] of consecutive True rows: the text lines, top to bottom."""
    idx = np.nonzero(mask_rows)[0]
    splits = np.nonzero(np.diff(idx) > 1)[0]
    return list(zip(idx[np.r_[0, splits + 1]], idx[np.r_[splits, len(idx) - 1]]))


def make(w, h, locale, subtext=None):
    """The label, or None where failing closed is allowed: only a frame under 100 px, where even
    the longest word of a long label ("WYGENEROWANE") cannot fit at a legible size."""
    try:
        return L.VisibleLabel(w, h, subtext=subtext, locale=locale)
    except ValueError as e:
        assert f"{w}x{h}" in str(e) and locale == "pl" and min(w, h) < 100, e
        return None


def check_whole_label(lab, w, h, locale):
    x0, y0, x1, y1 = lab.rect
    bx0, by0, bx1, by1 = L.centre_43_box(w, h)
    assert 0 <= bx0 <= x0 < x1 <= bx1 <= w and 0 <= by0 <= y0 < y1 <= by1 <= h, \
        f"{w}x{h} {locale}: plate {lab.rect} not inside the 4:3 area {(bx0, by0, bx1, by1)}"
    assert lab.plate.shape[:2] == (y1 - y0, x1 - x0)
    f = labelled(lab, w, h)
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    assert (f[outside] == GREY).all()                                   # nothing drawn off the plate
    a = np.where(outside, 0, ink(f))
    ys, xs = np.nonzero(a > 0.5)
    # not cut: the text ends inside the plate, with dark plate around it on every side
    assert ys.min() >= y0 + 2 and ys.max() <= y1 - 3 and xs.min() >= x0 + 2 and xs.max() <= x1 - 3, \
        f"{w}x{h} {locale}: text {xs.min(), ys.min(), xs.max(), ys.max()} runs into the plate edge {lab.rect}"
    first = runs((a > 0.5).sum(1) >= 2)[0]                              # line 1: all capitals
    cap = first[1] - first[0] + 1
    assert cap >= 0.05 * min(w, h), f"{w}x{h} {locale}: cap height {cap} px < 5% of {min(w, h)}"
    return a


@pytest.mark.parametrize("locale", ["en", "pl"])
@pytest.mark.parametrize("size", SIZES)
def test_label_is_whole_inside_the_4_3_area(size, locale):
    w, h = size
    lab = make(w, h, locale)
    if lab is None:
        return
    a = check_whole_label(lab, w, h, locale)
    # every character is there: as much ink as the whole text drawn on its own at that cap height
    # (wrapping only moves words to a second line; a space has no ink)
    _, ref = L.render_text(lab.text, lab.cap_height)
    shown, whole = a[a > 0.1].sum(), ref[ref > 0.1].sum()
    assert shown == pytest.approx(whole, rel=0.04), f"{w}x{h} {locale}: shows {shown / whole:.0%} of the text"


@pytest.mark.parametrize("locale", ["en", "pl"])
@pytest.mark.parametrize("size", SIZES)
def test_attested_label_is_whole_inside_the_4_3_area(size, locale):
    w, h = size
    sub = L.texts(locale)[1]
    lab = make(w, h, locale, sub)
    if lab is None:
        return
    a = check_whole_label(lab, w, h, locale)
    _, ref = L.render_text(lab.text, lab.cap_height)
    _, ref_sub = L.render_text(sub, 5)
    # the label's ink plus at least the attestation line at its smallest size
    assert a[a > 0.1].sum() >= 0.96 * (ref[ref > 0.1].sum() + ref_sub[ref_sub > 0.1].sum())


def test_polish_label_wraps_on_frames_narrower_than_4_3():
    for w, h in [(720, 720), (720, 1280)]:
        lab = L.VisibleLabel(w, h, locale="pl")
        a = ink(labelled(lab, w, h))
        assert len(runs((a > 0.5).sum(1) >= 2)) == 2                 # two lines, "AI" kept
        assert lab.cap_height >= 0.05 * min(w, h)


def test_label_without_the_ttf_font_is_whole_too(monkeypatch):
    monkeypatch.setattr(L, "font_path", lambda: None)               # Hershey fallback: other widths
    for w, h in [(720, 720), (160, 120), (88, 88)]:
        for locale in ("en", "pl"):
            lab = make(w, h, locale, L.texts(locale)[1])
            if lab is not None:
                check_whole_label(lab, w, h, locale)


@pytest.mark.parametrize("size", [(48, 48), (64, 36), (32, 24)])
def test_too_small_for_a_whole_label_fails_closed(size):
    w, h = size
    with pytest.raises(ValueError, match=f"{w}x{h}"):
        L.VisibleLabel(w, h, locale="en")
    lab = Labeller("000001", locale="en", stronger=True)
    frame = np.full((h, w, 3), GREY, np.uint8)
    for _ in range(2):                      # every frame of that size, not just the first
        with pytest.raises(ValueError, match=f"{w}x{h}"):
            lab.apply(frame)
    assert (frame == GREY).all()            # nothing emitted half-labelled


def test_labeller_renders_a_too_small_size_once(monkeypatch):
    from realtime.provenance import labeller as LB
    calls = []

    def counting(*args, **kw):
        calls.append(args)
        return L.VisibleLabel(*args, **kw)
    monkeypatch.setattr(LB, "VisibleLabel", counting)
    lab = Labeller("000001", locale="en")
    for _ in range(3):
        with pytest.raises(ValueError):
            lab.apply(np.zeros((40, 40, 3), np.uint8))
        lab.apply(np.zeros((360, 640, 3), np.uint8))
    assert len(calls) == 2
