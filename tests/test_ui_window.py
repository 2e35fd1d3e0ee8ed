"""The window's behaviour (pytest-qt, offscreen): first run, start/stop, consent refusal and revocation,
the error banner, settings round trip and a corrupt settings file, per-photo checks with drag and drop,
swapping sets while live, closing within 2 s. The webcam and the virtual camera device are fakes behind
the real seams; the engine is a quick stand-in (the real one is covered by test_live_real_pipeline and
the Xvfb test)."""
import json
import re
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.ui_helpers import ConsentAnswer, face_photo, make_ctx, no_face_photo, open_window, two_faces_photo
from tests.live_fakes import FakeCamera, FakeVirtualCameraDevice


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))


class LiveCheckPasses:
    """Stands in for the webcam live check (tested for real in test_ui_live_check.py): it passes."""
    runs = 0

    def __init__(self, live, photos, mirrored=True, parent=None):
        type(self).runs += 1
        self.no_camera, self.runner = False, None

    def exec(self):
        return 1

    def result_value(self):
        from realtime.provenance.livecheck import LiveCheckResult
        return LiveCheckResult(True, "matches every photo (test)", ["blink", "turn_left"], [0.2])


@pytest.fixture
def consent(monkeypatch):
    ConsentAnswer.answer, ConsentAnswer.asked = None, 0
    LiveCheckPasses.runs = 0
    monkeypatch.setattr("ui.window_sets.ConsentDialog", ConsentAnswer)
    monkeypatch.setattr("ui.window_sets.LiveCheckDialog", LiveCheckPasses)
    return ConsentAnswer


def write_settings(ctx, **values):
    ctx.home.mkdir(parents=True, exist_ok=True)
    (ctx.home / "settings.json").write_text(json.dumps({"welcome_done": True, **values}))


def checked(w):
    return w.current is not None and w.panel.list.count() == len(w.current.images)


def test_first_run_opens_fast_to_the_welcome_then_the_sample_goes_live(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)
    t0 = time.monotonic()
    w = open_window(qtbot, ctx)
    qtbot.waitExposed(w)
    assert time.monotonic() - t0 < 5.0
    assert w.stack.currentWidget() is w.welcome and not w.statusBar().isVisible()
    img = w.grab().toImage()
    assert len({img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}) > 10
    qtbot.mouseClick(w.welcome.sample_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.live.running and w.view.avatar.frames_shown > 3, timeout=20000)
    assert w.stack.currentIndex() == 1 and w.statusBar().isVisible()
    # no webcam: the demo motion drives, and the window says so
    qtbot.waitUntil(lambda: w.view.driver.caption == "Demo motion (no webcam)", timeout=5000)
    assert w.view.driver.has_frame
    qtbot.waitUntil(lambda: "fps" in w.status.fps.text() and "Not live" not in w.status.fps.text(), timeout=5000)
    assert json.loads(ctx.settings_path.read_text())["welcome_done"] is True


def test_start_and_stop_with_a_webcam(qtbot, tmp_path):
    cam = FakeCamera(present=True)
    ctx = make_ctx(tmp_path, camera=cam, cameras=[(0, "Fake webcam")])
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w) and w.controls.start_button.isEnabled(), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 10 and w.view.avatar.frames_shown > 3, timeout=20000)
    assert ctx.vcam.frames[-1].shape == (720, 1280, 3)
    assert w.controls.start_button.text().endswith("Stop")
    qtbot.waitUntil(lambda: w.controls.vcam_state.text().startswith("On"), timeout=5000)
    assert cam.open_grabbers == 1
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    assert not w.live.running and w.live.last_stop_s < 2.0
    assert cam.open_grabbers == 0, "the camera must be released on stop"
    n = len(ctx.vcam.frames)
    qtbot.wait(200)
    assert len(ctx.vcam.frames) == n and w.controls.start_button.text().endswith("Start")
    assert w.status.fps.text() == "Not live"


