"""What to install or run when no virtual camera device exists, exactly, per operating system."""
import sys

LINUX_MODPROBE = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=AvatarCam"

LINUX = ("Install the v4l2loopback kernel module (Debian/Ubuntu: sudo apt install v4l2loopback-dkms; "
         "Fedora: sudo dnf install v4l2loopback; Arch: sudo pacman -S v4l2loopback-dkms), load it with: "
         f"{LINUX_MODPROBE} and press Retry. Then choose \"AvatarCam\" as the camera in your call app.")

WINDOWS = ("Install OBS Studio 26 or later (obsproject.com): it brings the "
           "\"OBS Virtual Camera\" device. Close OBS itself (only one program can feed that camera), press "
           "Retry, then choose \"OBS Virtual Camera\" as the camera in your call app.")

MACOS = ("Install OBS Studio 30 or later (obsproject.com), open it once, "
         "click \"Start Virtual Camera\" and allow the camera extension in System Settings > Privacy & "
         "Security, then click \"Stop Virtual Camera\" and quit OBS. Press Retry, then choose "
         "\"OBS Virtual Camera\" as the camera in your call app (restart the call app if it was open).")


def install_guidance(platform: str = None) -> str:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return LINUX
    if platform == "win32":
        return WINDOWS
    if platform == "darwin":
        return MACOS
    return "Virtual cameras are supported on Linux (v4l2loopback), Windows and macOS (OBS Virtual Camera)."


def vanished_guidance(platform: str = None) -> str:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return ("The v4l2loopback device went away (module unloaded?). Load it again with: "
                f"{LINUX_MODPROBE} - AvatarCam reconnects by itself.")
    return "The OBS Virtual Camera went away (another program took it?). AvatarCam reconnects by itself."
