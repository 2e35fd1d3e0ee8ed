"""The command line end to end: outputs, labels, consent, and each bad input's message."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import run
from realtime import synthetic_face as sf
from tests.media import label_visible, read_frames, write_clip, write_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    base = sf.render(who=sf.SAMPLE, size=256, width=400)               # non-square base photo
    m = dict(dir=d, base=write_png(d / "base.png", base),
             open=write_png(d / "open.png", sf.render(who=sf.SAMPLE, size=256, mouth=0.9, seed=3)),
             stranger=write_png(d / "stranger.png", sf.render(who=sf.STRANGER, size=256)))
    talk = [dict(mouth=0.5 + 0.5 * np.sin(i / 2.0)) for i in range(12)]
    m["driving"] = write_clip(d / "drive.mp4", talk, fps=25.0, blank={5, 6})
    m["faceless"] = write_clip(d / "faceless.mp4", [{}] * 4, fps=25.0, blank={0, 1, 2, 3})
    return m


def animate(media, out, *extra, source=None, consent="self"):
    args = ["animate", "--source", *(source or [media["base"]]), "--driving", media["driving"],
            "--output", str(out), "--size", "256", "--backend", "torch"]
    if consent:
        args += ["--consent", consent]
    return run.main(args + list(extra))


def test_animate_writes_one_labelled_frame_per_driving_frame(media, tmp_path):
    out = tmp_path / "out.mp4"
    assert animate(media, out) == 0
    frames, fps = read_frames(out)
    assert len(frames) == 12 and fps == pytest.approx(25.0)
    assert frames[0].shape == (256, 400, 3)                             # the base image's full frame
    assert all(label_visible(f) for f in frames)
    from realtime.provenance.detect import detect_file
    verdict = detect_file(str(out)).detection                           # the machine-readable mark too
    assert verdict.found and verdict.session_id


def test_frames_without_a_face_hold_the_avatar_not_the_driver(media, tmp_path):
    out = tmp_path / "out.mp4"
    assert animate(media, out) == 0
    frames, _ = read_frames(out)
    held, before = frames[5].astype(int), frames[4].astype(int)
    driver_blank = np.array([90, 140, 90])
    assert np.abs(held - before).mean() < 3                             # the last pose, held
    face = held[60:200, 120:280]
    assert np.abs(face - driver_blank).mean() > 30                      # never the driver's image


def test_several_sources_change_the_output(media, tmp_path):
    one, two = tmp_path / "one.mp4", tmp_path / "two.mp4"
    assert animate(media, one) == 0
    assert animate(media, two, source=[media["base"], media["open"]]) == 0
    a, _ = read_frames(one)
    b, _ = read_frames(two)
    assert len(a) == len(b)
    assert max(np.abs(x.astype(int) - y.astype(int)).mean() for x, y in zip(a, b)) > 0.5


def test_refuses_without_consent_and_says_how(media, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert animate(media, out, consent=None) == 3
    err = capsys.readouterr().err
    assert "consent" in err and "--consent self" in err
    assert not out.exists()
    # once recorded, the same image set runs without the flag
    assert animate(media, out, consent="other:Ada Lovelace") == 0
    assert animate(media, tmp_path / "again.mp4", consent=None) == 0


def test_demo_needs_no_input(tmp_path):
    out = tmp_path / "demo.mp4"
    assert run.main(["demo", "--output", str(out), "--seconds", "1", "--size", "256", "--backend", "torch"]) == 0
    frames, fps = read_frames(out)
    assert len(frames) == 30 and all(label_visible(f) for f in frames)
    assert np.std([f.astype(float).mean() for f in frames]) > 0 or len({f.tobytes() for f in frames}) > 1


def test_the_demo_prints_its_result_and_no_library_chatter(tmp_path):
    """What a user sees in the terminal: the result line, not MediaPipe's native start-up notices
    (W0000 ... "Feedback manager requires ...", "Created TensorFlow Lite XNNPACK delegate") nor
    numpy's warning that the smallest subnormal "is zero" once the engine flushes denormals."""
    out = tmp_path / "demo.mp4"
    proc = subprocess.run([sys.executable, "run.py", "demo", "--output", str(out), "--seconds", "1",
                           "--size", "256", "--backend", "torch"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and out.exists()
    noise = [line for line in proc.stderr.splitlines() if line.strip()]
    assert not noise, "the terminal showed:\n" + "\n".join(noise)


def test_a_damaged_driving_clip_gets_one_plain_error_line(media, tmp_path):
    """Not FFmpeg's "moov atom not found" and OpenCV's "[ WARN:0@1.7] global cap.cpp ..." first."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(open(media["driving"], "rb").read()[:3000])        # the index is at the end: lost
    proc = subprocess.run([sys.executable, "run.py", "animate", "--source", media["base"], "--driving", str(clip),
                           "--output", str(tmp_path / "out.mp4"), "--size", "256", "--consent", "self"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2
    assert lines == [f"error: {clip}: not a video this app can decode (expected MP4, MOV, AVI, MKV or WebM)"], \
        "the terminal showed:\n" + proc.stderr


def _bad(media, tmp_path, capsys, source=None, driving=None, output=None):
    out = output or tmp_path / "bad.mp4"
    args = ["animate", "--source", *(source or [media["base"]]), "--driving", driving or media["driving"],
            "--output", str(out), "--size", "256", "--backend", "torch", "--consent", "self"]
    code = run.main(args)
    err = capsys.readouterr().err
    assert code != 0
    if output is None:
        assert not os.path.exists(out)
    leftovers = [f for f in os.listdir(os.path.dirname(str(out)) or ".") if f.startswith(".partial-")] \
        if os.path.isdir(os.path.dirname(str(out))) else []
    assert not leftovers
    return err


def test_missing_file(media, tmp_path, capsys):
    err = _bad(media, tmp_path, capsys, source=[str(tmp_path / "nope.jpg")])
    assert "nope.jpg" in err and "not found" in err


def test_not_an_image(media, tmp_path, capsys):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, I am text")
    err = _bad(media, tmp_path, capsys, source=[str(p)])
    assert "notes.jpg" in err and "not an image" in err


def test_truncated_image(media, tmp_path, capsys):
    data = open(media["base"], "rb").read()
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    err = _bad(media, tmp_path, capsys, source=[str(p)])
    assert "cut.png" in err and "corrupt or truncated" in err


def test_decompression_bomb(media, tmp_path, capsys):
    p = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000)).save(p)                                # 81 MP in a few kB
    assert os.path.getsize(p) < 200_000
    err = _bad(media, tmp_path, capsys, source=[str(p)])
    assert "bomb.png" in err and "MP" in err and "limit" in err


def test_no_face_in_source(media, tmp_path, capsys):
    p = write_png(tmp_path / "wall.png", np.full((300, 300, 3), 128, np.uint8))
    err = _bad(media, tmp_path, capsys, source=[p])
    assert "wall.png" in err and "no face" in err


def test_several_faces_in_source(media, tmp_path, capsys):
    a = sf.render(size=256)
    p = write_png(tmp_path / "two.png", np.hstack([a, sf.render(size=256, who=sf.OTHER)]))
    err = _bad(media, tmp_path, capsys, source=[p])
    assert "two.png" in err and "2 faces" in err


def test_sources_of_different_people(media, tmp_path, capsys):
    err = _bad(media, tmp_path, capsys, source=[media["base"], media["stranger"]])
    assert "stranger.png" in err and "different person" in err


def test_driving_clip_without_any_face(media, tmp_path, capsys):
    err = _bad(media, tmp_path, capsys, driving=media["faceless"])
    assert "faceless.mp4" in err and "no face found in any frame" in err


def test_driving_file_that_is_not_a_video(media, tmp_path, capsys):
    p = tmp_path / "clip.mp4"
    p.write_bytes(os.urandom(5000))
    err = _bad(media, tmp_path, capsys, driving=str(p))
    assert "clip.mp4" in err and "not a video" in err


def test_a_missing_driving_file_records_no_consent(media, tmp_path, capsys):
    """Every input is checked before the consent record is written: a typo leaves nothing behind."""
    from realtime.provenance.consent import ConsentStore
    err = _bad(media, tmp_path, capsys, driving=str(tmp_path / "typo.mp4"))
    assert "typo.mp4" in err and "not found" in err
    assert ConsentStore.default().records() == []


def test_a_driving_clip_without_any_face_records_no_consent(media, tmp_path, capsys):
    """The faceless clip is found only while rendering; the new record is kept only with a video."""
    from realtime.provenance.consent import ConsentStore
    _bad(media, tmp_path, capsys, driving=media["faceless"])
    assert ConsentStore.default().records() == []
    assert animate(media, tmp_path / "made.mp4") == 0
    assert len(ConsentStore.default().records()) == 1


def test_without_consent_the_message_names_the_photos(media, tmp_path, capsys):
    assert animate(media, tmp_path / "out.mp4", consent=None) == 3
    err = capsys.readouterr().err
    assert f"no consent record for this photo ({media['base']})" in err
    assert animate(media, tmp_path / "out.mp4", source=[media["base"], media["open"]], consent=None) == 3
    assert "these 2 photos" in capsys.readouterr().err


def test_a_still_image_is_not_a_driving_video(media, tmp_path, capsys):
    err = _bad(media, tmp_path, capsys, driving=media["open"])
    assert "open.png" in err and "still image (PNG), not a video" in err


def test_a_truncated_driving_clip_says_how_much_was_read(media, tmp_path, capsys):
    """A clip cut short (a copy that stopped half-way) decodes up to the cut: the output has a frame
    for each frame read, and the user is told the clip ended early rather than left to wonder."""
    import av
    whole = write_clip(tmp_path / "whole.mp4", [dict(mouth=i / 40) for i in range(40)], fps=25.0)
    fast = tmp_path / "fast.mp4"        # the index first (as web videos are), so a cut keeps it
    with av.open(whole) as src, av.open(str(fast), "w", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = fast.read_bytes()
    mdat = data.find(b"mdat")
    assert 0 < data.find(b"moov") < mdat
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: mdat + (len(data) - mdat) * 4 // 5])       # past the first (key) frame
    out = tmp_path / "out.mp4"
    code = run.main(["animate", "--source", media["base"], "--driving", str(cut), "--output", str(out),
                     "--size", "256", "--backend", "torch", "--consent", "self"])
    err = capsys.readouterr().err
    assert code == 0, err
    frames, _ = read_frames(out)
    assert 5 < len(frames) < 40
    assert f"ended after {len(frames)} of the 40 frames it lists" in err and "truncated" in err


def test_an_output_that_is_not_a_regular_file_is_left_alone(media, tmp_path, capsys):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    err = _bad(media, tmp_path, capsys, output=fifo)
    assert "not a regular file" in err
    import stat
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)                         # not replaced by a video


@pytest.mark.parametrize("which", ["driving", "base"])
def test_an_output_named_like_an_input_is_refused_and_the_input_kept(which, media, tmp_path, capsys):
    import shutil
    kept = tmp_path / ("drive.mp4" if which == "driving" else "photo.mp4")
    shutil.copy(media[which], kept)
    before = kept.read_bytes()
    if which == "driving":
        err = _bad(media, tmp_path, capsys, driving=str(kept), output=kept)
    else:            # a photo saved under an .mp4 name: only the same-file check can catch this one
        err = _bad(media, tmp_path, capsys, source=[str(kept)], output=kept)
    assert "is one of the inputs" in err
    assert kept.read_bytes() == before


def test_an_output_not_named_mp4_is_refused(media, tmp_path, capsys):
    out = tmp_path / "base.png"                                          # e.g. a photo's name by mistake
    err = _bad(media, tmp_path, capsys, output=out)
    assert "ending in .mp4" in err and not out.exists()


def test_an_odd_sized_photo_says_the_size_written(media, tmp_path, capsys):
    odd = write_png(tmp_path / "odd.png", sf.render(who=sf.SAMPLE, size=256, width=401)[:255])
    out = tmp_path / "odd.mp4"
    assert animate(media, out, source=[odd]) == 0
    frames, _ = read_frames(out)
    assert frames[0].shape[:2] == (254, 400)
    assert "400x254 (the photo's 401x255 less its odd row or column" in capsys.readouterr().out


def test_output_folder_missing(media, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "out.mp4"
    err = _bad(media, tmp_path, capsys, output=out)
    assert "does not exist" in err and not out.exists()


@pytest.mark.parametrize("kind", ["grey", "alpha", "16bit", "cmyk", "exif"])
def test_unusual_but_valid_images_just_work(kind, media, tmp_path):
    from realtime.avatar import load_avatar_set
    rgb = sf.render(size=256)[:, :, ::-1]
    p = tmp_path / f"{kind}.png"
    if kind == "grey":
        Image.fromarray(rgb).convert("L").save(p)
    elif kind == "alpha":
        Image.fromarray(rgb).convert("RGBA").save(p)
    elif kind == "16bit":
        g = np.asarray(Image.fromarray(rgb).convert("L")).astype(np.uint16) * 257
        Image.fromarray(g).save(p)
    elif kind == "cmyk":
        p = tmp_path / "cmyk.jpg"
        Image.fromarray(rgb).convert("CMYK").save(p, quality=95)
    elif kind == "exif":
        p = tmp_path / "rotated.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6                                                # "rotate 90 CW to display"
        Image.fromarray(rgb).rotate(90, expand=True).save(p, exif=exif, quality=95)
    avatar = load_avatar_set([str(p)], 256)
    assert avatar.base_bgr.shape[2] == 3 and avatar.base_bgr.dtype == np.uint8
    eyes_y = avatar.images[0].lmk_px[[33, 263], 1].mean()
    mouth_y = avatar.images[0].lmk_px[13, 1]
    assert eyes_y < mouth_y                                             # upright after EXIF rotation


def test_full_disk_leaves_nothing_behind(media, tmp_path):
    """A file size limit stands in for a full disk: the same errno path, a clear message, no file."""
    out = tmp_path / "full.mp4"
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000));"
        "import run; sys.exit(run.main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "animate", "--source", media["base"],
                           "--driving", media["driving"], "--output", str(out), "--size", "256",
                           "--backend", "torch", "--consent", "self"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 4, proc.stderr
    assert "disk is full" in proc.stderr
    assert not out.exists()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".partial-")]


def test_outputs_are_c2pa_signed_and_tied_to_the_consent_record(media, tmp_path):
    from realtime.provenance.c2pa_sign import read_c2pa
    from realtime.provenance.consent import ConsentStore, hash_image_file
    out = tmp_path / "signed.mp4"
    assert animate(media, out) == 0
    status = read_c2pa(str(out))
    assert status["state"] in ("trusted", "valid"), status
    assert status["digital_source_type"].endswith("trainedAlgorithmicMedia")
    record = ConsentStore.default().find_valid([hash_image_file(media["base"])], scope="animate")
    assert status["consent_record_sha256"] == record.record_hash


def test_bench_prints_every_stage_and_the_fps(media, capsys):
    """`run.py bench` on the built-in demo motion: one row per (size, K) with every stage's time and
    the two frame rates, all positive numbers."""
    assert run.main(["bench", "--size", "256", "--sources", "2", "--frames", "24", "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 256 | 2 |")]
    assert len(rows) == 1, out
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    header = next(line for line in out.splitlines() if line.startswith("| size |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    values = dict(zip(names, cells))
    for stage in ("landmarks ms", "engine ms", "paste ms", "label ms", "encode ms"):
        assert float(values[stage]) > 0, (stage, values)
    assert float(values["path fps"]) > 1 and float(values["all fps"]) > 1
    assert values["backend"].startswith("torch")