def test_consent_refusal_keeps_every_output_off(qtbot, tmp_path, consent):
    ctx = make_ctx(tmp_path)
    lib = ctx.library()
    info = lib.create("Alex")
    lib.add_files(info.set_id, [face_photo(tmp_path / "alex.png")])
    write_settings(ctx, current_set=info.set_id)
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: consent.asked == 1, timeout=20000)        # choosing a set without consent asks
    assert "No consent recorded" in w.banner.text
    assert "No consent" in w.panel.consent_label.text() and w.panel.consent_button.isVisible()
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)           # Start asks again; refused again
    assert consent.asked == 2 and not w.live.running
    qtbot.wait(300)
    assert ctx.vcam.frames == [] and ctx.vcam.opened == 0
    assert ctx.consent_store().records() == []
    consent.answer = ("self", None)                                    # now the person agrees
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 5, timeout=20000)
    recs = ctx.consent_store().records()
    assert len(recs) == 1 and recs[0].kind == "self" and set(recs[0].image_hashes) == set(lib.get(info.set_id).hashes())
    assert LiveCheckPasses.runs == 1 and recs[0].method == "live-check"       # "this is me" was checked live
    assert not w.live.session.avatar.stronger_label
    assert "Consent recorded" in w.panel.consent_label.text() and "live-checked" in w.panel.consent_label.text()


def test_revoking_consent_stops_its_outputs(qtbot, tmp_path, consent):
    ctx = make_ctx(tmp_path)
    lib = ctx.library()
    info = lib.create("Sam")
    lib.add_files(info.set_id, [face_photo(tmp_path / "sam.png")])
    rec = ctx.consent_store().record(lib.get(info.set_id).hashes(), "other", "Sam")
    write_settings(ctx, current_set=info.set_id)
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w) and w.controls.start_button.isEnabled(), timeout=20000)
    assert consent.asked == 0
    # an attestation: the panel says why the outputs will carry the label's second line
    assert "attested, not verified" in w.panel.consent_label.text()
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 5, timeout=20000)
    ctx.consent_store().revoke(rec.id)                    # e.g. from `run.py consent revoke` in a terminal
    qtbot.waitUntil(lambda: not w.live.running, timeout=6000)
    assert "Outputs stopped" in w.banner.text
    n = len(ctx.vcam.frames)
    qtbot.wait(300)
    assert len(ctx.vcam.frames) == n


def test_error_banner_guides_when_no_virtual_camera_exists_and_retry_recovers(qtbot, tmp_path):
    vcam = FakeVirtualCameraDevice()
    vcam.present = False
    ctx = make_ctx(tmp_path, vcam=vcam)
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.banner.isVisible() and "Virtual camera not available" in w.banner.text, timeout=20000)
    assert "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam" in w.banner.text
    assert "Traceback" not in w.banner.text and w.banner.level == "warning"
    retry = [b for b in w.banner.buttons if b.isVisible() and b.text() == "Retry"]
    assert retry and "Not available" in w.controls.vcam_state.text()
    assert "message above" not in w.controls.vcam_state.text()    # the panel's line stands on its own
    assert w.live.running and w.view.avatar.has_frame           # the app keeps running
    w.banner.show_message("Recording saved: /tmp/x.mp4", "good")   # another message takes the banner...
    qtbot.mouseClick(w.controls.retry_button, Qt.LeftButton)        # ...the panel's Retry brings the steps back
    assert "sudo modprobe v4l2loopback" in w.banner.text
    retry = [b for b in w.banner.buttons if b.isVisible() and b.text() == "Retry"]
    vcam.present = True                                          # the user ran the command
    qtbot.mouseClick(retry[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: w.controls.vcam_state.text().startswith("On") and len(vcam.frames) > 3, timeout=5000)
    assert not w.banner.isVisible()


def test_a_failing_frame_shows_a_readable_banner_not_a_traceback(qtbot, tmp_path):
    from tests.live_fakes import fake_factory
    ctx = make_ctx(tmp_path)
    ctx.processor_factory = fake_factory(fail_label=lambda n: True)
    write_settings(ctx, current_set="sample", driver_kind="demo")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.banner.level == "error" and "could not be made or labelled" in w.banner.text,
                    timeout=20000)
    assert "Traceback" not in w.banner.text and "File \"" not in w.banner.text
    assert ctx.vcam.frames == []            # fails closed: no unlabelled frame ever went out


