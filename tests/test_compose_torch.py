"""The device-side compose path (paste-back, label, watermark as tensor ops, one download) against the
host path. Run on the CPU device here; the same code runs on CUDA (the gpu-marked test at the end)."""
import numpy as np
import pytest
import torch

from engines.predictor import TorchPredictor, bgr8_to_nchw
from engines.implicit_warp import WarpConfig
from realtime import synthetic_face as sf
from realtime.avatar import avatar_from_arrays
from realtime.compose import PasteBack
from realtime.compose_torch import DeviceComposer
from realtime.pipeline import STAGES, FrameProcessor, PipelineConfig
from realtime.provenance import detect as D
from realtime.provenance.labeller import Labeller
from realtime.provenance.watermark_torch import TorchWatermarker
from realtime.sample_avatar import sample_images
from realtime.tracking import FaceTracker
from tests.media import label_visible

SID = "5ea51d"
SIZE = 256


def psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def tracker():
    t = FaceTracker(static=True)
    yield t
    t.close()


@pytest.fixture(scope="module")
def avatar(tracker):
    return avatar_from_arrays(sample_images(count=1, size=720), SIZE, tracker)     # 1280 x 720 base


@pytest.fixture(scope="module")
def paste(avatar):
    return PasteBack(avatar.base_bgr, avatar.base_to_crop, SIZE)


def crops():
    """Crops unlike the base face, so the pasted region differs from what it covers."""
    return [sf.render(size=SIZE, who=sf.OTHER, mouth=0.8, yaw=0.3),
            sf.render(size=SIZE, who=sf.OTHER, eyes=0.0, pitch=-0.4, seed=3)]


def both_paths(paste, crop, labeller_kw=None):
    """(host frame, device frame, device frame before labelling) for the same crop and session."""
    kw = dict(session_id=SID, locale="en", **(labeller_kw or {}))
    host = Labeller(**kw).apply(paste(crop))
    dc = DeviceComposer(paste, Labeller(**kw), "cpu")
    frame = dc.paste(bgr8_to_nchw(crop))
    unlabelled = frame.numpy().copy()
    return host, dc.finish(frame), unlabelled


