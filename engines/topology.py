"""Index sets of MediaPipe's 478-point face mesh that the engine and the retargeting rely on.

Ordered contours (not MediaPipe's unordered edge sets) so that polygons can be rasterised.
Image orientation: "right eye" is the subject's right, i.e. on the left of a frontal image.
"""
import numpy as np

NUM_LANDMARKS = 478
NUM_MESH = 468  # the last 10 are the irises

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109]

# forehead, temples and cheekbones: the outline that moves with the skull, not the jaw
UPPER_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109]

LIPS_INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
# closed polygon around the mouth opening
LIPS_INNER = LIPS_INNER_UPPER + LIPS_INNER_LOWER[-2:0:-1]

FOREHEAD_TOP, CHIN = 10, 152     # the face oval's top and bottom: the face's height

# where the avatar's own colours are read for the mouth interior (the null key's value):
# cheeks, nose and forehead for the light on the skin; the middle of the lips' red
SKIN_SAMPLES = [50, 280, 205, 425, 117, 346, 4, 151, 9, 36, 266]
LIP_BODY_PAIRS = [(0, 13), (17, 14), (37, 82), (267, 312), (84, 87), (314, 317), (39, 81), (269, 311)]

RIGHT_EYE_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133]
RIGHT_EYE_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133]
LEFT_EYE_UPPER = [263, 466, 388, 387, 386, 385, 384, 398, 362]
LEFT_EYE_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362]
RIGHT_EYE = RIGHT_EYE_UPPER + RIGHT_EYE_LOWER[-2:0:-1]
LEFT_EYE = LEFT_EYE_UPPER + LEFT_EYE_LOWER[-2:0:-1]

# lower edge of each eyebrow, outer -> inner (right brow: increasing x in an upright image)
RIGHT_BROW_LOWER = [46, 53, 52, 65, 55]
LEFT_BROW_LOWER = [276, 283, 282, 295, 285]

# upper edge of each eyebrow, in the same order
RIGHT_BROW_UPPER = [70, 63, 105, 66, 107]
LEFT_BROW_UPPER = [300, 293, 334, 296, 336]

RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473
# the four points on each iris's rim around its centre (MediaPipe's refined landmarks)
RIGHT_IRIS_RING = [469, 470, 471, 472]
LEFT_IRIS_RING = [474, 475, 476, 477]

LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
# what moves within a tenth of a second (a blink, a plosive, a glance): lips, lids and irises
EXPRESSION_FAST = sorted(set(LIPS_INNER + LIPS_OUTER + RIGHT_EYE + LEFT_EYE) | set(range(NUM_MESH, NUM_LANDMARKS)))

# Points that move with the skull, not with expressions: used to remove rigid pose.
STABLE = [10, 338, 297, 109, 67, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 263, 362,
          234, 454, 127, 356, 93, 323]

# The lower lip's outer edge and the jaw below it, each from the picture's left to its right: the
# skin between them (the chin) is carried by the two.
LOWER_LIP_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
JAW_LOWER = [58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288]

# Upper/lower pairs that must never cross (lids and lips), for retargeting clamps.
LID_PAIRS = list(zip(RIGHT_EYE_UPPER[1:-1], RIGHT_EYE_LOWER[1:-1])) + \
    list(zip(LEFT_EYE_UPPER[1:-1], LEFT_EYE_LOWER[1:-1]))
LIP_PAIRS = list(zip(LIPS_INNER_UPPER[1:-1], LIPS_INNER_LOWER[1:-1]))


def mouth_openness(lmk: np.ndarray) -> float:
    """Inner-lip gap over mouth width (0 closed, ~0.5 wide open)."""
    gap = np.linalg.norm(lmk[13, :2] - lmk[14, :2])
    width = np.linalg.norm(lmk[78, :2] - lmk[308, :2]) + 1e-6
    return float(gap / width)


def eye_openness(lmk: np.ndarray) -> float:
    """Mean lid gap over eye width of both eyes (0 closed, ~0.3 open)."""
    r = np.linalg.norm(lmk[159, :2] - lmk[145, :2]) / (np.linalg.norm(lmk[33, :2] - lmk[133, :2]) + 1e-6)
    left = np.linalg.norm(lmk[386, :2] - lmk[374, :2]) / (np.linalg.norm(lmk[263, :2] - lmk[362, :2]) + 1e-6)
    return float((r + left) / 2)


def gaze_x(lmk: np.ndarray) -> float:
    """Horizontal iris position within the eyes, from each eye's corner on the picture's left (0) to
    the one on its right (1), averaged over both eyes: ~0.5 looking ahead."""
    right = (lmk[RIGHT_IRIS_CENTER, 0] - lmk[33, 0]) / (lmk[133, 0] - lmk[33, 0] + 1e-6)
    left = (lmk[LEFT_IRIS_CENTER, 0] - lmk[362, 0]) / (lmk[263, 0] - lmk[362, 0] + 1e-6)
    return float((right + left) / 2)


def inter_ocular(lmk: np.ndarray) -> float:
    return float(np.linalg.norm(lmk[RIGHT_IRIS_CENTER, :2] - lmk[LEFT_IRIS_CENTER, :2]))


def head_yaw_pitch(lmk: np.ndarray) -> tuple:
    """Geometric yaw/pitch proxies from 2D landmarks in a roll-free frame.

    yaw: horizontal offset of the nose tip from the cheek midpoint over face width;
    pitch: vertical position of the nose tip between the eye line and the chin.
    """
    p = lmk[:, :2]
    left, right = p[454], p[234]
    axis = (left - right) / (np.linalg.norm(left - right) + 1e-6)
    normal = np.array([-axis[1], axis[0]])
    mid = (left + right) / 2
    width = np.linalg.norm(left - right) + 1e-6
    yaw = float(np.dot(p[1] - mid, axis) / width)
    eyes = (p[33] + p[263]) / 2
    chin = p[CHIN]
    span = np.dot(chin - eyes, normal) + 1e-6
    pitch = float(np.dot(p[1] - eyes, normal) / span)
    return yaw, pitch


def _control_points() -> list:
    """Keypoints the warp is anchored on: every contour point plus every other mesh point."""
    contours = set(FACE_OVAL + LIPS_INNER + RIGHT_EYE + LEFT_EYE + STABLE + [0, 17, 61, 291, 146, 375,
                   185, 409, 37, 267, 84, 314, 70, 63, 105, 66, 107, 336, 296, 334, 293, 300])
    return sorted(contours | set(range(0, NUM_MESH, 2)))


CONTROL = _control_points()