def test_settings_round_trip_through_the_window(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    c = w.controls
    c.expression_slider.setValue(60)
    c.size_combo.setCurrentIndex(c.size_combo.findData(512))
    c.landmarks_check.setChecked(True)
    c.mirror_check.setChecked(False)
    c.stream_check.setChecked(True)
    c.source_combo.setCurrentIndex(c.source_combo.findData("demo"))
    w.close()
    saved = json.loads(ctx.settings_path.read_text())
    assert (saved["expression"], saved["engine_size"], saved["show_landmarks"], saved["mirror"], saved["stream"],
            saved["driver_kind"]) == (0.6, 512, True, False, True, "demo")
    w2 = open_window(qtbot, ctx)
    c2 = w2.controls
    assert c2.expression_slider.value() == 60 and c2.size_combo.currentData() == 512
    assert c2.landmarks_check.isChecked() and not c2.mirror_check.isChecked() and c2.stream_check.isChecked()
    assert c2.source_combo.currentData() == "demo" and w2.view.driver.show_landmarks
    assert not w2.banner.isVisible()


def test_corrupt_settings_are_set_aside_with_a_warning(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)
    ctx.home.mkdir(parents=True)
    ctx.settings_path.write_text('{"expression": 0.5,, broken')
    w = open_window(qtbot, ctx)
    assert w.banner.isVisible() and w.banner.level == "warning" and "could not be read" in w.banner.text
    assert list(ctx.home.glob("settings.corrupt-*.json"))
    assert w.controls.expression_slider.value() == 100          # defaults
    w.close()
    assert json.loads(ctx.settings_path.read_text())["expression"] == 1.0   # a good file again


def test_dropped_photos_are_checked_one_by_one_with_a_reason(qtbot, tmp_path, consent):
    ctx = make_ctx(tmp_path)
    lib = ctx.library()
    info = lib.create("Drop test")
    write_settings(ctx, current_set=info.set_id)
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: w.current is not None, timeout=20000)
    files = [face_photo(tmp_path / "good.png"), no_face_photo(tmp_path / "wall.png"),
             two_faces_photo(tmp_path / "pair.png")]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in files])
    ev = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    w.panel.dropEvent(ev)
    qtbot.waitUntil(lambda: w.current is not None and len(w.current.images) == 3, timeout=20000)
    tips = [w.panel.list.item(i).toolTip() for i in range(3)]
    texts = [w.panel.list.item(i).text() for i in range(3)]
    assert texts[0].startswith("Base photo") and "front-facing" in texts[0]
    assert texts[1].startswith("Rejected") and "No face found" in tips[1]
    assert texts[2].startswith("Rejected") and "2 faces found" in tips[2] and "exactly one person" in tips[2]
    w.panel.list.setCurrentRow(1)
    assert "Rejected" in w.panel.detail.text() and "No face found" in w.panel.detail.text()
    assert len(w.current.usable) == 1


def test_switching_sets_while_live_keeps_the_output_steady(qtbot, tmp_path, consent):
    ctx = make_ctx(tmp_path)
    lib = ctx.library()
    info = lib.create("Second")
    lib.add_files(info.set_id, [face_photo(tmp_path / "b.png")])
    ctx.consent_store().record(lib.get(info.set_id).hashes(), "self")
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 10, timeout=20000)
    first = w.live.session.avatar
    w.panel.set_chosen.emit(info.set_id)
    qtbot.waitUntil(lambda: w.live.session.avatar is not first and w.live.session.avatar.name == "Second", timeout=20000)
    qtbot.wait(800)
    gaps = np.diff(ctx.vcam.send_times[-60:])
    assert w.live.running and gaps.max() < 0.15, gaps.max()
    assert w.live.session.avatar.needs_consent and consent.asked == 0


