"""Faces in an avatar photo, small ones included.

MediaPipe's face mesh finds faces with its short-range detector, which looks at the whole picture
shrunk to 128 px: a face under about a tenth of the picture's longer side (a half- or full-figure
photo) is not found at all, and the user was told the photo had no face. So the search looks again
in overlapping square windows of a half, a quarter and an eighth of the longer side, down to the
size where a face as large as COMPARABLE of the largest found so far would already have shown
(a portrait stops at the whole picture; a second person a little further back in a full-figure
photo is still found), and each face found in a window is measured once more in a window centred
on it, where it fills the detector's view as a portrait would.

A face under COMPARABLE of the largest is background (a passer-by, a picture on the wall), not a
second candidate for the avatar: the photo still shows one person clearly.
"""
import numpy as np

from engines import topology as topo

WINDOWS = (0.5, 0.25, 0.125)   # window sides, in the photo's longer side
SMALLEST_WINDOW = 160      # px: below this a window shows no face the whole picture would not
AROUND = 3.0               # the re-measuring window's side, in face heights
COMPARABLE = 0.4           # a face at least this share of the largest one's size is another person
SHOWS = 0.15               # a window (or the whole picture) finds faces of at least this share of its side


def find_faces(image_bgr: np.ndarray, tracker) -> list:
    """The photo's faces, each 478 x 3 float32 in its pixels, the largest first, background faces
    left out (tracker: a static FaceTracker)."""
    whole = tracker.detect_all(image_bgr)
    faces = list(whole)
    longer = side = max(image_bgr.shape[:2])
    for share in WINDOWS:
        if faces and COMPARABLE * max(map(face_extent, faces)) >= SHOWS * side:
            break                  # any face that counts was big enough to be found at this size
        side = int(longer * share)
        if side < SMALLEST_WINDOW:
            break
        faces = _distinct(faces + [f for x, y in _corners(image_bgr.shape, side)
                                   for f in _detect_in(image_bgr, tracker, x, y, side)])
    if not faces:
        return []
    largest = face_extent(faces[0])
    return [f if any(f is w for w in whole) else _remeasure(image_bgr, tracker, f)
            for f in faces if face_extent(f) >= COMPARABLE * largest]


def _corners(shape, side: int):
    """Top-left corners of windows overlapping by half that cover the whole picture."""
    h, w = shape[:2]

    def starts(n):
        last = max(n - side, 0)
        return sorted(set(list(range(0, last, side // 2)) + [last]))
    return [(x, y) for y in starts(h) for x in starts(w)]


def _detect_in(image_bgr, tracker, x: int, y: int, side: int) -> list:
    window = np.ascontiguousarray(image_bgr[y:y + side, x:x + side])
    faces = tracker.detect_all(window)
    for f in faces:
        f[:, :2] += (x, y)
    return faces


def face_extent(face: np.ndarray) -> float:
    """The face's size in pixels: the larger side of its outline's bounding box."""
    return float(np.ptp(face[topo.FACE_OVAL, :2], axis=0).max())


def _centre(face: np.ndarray) -> np.ndarray:
    return face[topo.FACE_OVAL, :2].mean(0)


def _distinct(faces: list) -> list:
    """One face per person, the largest first: windows overlap, so one face is usually found in
    several of them. Two finds are the same face when their centres are closer than half its size;
    the largest find is kept (the one a window's edge cut least)."""
    kept = []
    for f in sorted(faces, key=face_extent, reverse=True):
        if all(np.linalg.norm(_centre(f) - _centre(k)) > 0.5 * face_extent(k) for k in kept):
            kept.append(f)
    return kept


def _remeasure(image_bgr, tracker, face: np.ndarray) -> np.ndarray:
    """The face measured again in a window centred on it, AROUND face heights wide (the find
    itself where that window finds no single face)."""
    h, w = image_bgr.shape[:2]
    side = int(min(max(h, w), AROUND * face_extent(face)))
    cx, cy = _centre(face)
    x = int(np.clip(cx - side / 2, 0, max(w - side, 0)))
    y = int(np.clip(cy - side / 2, 0, max(h - side, 0)))
    again = _detect_in(image_bgr, tracker, x, y, side)
    return again[0] if len(again) == 1 else face
