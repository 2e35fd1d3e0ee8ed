"""The visible "AI-GENERATED" label burned into every synthetic frame (CONSENT.md L1-L3).

Placement: top-right corner of the centre 4:3 area (call apps crop 16:9 to 4:3), cap height at
least 5% of the frame's shorter side, white text on a dark plate for contrast after compression.
The plate is rendered once per frame size; per frame it is a small alpha blend.
"""
import cv2
import numpy as np

TEXT = "AI-GENERATED"
CAP_FRACTION = 0.055          # cap height / shorter side (>= 0.05 required)


def centre_43_box(width: int, height: int):
    """(x0, y0, x1, y1) of the largest centred 4:3 region."""
    if width * 3 >= height * 4:
        w43 = height * 4 // 3
        x0 = (width - w43) // 2
        return x0, 0, x0 + w43, height
    h43 = width * 3 // 4
    y0 = (height - h43) // 2
    return 0, y0, width, y0 + h43


class VisibleLabel:
    def __init__(self, width: int, height: int, text: str = TEXT):
        self.size = (width, height)
        self.text = text
        cap = max(8, int(np.ceil(CAP_FRACTION * min(width, height))))
        font = cv2.FONT_HERSHEY_DUPLEX
        # Hershey cap height is ~ 21.5 px per unit of scale... measure instead of assuming
        (tw, th), base = cv2.getTextSize(text, font, 1.0, 1)
        scale = cap / th
        thick = max(1, int(round(scale * 1.6)))
        (tw, th), base = cv2.getTextSize(text, font, scale, thick)
        pad = max(3, cap // 3)
        pw, ph = tw + 2 * pad, th + 2 * pad
        bx0, by0, bx1, by1 = centre_43_box(width, height)
        margin = max(2, cap // 3)
        x1 = bx1 - margin
        x0 = max(bx0 + margin, x1 - pw)
        y0 = by0 + margin
        self.rect = (x0, y0, x0 + pw, y0 + ph)
        self.cap_height = th
        plate = np.zeros((ph, pw, 3), np.uint8)
        plate[:] = (20, 20, 20)
        cv2.putText(plate, text, (pad, pad + th), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
        self.plate = plate[: min(ph, height - y0), : min(pw, width - x0)]
        self.opacity = 0.85

    def apply(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Burn the label into frame_bgr in place and return it."""
        h, w = frame_bgr.shape[:2]
        if (w, h) != self.size:
            raise ValueError(f"label made for {self.size[0]}x{self.size[1]}, frame is {w}x{h}")
        x0, y0 = self.rect[:2]
        ph, pw = self.plate.shape[:2]
        roi = frame_bgr[y0:y0 + ph, x0:x0 + pw]
        cv2.addWeighted(self.plate, self.opacity, roi, 1 - self.opacity, 0, dst=roi)
        return frame_bgr