def test_closing_stops_every_thread_within_2s(qtbot, tmp_path):
    cam = FakeCamera(present=True)
    ctx = make_ctx(tmp_path, camera=cam, cameras=[(0, "Fake webcam")])
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 3, timeout=20000)
    session = w.live.session
    w.close()
    assert w.closed_in_s < 2.0
    assert cam.open_grabbers == 0
    assert not any(t.is_alive() for t in (session.capture, session.processing, session.output, session.builder))


def test_while_it_looks_for_the_neutral_face_the_window_says_what_to_do(qtbot, tmp_path):
    from ui.window_live import FINDING_NEUTRAL
    ctx = make_ctx(tmp_path, camera=FakeCamera(present=True), cameras=[(0, "Fake webcam")])
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.live.session.processing.processor is not None, timeout=20000)
    w.live.session.processing.processor.finding_neutral = True
    qtbot.waitUntil(lambda: w.view.hint.text() == FINDING_NEUTRAL, timeout=5000)
    w.live.session.processing.processor.finding_neutral = False
    qtbot.waitUntil(lambda: w.view.hint.text() == "", timeout=5000)


def test_unticking_a_photo_says_how_many_are_animated_from(qtbot, tmp_path):
    ctx = make_ctx(tmp_path)
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    assert w.panel.detail.text().startswith("4 photos usable. ")
    w.panel.list.item(1).setCheckState(Qt.Unchecked)
    assert w.panel.detail.text().startswith("4 photos usable, 3 animated from")
    w.panel.list.item(1).setCheckState(Qt.Checked)
    assert w.panel.detail.text().startswith("4 photos usable. ")


def test_record_is_in_view_on_a_laptops_window(qtbot, tmp_path):
    """At the foot of the outputs, Record was below the fold of a 1280 x 700 window once the virtual
    camera's setup message took four lines."""
    ctx = make_ctx(tmp_path)
    ctx.vcam.present = False
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    w.resize(1280, 700)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.controls.vcam_state.text().startswith("Not available"), timeout=20000)
    c, b = w.controls, w.controls.record_button
    bottom = b.mapTo(c.viewport(), b.rect().bottomLeft()).y()
    assert c.verticalScrollBar().value() == 0 and bottom <= c.viewport().height()
    w.live.stop()


def test_self_test_waits_for_a_virtual_camera_to_read_back(qtbot, tmp_path):
    """With no loopback device the panel shows the setup steps; Self-test stays off (it offered to
    read back a camera that was never opened, and said "start the output first" while running)."""
    ctx = make_ctx(tmp_path)
    ctx.vcam.present = False
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.controls.vcam_state.text().startswith("Not available"), timeout=20000)
    assert w.live.running and not w.controls.selftest_button.isEnabled()
    ctx.vcam.present = True                            # the module loaded: the sink retries and opens
    qtbot.waitUntil(lambda: w.controls.selftest_button.isEnabled(), timeout=20000)
    qtbot.mouseClick(w.controls.selftest_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.controls.vcam_state.text() == "✓ Visible to other apps", timeout=10000)


