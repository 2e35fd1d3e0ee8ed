"""Settings persist as JSON in the app's config folder; anything wrong with the file is a warning."""
import json

from ui.settings import AppSettings, SettingsStore


def test_round_trip(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    s, warning = store.load()
    assert warning is None and s == AppSettings()
    s.expression, s.engine_size, s.mirror, s.current_set, s.sample_used = 0.7, 512, False, "abc-1", [0, 2]
    store.save(s)
    again, warning = store.load()
    assert warning is None and again == s
    assert (tmp_path / "settings.json").stat().st_mode & 0o077 == 0       # private to the user


def test_corrupt_file_is_set_aside_with_a_warning(tmp_path):
    path = tmp_path / "settings.json"
    path.write_bytes(b"{ this is not json \xff")
    s, warning = SettingsStore(path).load()
    assert s == AppSettings()
    aside = list(tmp_path.glob("settings.corrupt-*.json"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"{ this is not")
    assert not path.exists()
    assert "could not be read" in warning and aside[0].name in warning
    path.write_text("[1, 2]")                                          # valid JSON, wrong shape
    s, warning = SettingsStore(path).load()
    assert s == AppSettings() and "expected a JSON object" in warning
    assert len(list(tmp_path.glob("settings.corrupt-*.json"))) == 2


def test_wrong_types_and_ranges_fall_back_per_field(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"expression": "loud", "engine_size": 333, "mirror": 1, "camera_fps": 30,
                                "smoothing": 2, "unknown_future_key": True}))
    s, warning = SettingsStore(path).load()
    assert (s.expression, s.engine_size, s.mirror) == (1.0, 256, True)
    assert s.camera_fps == 30 and s.smoothing == 2.0
    assert "engine_size" in warning and "expression" in warning and "mirror" in warning
