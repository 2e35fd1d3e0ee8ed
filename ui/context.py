"""What the window depends on, in one place: stores, and the seams to hardware and the engine. The app
uses the real ones; tests pass fakes for the webcam and the virtual camera device (hardware that
cannot exist on a test machine) and may pass a quick engine stand-in."""
from dataclasses import dataclass, field
from pathlib import Path


def _default_opener():
    from realtime.live.grabbers import open_grabber
    return open_grabber


def _default_vcam():
    from realtime.outputs.virtual_camera import open_pyvirtualcam
    return open_pyvirtualcam


def _default_reader():
    from realtime.outputs.loopback_check import open_v4l2_reader
    return open_v4l2_reader


def _cameras():
    from realtime.live.grabbers import list_cameras
    return list_cameras()


@dataclass
class AppContext:
    home: Path
    opener: object = None                 # DriverConfig -> grabber (the webcam seam)
    vcam_factory: object = None           # (w, h, fps, device) -> device (the virtual camera seam)
    loopback_reader: object = None        # device -> reader (the self-test seam)
    processor_factory: object = None      # None: the real FrameProcessor
    tracker_factory: object = None        # None: MediaPipe
    list_cameras: object = None
    stop_timeout_s: float = 2.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.home = Path(self.home)
        self.opener = self.opener or _default_opener()
        self.vcam_factory = self.vcam_factory or _default_vcam()
        self.loopback_reader = self.loopback_reader or _default_reader()
        self.list_cameras = self.list_cameras or _cameras

    @classmethod
    def default(cls) -> "AppContext":
        from realtime.provenance.paths import app_home
        return cls(app_home())

    @property
    def settings_path(self) -> Path:
        return self.home / "settings.json"

    def consent_store(self):
        from realtime.provenance.consent import ConsentStore
        return ConsentStore(self.home / "consent")

    def library(self):
        from realtime.live.avatar_library import AvatarLibrary
        return AvatarLibrary(self.home / "avatar_sets")