def test_outputs_from_the_window_stream_record_and_self_test(qtbot, tmp_path):
    import urllib.request
    import av
    ctx = make_ctx(tmp_path)
    write_settings(ctx, current_set="sample", record_dir=str(tmp_path / "videos"))
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 5, timeout=20000)
    # the virtual camera self-test reads the device back and finds our frames
    qtbot.waitUntil(lambda: w.controls.selftest_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(w.controls.selftest_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.controls.vcam_state.text() == "✓ Visible to other apps", timeout=10000)
    # the local stream: switched on live, its private address shown and serving the labelled frames
    w.controls.stream_check.setChecked(True)
    qtbot.waitUntil(lambda: w.controls.stream_url.text().startswith("http://127.0.0.1:"), timeout=5000)
    assert w.controls.stream_url.cursorPosition() == 0          # the field shows the address from its start
    with urllib.request.urlopen(w.controls.stream_url.text() + "frame.jpg", timeout=5) as r:
        assert r.headers["Content-Type"] == "image/jpeg" and len(r.read()) > 1000
    qtbot.mouseClick(w.controls.copy_button, Qt.LeftButton)           # Copy puts the address on the clipboard
    from PySide6.QtGui import QGuiApplication
    assert QGuiApplication.clipboard().text() == w.controls.stream_url.text()
    assert w.controls.copy_button.text().startswith("Copied")         # and says it did
    # recording: Record, then Stop recording, then the saved file is announced
    qtbot.mouseClick(w.controls.record_button, Qt.LeftButton)
    assert w.controls.record_button.text().endswith("Stop recording")
    qtbot.waitUntil(lambda: bool(re.search(r"● 0:0[1-9] · recording to", w.controls.record_state.text())),
                    timeout=8000)
    qtbot.mouseClick(w.controls.record_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.banner.isVisible() and "Recording saved" in w.banner.text, timeout=15000)
    files = list((tmp_path / "videos").glob("AvatarCam-*.mp4"))
    assert len(files) == 1
    with av.open(str(files[0])) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n >= 60 + 25                      # the 2 s notice, then about a second of output


def test_recording_names_its_frames_session_and_ends_when_the_set_changes(qtbot, tmp_path, consent):
    """Record pressed while the engine still loads: the consent log, the C2PA manifest and the watermark
    name the same session. Switching sets ends the recording (one file, one set, one consent record)
    and the window says why."""
    from realtime import synthetic_face as sf
    from realtime.provenance.c2pa_sign import read_c2pa
    from realtime.provenance.detect import detect_file, detect_frames
    from realtime.provenance.media import decode
    from tests.live_fakes import fake_factory
    ctx = make_ctx(tmp_path)
    quick = fake_factory()

    def slow_engine(*args):
        time.sleep(1.0)                              # the real engine takes seconds to load
        return quick(*args)
    ctx.processor_factory = slow_engine
    lib, store = ctx.library(), ctx.consent_store()
    first, second = lib.create("First"), lib.create("Second")
    lib.add_files(first.set_id, [face_photo(tmp_path / "a.png")])
    lib.add_files(second.set_id, [face_photo(tmp_path / "b.png", who=sf.STRANGER)])
    rec_first = store.record(lib.get(first.set_id).hashes(), "self", method="live-check")
    store.record(lib.get(second.set_id).hashes(), "self", method="live-check")
    write_settings(ctx, current_set=first.set_id, output_width=640, output_height=360, output_fps=15,
                   virtual_camera=True, record_dir=str(tmp_path / "videos"))
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w) and w.controls.start_button.isEnabled(), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.mouseClick(w.controls.record_button, Qt.LeftButton)          # right after Start
    assert w.live.session.session_id is None and w.live.recorder is not None
    qtbot.waitUntil(lambda: w.live.recorder is not None and w.live.recorder.frames_written > 20, timeout=20000)
    w.panel.set_chosen.emit(second.set_id)
    qtbot.waitUntil(lambda: "Recording saved" in w.banner.text and "avatar changed to Second" in w.banner.text,
                    timeout=30000)
    assert w.live.running and w.live.recorder is None and w.controls.record_button.text().endswith("Record")
    files = list((tmp_path / "videos").glob("AvatarCam-*.mp4"))
    assert len(files) == 1
    logged = [e for e in store.sessions() if e["output"].startswith("record:")]
    assert [e["record_id"] for e in logged] == [rec_first.id]
    in_frames = detect_frames(decode(files[0])[30:])                   # after the 2 s notice
    assert in_frames.found
    assert logged[0]["session_id"] == read_c2pa(files[0])["session_id"] == detect_file(files[0]).detection.session_id \
        == in_frames.session_id