@pytest.mark.parametrize("stronger", [False, True])
def test_device_output_matches_the_host_path(paste, stronger):
    x0, y0, x1, y1 = paste.roi
    outside = np.ones(paste.base.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    for crop in crops():
        host, dev, _ = both_paths(paste, crop, dict(stronger=stronger))
        assert dev.shape == host.shape and dev.dtype == np.uint8
        assert psnr(dev, host) >= 40, f"full frame {psnr(dev, host):.1f} dB"
        assert psnr(dev[y0:y1, x0:x1], host[y0:y1, x0:x1]) >= 40          # the pasted face itself
        diff = np.abs(dev.astype(int) - host)[outside]
        assert diff.max() <= 2 and diff.mean() < 0.05, (diff.max(), diff.mean())   # base, label, watermark
        assert np.abs(dev[y0:y1, x0:x1].astype(int) - paste.base[y0:y1, x0:x1]).mean() > 5   # it did paste


def test_device_frame_carries_the_label_and_the_session_watermark(paste):
    _, dev, unlabelled = both_paths(paste, crops()[0])
    assert not label_visible(unlabelled)                   # the label below comes from the device path
    assert label_visible(dev)
    assert not D.detect_frames([unlabelled]).found
    det = D.detect_frames([dev])
    assert det.found and det.session_id == SID


def test_device_labeller_refuses_bad_frames():
    lab = Labeller(SID)
    for bad in (np.zeros((360, 640, 3), np.uint8), torch.zeros((360, 640, 3)), torch.zeros((360, 640, 4), dtype=torch.uint8)):
        with pytest.raises(ValueError):
            lab.apply_tensor(bad)


# -- through FrameProcessor -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def processors(avatar, tracker):
    """A host-path and a forced device-path processor on one predictor (same engine output)."""
    pred = TorchPredictor(WarpConfig(size=SIZE, num_sources=avatar.count))
    cfg = PipelineConfig(size=SIZE, backend="torch", smoothing=0.0)
    host = FrameProcessor(avatar, cfg, Labeller(SID, locale="en"), tracker=tracker, predictor=pred)
    dev = FrameProcessor(avatar, cfg, Labeller(SID, locale="en"), tracker=tracker, predictor=pred,
                         device_compose=True)
    return host, dev


def test_cpu_predictor_keeps_the_host_path(avatar, tracker):
    proc = FrameProcessor(avatar, PipelineConfig(size=SIZE, backend="torch"), Labeller(SID), tracker=tracker)
    assert proc.composer is None and isinstance(proc._last_crop, np.ndarray)


def test_processor_device_path_matches_host_path_and_holds_the_pose(processors):
    host, dev = processors
    # no face yet: the base image itself, on both paths
    a, b = host.process(None, 0.0), dev.process(None, 0.0)
    assert not b.face_found and psnr(b.output_bgr, a.output_bgr) >= 40
    assert label_visible(b.output_bgr) and set(b.timings_ms) == set(a.timings_ms) <= set(STAGES)
    still = b.output_bgr
    drv = [sf.render(size=256, who=sf.OTHER, **sf.demo_motion(t)) for t in (0.4, 1.3)]
    for i, f in enumerate(drv):
        a, b = host.process(f, 0.1 * (i + 1)), dev.process(f, 0.1 * (i + 1))
        assert a.face_found and b.face_found
        assert psnr(b.output_bgr, a.output_bgr) >= 40
        assert set(b.timings_ms) == set(STAGES)
    last = b.output_bgr.copy()
    assert psnr(last, still) < 35                             # the avatar moved (not the base held)
    # a driver frame without a face: the avatar holds its last pose; the driver never shows
    blank = np.full((256, 256, 3), (90, 140, 90), np.uint8)
    held_host, held = host.process(blank, 0.4), dev.process(blank, 0.4)
    assert not held.face_found and held.driver_lmk is None
    assert np.array_equal(held.output_bgr, last)
    assert psnr(held.output_bgr, held_host.output_bgr) >= 40
    assert held.output_bgr.flags.writeable and held.output_bgr is not last


def test_labelling_failure_on_the_device_path_yields_no_frame(processors, monkeypatch):
    _, dev = processors
    good = dev.process(None, 1.0).output_bgr

    def broken(self, frame):
        raise RuntimeError("watermark failed (test)")
    monkeypatch.setattr(TorchWatermarker, "apply", broken)     # fails after the label is drawn
    with pytest.raises(RuntimeError, match="watermark failed"):
        dev.process(None, 1.1)
    monkeypatch.undo()
    again = dev.process(None, 1.2).output_bgr                   # and recovers once labelling works
    assert np.array_equal(again, good) and D.detect_frames([again]).session_id == SID


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_engine_and_device_compose_match_the_cpu(avatar, tracker):
    from engines.cuda_backend import TorchCudaPredictor
    from engines.predictor import to_bgr8
    cfg = PipelineConfig(size=SIZE, backend="torch", smoothing=0.0)
    gpu = TorchCudaPredictor(WarpConfig(size=SIZE, num_sources=avatar.count))
    host = FrameProcessor(avatar, cfg, Labeller(SID, locale="en"), tracker=tracker)
    dev = FrameProcessor(avatar, cfg, Labeller(SID, locale="en"), tracker=tracker, predictor=gpu)
    assert dev.composer is not None and dev.composer.device.type == "cuda"        # chosen automatically
    tgt = avatar.lmk_norm[0]
    r = gpu.render_tensor(tgt)
    assert r.is_cuda and np.abs(to_bgr8(r).astype(int) - gpu.render_bgr(tgt)).max() <= 1
    for i, t in enumerate((0.4, 1.3, 2.2)):
        f = sf.render(size=256, who=sf.OTHER, **sf.demo_motion(t))
        a, b = host.process(f, 0.1 * i), dev.process(f, 0.1 * i)
        assert b.face_found and psnr(b.output_bgr, a.output_bgr) >= 40
    assert D.detect_frames([b.output_bgr]).session_id == SID


def test_crop_upload_is_the_inverse_of_the_engine_download():
    from engines.predictor import to_bgr8
    bgr = np.random.default_rng(4).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    t = bgr8_to_nchw(bgr)
    assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32 and 0 <= t.min() and t.max() <= 1
    np.testing.assert_array_equal(to_bgr8(t), bgr)
    assert t[0, 2, 0, 0] == bgr[0, 0, 0] / 255.0                       # channel 2 of RGB is blue
