"""The driver's neutral face for a live session: a frame that looks like one.

Motion is transferred relative to the driver's neutral face. A file takes its first frame with a
face (the command line's documented rule); a live session starts while the driver may be talking
or turned away (the built-in demo motion is, half of the time), and a neutral caught mid-word
left the avatar's mouth barely parting for the rest of the session, or its head turned while the
driver faced the camera. So live calibration waits for a face that looks neutral: mouth closed,
eyes open, facing the camera; if none comes within the wait, the most neutral one seen is taken.
"""
import numpy as np

from engines import topology as topo

# what "looks neutral" reads as on MediaPipe's mesh (engines/topology proxies): a closed mouth reads
# 0.001-0.04 (the demo driver and the two development clips; talking 0.12-0.76), an open eye 0.23-0.45
# (narrow eyes the least; the demo's shut ones 0.12), a face towards the camera has its nose within
# 0.05 of midway between the cheeks (the demo's turns: up to 0.16)
MOUTH_CLOSED = 0.08
EYES_OPEN = 0.18
FACING = 0.05


def unlike_neutral(lmk: np.ndarray) -> float:
    """0 for a face that looks neutral, growing with how far it is from one."""
    yaw, _ = topo.head_yaw_pitch(lmk)
    return (max(0.0, topo.mouth_openness(lmk) - MOUTH_CLOSED) / MOUTH_CLOSED
            + max(0.0, abs(yaw) - FACING) / FACING
            + max(0.0, EYES_OPEN - topo.eye_openness(lmk)) / EYES_OPEN)


class NeutralWait:
    """Feed it each frame's landmarks (and time) until it returns the neutral to calibrate on."""

    def __init__(self, wait_s: float):
        self.wait_s = wait_s
        self._since = None
        self._best = (float("inf"), None)

    def offer(self, lmk: np.ndarray, t: float):
        """The landmarks to take as the neutral now, or None to keep waiting."""
        cost = unlike_neutral(lmk)
        if cost == 0.0 or self.wait_s <= 0:
            return lmk
        if self._since is None:
            self._since = t
        if cost < self._best[0]:
            self._best = (cost, lmk.copy())
        return self._best[1] if t - self._since >= self.wait_s else None
