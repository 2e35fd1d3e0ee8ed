"""Shared test setup: offscreen Qt, an isolated app data dir, and generated media (no fixtures from outside)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("GLOG_minloglevel", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Consent records, keys and settings go to a fresh folder per test, never the user's."""
    home = tmp_path / "avatarcam-home"
    home.mkdir()
    monkeypatch.setenv("AVATARCAM_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def tracker():
    """MediaPipe on still photos, one per test module (starting it costs a second). A module that
    needs other settings defines its own."""
    from realtime.tracking import FaceTracker
    t = FaceTracker(static=True, max_faces=2)
    yield t
    t.close()
