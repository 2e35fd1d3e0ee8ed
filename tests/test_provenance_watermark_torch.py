"""The torch embedder (for frames on a GPU) matches the numpy one and is read by the same detector."""
import time

import numpy as np
import pytest
import torch

from realtime.provenance import detect as D
from realtime.provenance import watermark as W
from realtime.provenance.watermark_torch import TorchWatermarker
from tests.test_provenance_helpers import decode, encode, talking_clip

SID = "70c4ed"


def test_torch_embedder_agrees_with_numpy_within_one_level():
    frames = talking_clip(3, size=(1280, 720), seed=6)
    ref = W.Watermarker(1280, 720, SID)
    tw = TorchWatermarker(1280, 720, SID)
    for f in frames:
        a = ref.apply(f.copy())
        t = torch.from_numpy(f.copy())
        b = tw.apply(t).numpy()
        diff = np.abs(a.astype(int) - b)
        assert diff.max() <= 2 and diff.mean() < 0.2
        assert np.abs(b.astype(int) - f).mean() > 0.5                  # it did add the mark


def test_torch_marked_video_is_detected():
    tw = TorchWatermarker(1280, 720, SID)
    frames = [tw.apply(torch.from_numpy(f)).numpy() for f in talking_clip(60, seed=7)]
    det = D.detect_frames(decode(encode(frames, 600, size=(640, 360))))
    assert det.found and det.session_id == SID


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="W11 GPU figure needs CUDA (the CPU path is the numpy one)")
def test_w11_torch_embed_cost_on_gpu():
    dev = "cuda"
    tw = TorchWatermarker(1280, 720, SID, device=dev)
    f = torch.from_numpy(talking_clip(1, seed=8)[0]).to(dev)
    tw.apply(f)
    times = []
    for _ in range(20):
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        tw.apply(f)
        if dev == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    ms = 1000 * float(np.median(times))
    print(f"W11 torch embed on {dev}: {ms:.2f} ms per 1280x720 frame")
    assert ms < 3


def test_torch_embedder_rejects_bad_frames():
    tw = TorchWatermarker(640, 360, SID)
    with pytest.raises(ValueError):
        tw.apply(torch.zeros((360, 640, 3), dtype=torch.float32))
    with pytest.raises(ValueError):
        tw.apply(torch.zeros((720, 1280, 3), dtype=torch.uint8))
