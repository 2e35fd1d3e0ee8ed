"""`python run.py` in a real X server (Xvfb): the window appears within 5 s, is not blank, goes live with
the sample avatar and the demo motion, and closes cleanly on SIGTERM. Screenshots are kept in the test's
temporary folder (AVATARCAM_SCREENSHOTS=DIR keeps copies there)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {t: shutil.which(t) for t in ("Xvfb", "xdotool", "import")}
pytestmark = pytest.mark.skipif(not all(TOOLS.values()),
                                reason="needs Debian's xvfb, xdotool and imagemagick (missing: "
                                       + ", ".join(t for t, p in TOOLS.items() if not p) + ")")


@pytest.fixture(scope="module")
def display():
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def launch(display, home, log_path, *args):
    env = dict(os.environ, DISPLAY=display, AVATARCAM_HOME=str(home), QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, "run.py", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_window(display, proc, timeout):
    t0 = time.monotonic()
    env = dict(os.environ, DISPLAY=display)
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, "the app exited before showing its window"
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^AvatarCam$"], env=env,
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.split()[0]
        time.sleep(0.1)
    return None


def screenshot(display, path):
    subprocess.run(["import", "-window", "root", str(path)], env=dict(os.environ, DISPLAY=display), check=True,
                   timeout=30)
    import cv2
    img = cv2.imread(str(path))
    keep = os.environ.get("AVATARCAM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return img


def window_geometry(display, wid):
    out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid], env=dict(os.environ, DISPLAY=display),
                         capture_output=True, text=True).stdout
    g = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])


def assert_not_blank(img, box):
    x, y, w, h = box
    win = img[y:y + h, x:x + w]
    assert win.size and win.std() > 8, "the window looks blank"
    colours = np.unique((win // 16).reshape(-1, 3), axis=0)
    assert len(colours) > 20, f"the window has only {len(colours)} colours: blank or unpainted"


def close(proc):
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    return code, time.monotonic() - t0


def test_window_opens_within_5s_not_blank_on_first_run(display, tmp_path):
    home = tmp_path / "home"
    t0 = time.monotonic()
    proc = launch(display, home, tmp_path / "app.log")
    try:
        wid = wait_for_window(display, proc, 20)
        opened = time.monotonic() - t0
        assert wid, "no AvatarCam window appeared"
        time.sleep(1.0)
        img = screenshot(display, tmp_path / "first_run.png")
        assert_not_blank(img, window_geometry(display, wid))
    finally:
        code, took = close(proc)
    log = (tmp_path / "app.log").read_text()
    assert opened < 5.0, f"the window took {opened:.1f} s to appear"
    assert code == 0, log[-2000:]
    assert "Traceback" not in log, log[-2000:]


def test_goes_live_with_the_sample_avatar_and_closes_cleanly(display, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"welcome_done": True, "current_set": "sample",
                                                    "start_on_launch": True, "driver_kind": "camera",
                                                    "engine_size": 256, "show_landmarks": True}))
    log_path = tmp_path / "app.log"
    proc = launch(display, home, log_path, "-v")
    try:
        wid = wait_for_window(display, proc, 20)
        assert wid
        box = window_geometry(display, wid)
        deadline = time.monotonic() + 90
        while "live: first avatar frame shown" not in log_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.2)
        assert "live: first avatar frame shown" in log_path.read_text(), log_path.read_text()[-3000:]
        time.sleep(2.0)
        a = screenshot(display, tmp_path / "live.png")
        time.sleep(1.0)
        b = screenshot(display, tmp_path / "live_later.png")
        assert_not_blank(a, box)
        x, y, w, h = box
        moved = np.abs(a[y:y + h, x:x + w].astype(int) - b[y:y + h, x:x + w]).mean()
        assert moved > 0.3, "nothing moves: not live"
    finally:
        code, took = close(proc)
    log = log_path.read_text()
    assert code == 0 and "Traceback" not in log, log[-3000:]
    settings = json.loads((home / "settings.json").read_text())
    assert settings["current_set"] == "sample" and settings["window_geometry"]      # saved on close