class LiveCheckCancelled:
    """Stands in for the webcam live check: the person closes it without taking it."""
    def __init__(self, live, photos, mirrored=True, parent=None):
        self.no_camera, self.runner = False, None

    def exec(self):
        return 0

    def result_value(self):
        return None


def test_a_cancelled_live_check_leaves_nothing_running_and_consent_given_later_goes_live(qtbot, tmp_path,
                                                                                         consent, monkeypatch):
    """The live check opens the webcam by itself; closed without taking it, that webcam-only session
    must stop (it showed "Starting..." for ever, and consent given afterwards from the panel switched
    it to the avatar with no outputs at all)."""
    monkeypatch.setattr("ui.window_sets.LiveCheckDialog", LiveCheckCancelled)
    ctx = make_ctx(tmp_path)
    lib = ctx.library()
    info = lib.create("Alex")
    lib.add_files(info.set_id, [face_photo(tmp_path / "alex.png")])
    write_settings(ctx, current_set=info.set_id)
    consent.answer = None
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: consent.asked == 1 and checked(w), timeout=20000)
    consent.answer = ("self", None)                                    # "these photos show me"...
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    assert not w.live.running                                          # ...but the check was closed
    assert "not completed" in w.banner.text and ctx.consent_store().records() == []
    consent.answer = ("other", "Alex")                                 # later, from the avatar panel
    w.ask_consent(force=True)
    assert ctx.consent_store().records() and "Consent recorded" in w.panel.consent_label.text()
    assert not w.banner.isVisible() or "No consent" not in w.banner.text
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 5, timeout=20000)   # live, with its virtual camera
    w.live.stop()


def test_a_new_set_chosen_while_live_keeps_the_call_on_the_current_avatar_until_it_can_go_live(qtbot, tmp_path,
                                                                                              consent):
    """Pressing + while live used to stop every output at once ("no consent record yet") with an empty
    set. Nothing of a set without photos or consent can go out, but the call keeps the avatar it has;
    consent given later switches it over."""
    ctx = make_ctx(tmp_path)
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: checked(w), timeout=20000)
    qtbot.mouseClick(w.controls.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > 10, timeout=20000)
    lib = ctx.library()
    info = lib.create("New")
    w.panel.set_chosen.emit(info.set_id)                               # an empty set
    qtbot.waitUntil(lambda: checked(w) and w.current.info.set_id == info.set_id, timeout=20000)
    assert w.live.running and "Still live as" in w.banner.text and "no usable photo" in w.banner.text
    lib.add_files(info.set_id, [face_photo(tmp_path / "new.png")])
    consent.answer = None                                              # asked, and not given yet
    w.choose_set(info.set_id)
    qtbot.waitUntil(lambda: consent.asked == 1, timeout=20000)
    n = len(ctx.vcam.frames)
    qtbot.waitUntil(lambda: len(ctx.vcam.frames) > n + 10, timeout=8000)   # the call did not go dark
    assert w.live.session.avatar.name != "New"                          # and nothing of the new set went out
    consent.answer = ("other", "Nova")
    w.ask_consent(force=True)
    qtbot.waitUntil(lambda: w.live.session.avatar.name == "New", timeout=20000)
    w.live.stop()


def test_the_recording_line_scrolls_into_view_on_a_short_screen(qtbot, tmp_path):
    """The line under Record (the saved file, the elapsed time) is the outputs panel's last: on a short
    window it sat below the fold, so a finished recording seemed to say nothing."""
    ctx = make_ctx(tmp_path)
    write_settings(ctx, current_set="sample")
    w = open_window(qtbot, ctx)
    w.resize(1100, 560)
    qtbot.wait(100)
    c = w.controls
    c.set_recording(False, "Saved /home/me/Videos/AvatarCam-20261124-083002.mp4")
    label = c.record_state

    def in_view():
        top_left = label.mapTo(c.viewport(), label.rect().topLeft())
        return c.viewport().rect().contains(top_left) and top_left.y() + label.height() <= c.viewport().height()
    qtbot.waitUntil(in_view, timeout=2000)
