"""Visible label (CONSENT.md L1-L3), locale, attestation line, recording notice; fail-closed labeller."""
import numpy as np
import pytest

from realtime.provenance import label as L
from realtime.provenance.labeller import Labeller
from tests.test_provenance_helpers import decode, encode, luma, talking_clip

SIZES = [(1280, 720), (640, 360), (640, 480), (480, 640), (720, 720)]


def text_rows(plate_gray):
    """Rows of the plate that hold white text pixels."""
    return np.nonzero((plate_gray > 160).sum(1) >= 2)[0]


@pytest.mark.parametrize("size", SIZES)
def test_l2_size_and_placement(size):
    w, h = size
    lab = L.VisibleLabel(w, h, locale="en")
    x0, y0, x1, y1 = lab.rect
    bx0, by0, bx1, by1 = L.centre_43_box(w, h)
    assert bx0 <= x0 < x1 <= bx1 and by0 <= y0 < y1 <= by1            # inside the centre 4:3 area
    assert x1 >= bx1 - 0.03 * (bx1 - bx0) and y0 <= by0 + 0.03 * (by1 - by0)   # its top-right corner
    rows = text_rows(luma(lab.plate))
    cap = rows.max() - rows.min() + 1                                   # all capitals: height = cap height
    assert cap >= 0.05 * min(w, h), f"cap height {cap} px < 5% of {min(w, h)}"
    # high contrast: white text on a dark plate
    g = luma(lab.plate)
    assert np.percentile(g, 5) < 40 and np.percentile(g, 99.5) > 220


def test_l1_every_output_frame_is_labelled_from_the_first():
    lab = Labeller(session_id="00c0de", locale="en")
    frames = talking_clip(6, size=(640, 360), seed=1)
    ref = L.VisibleLabel(640, 360, locale="en")
    x0, y0, x1, y1 = ref.rect
    text = luma(ref.plate) > 160
    for i, f in enumerate(frames):
        out = lab.apply(f)
        assert out is f                                                 # in place
        g = luma(out[y0:y1, x0:x1]).astype(float)
        assert g[text].mean() - g[~text].mean() > 120, f"frame {i}: label missing"
    # any size, any time: a new size mid-session is labelled too
    g = luma(lab.apply(talking_clip(1, size=(1280, 720))[0]))
    r = L.VisibleLabel(1280, 720, locale="en")
    t = luma(r.plate) > 160
    gx = g[r.rect[1]:r.rect[3], r.rect[0]:r.rect[2]].astype(float)
    assert gx[t].mean() - gx[~t].mean() > 120


def test_l3_label_survives_4_3_crop_and_300kbps_at_360p():
    lab = Labeller(session_id="abc123", locale="en")
    frames = [lab.apply(f) for f in talking_clip(30, size=(1280, 720), seed=2)]
    crops = [f[:, 160:1120] for f in frames]                            # call app crops to 4:3
    out = decode(encode(crops, 300, size=(480, 360)))                   # and sends 360p at 300 kbps
    ref = L.VisibleLabel(1280, 720, locale="en")
    x0, y0, x1, y1 = ref.rect
    s = 360 / 720
    text = luma(ref.plate) > 160
    for f in out[5:]:
        g = luma(f)[int(y0 * s):int(y0 * s) + int(text.shape[0] * s), int((x0 - 160) * s):int((x0 - 160) * s) + int(text.shape[1] * s)]
        t = text[::2, ::2][:g.shape[0], :g.shape[1]]
        g = g[:t.shape[0], :t.shape[1]].astype(float)
        assert g[t].mean() - g[~t].mean() > 90                          # still high contrast
        corr = np.corrcoef(g.ravel(), t.ravel().astype(float))[0, 1]
        assert corr > 0.75                                              # same letter shapes


@pytest.mark.parametrize("loc,expect", [("de_DE.UTF-8", "KI-GENERIERT"), ("fr", "GÉNÉRÉ PAR IA"),
                                        ("es", "GENERADO POR IA"), ("ru", "СОЗДАНО ИИ"),
                                        ("xx", "AI-GENERATED"), ("zh_CN", "AI-GENERATED")])
def test_locale_picks_the_label_text(loc, expect, monkeypatch):
    assert L.texts(loc)[0] == expect
    lab = L.VisibleLabel(640, 360, locale=loc)
    assert lab.text == expect
    monkeypatch.setenv("LC_ALL", "de_AT.UTF-8")
    assert L.resolve_locale(None) == "de"


def test_labels_draw_without_the_ttf_font(monkeypatch):
    monkeypatch.setattr(L, "font_path", lambda: None)               # ASCII-safe Hershey fallback
    lab = L.VisibleLabel(640, 360, locale="fr")
    rows = text_rows(luma(lab.plate))
    assert rows.max() - rows.min() + 1 >= 0.05 * 360


def test_attestation_path_adds_a_second_line():
    plain = L.VisibleLabel(1280, 720, locale="en")
    strong = L.VisibleLabel(1280, 720, subtext=L.texts("en")[1], locale="en")
    assert strong.plate.shape[0] > plain.plate.shape[0] * 1.4           # two lines
    assert strong.cap_height == plain.cap_height                        # line 1 keeps its size
    bx0, _, bx1, _ = L.centre_43_box(1280, 720)
    assert bx0 <= strong.rect[0] and strong.rect[2] <= bx1
    f = np.full((720, 1280, 3), 128, np.uint8)
    a = Labeller("000001", locale="en", stronger=True).apply(f.copy())
    b = Labeller("000001", locale="en").apply(f.copy())
    x0, y0, x1, y1 = strong.rect
    assert (luma(a[y0:y1, x0:x1]) > 160).sum() > (luma(b[y0:y1, x0:x1]) > 160).sum() * 1.3


def test_recording_notice_is_full_width_and_lasts_two_seconds():
    lab = Labeller(session_id="a0b1c2", locale="en")
    frames = lab.notice_frames(1280, 720, fps=30)
    assert len(frames) >= 60 and all(f is frames[0] for f in frames)
    f = frames[0]
    band = f[360 - 100:360 + 100]
    assert (band[..., 2].astype(int) - band[..., 0] > 60).mean() > 0.6          # red band
    red_cols = (f[:, :, 2].astype(int) - f[:, :, 0] > 60).any(0)
    assert red_cols.mean() > 0.99                                               # full width
    assert len(lab.notice_frames(640, 360, fps=29.97)) >= 2 * 29.97
    with pytest.raises(ValueError):
        lab.notice_frames(640, 360, fps=0)


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32),
                                 np.zeros((10, 10, 4), np.uint8), "frame", None])
def test_labeller_fails_closed_on_bad_frames(bad):
    with pytest.raises(ValueError):
        Labeller("000001").apply(bad)


def test_labeller_refuses_read_only_frames_and_bad_session_ids():
    f = np.zeros((360, 640, 3), np.uint8)
    f.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        Labeller("000001").apply(f)
    for sid in ("xyz", "1234567", ""):
        with pytest.raises(ValueError, match="session id"):
            Labeller(sid)
    assert len(Labeller().session_id) == 6 and Labeller().session_id != Labeller().session_id
