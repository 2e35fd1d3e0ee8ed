"""Test media made on the fly from the painted synthetic face (the project ships no fixtures)."""
import cv2
import numpy as np

from realtime import synthetic_face as sf


def write_png(path, img):
    assert cv2.imwrite(str(path), img)
    return str(path)


def write_clip(path, params, size=256, fps=25.0, blank=()):
    """An MP4 driving clip: one synthetic frame per dict of render() params; indices in `blank` have no face."""
    from realtime.video_io import Mp4Writer
    with Mp4Writer(str(path), fps, size, size) as w:
        for i, kw in enumerate(params):
            if i in blank:
                frame = np.full((size, size, 3), (90, 140, 90), np.uint8)
            else:
                frame = sf.render(size=size, who=sf.OTHER, **kw)
            w.write(frame)
    return str(path)


def read_frames(path):
    import av
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        fps = float(stream.average_rate)
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(stream)]
    return frames, fps


def label_visible(frame) -> bool:
    """Is the visible label at its place, text bright on a dark plate?"""
    from realtime.provenance.label import VisibleLabel
    h, w = frame.shape[:2]
    ref = VisibleLabel(w, h, locale="en")
    x0, y0, x1, y1 = ref.rect
    text = cv2.cvtColor(ref.plate, cv2.COLOR_BGR2GRAY) > 160
    g = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(float)
    return g[text].mean() - g[~text].mean() > 100


def sample_mesh(depth: bool = False, tracker=None):
    """MediaPipe's mesh of the built-in sample face, in pixels: a real face's layout of points
    (x, y; and MediaPipe's z with depth=True). tracker: a static one to use (else one of its own)."""
    from realtime.tracking import FaceTracker
    own = tracker is None
    tracker = FaceTracker(static=True) if own else tracker
    try:
        return tracker.detect(sf.render(who=sf.SAMPLE))[:, :3 if depth else 2].astype(np.float64)
    finally:
        if own:
            tracker.close()


def head_turned(mesh, degrees):
    """The mesh (x, y, z pixels) turned about the vertical axis through its middle."""
    c, t = mesh.mean(0), np.radians(degrees)
    d = mesh - c
    out = mesh.copy()
    out[:, 0] = c[0] + d[:, 0] * np.cos(t) + d[:, 2] * np.sin(t)
    out[:, 2] = c[2] - d[:, 0] * np.sin(t) + d[:, 2] * np.cos(t)
    return out


def eye_whites(shape, lmk_px):
    """Both eyes' whites as one boolean mask of `shape`: 2 px inside the lids, clear of the iris."""
    from engines import topology as topo
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape[:2], bool)
    for up, lo, centre, ring in ((topo.RIGHT_EYE_UPPER, topo.RIGHT_EYE_LOWER, topo.RIGHT_IRIS_CENTER, topo.RIGHT_IRIS_RING),
                                 (topo.LEFT_EYE_UPPER, topo.LEFT_EYE_LOWER, topo.LEFT_IRIS_CENTER, topo.LEFT_IRIS_RING)):
        opening = np.zeros(shape[:2], np.uint8)
        cv2.fillPoly(opening, [np.concatenate([lmk_px[up], lmk_px[lo][::-1]]).astype(np.int32)], 1)
        radius = np.linalg.norm(lmk_px[ring] - lmk_px[centre], axis=1).mean()
        mask |= (cv2.erode(opening, np.ones((5, 5), np.uint8)) > 0) & \
            ((xx - lmk_px[centre, 0]) ** 2 + (yy - lmk_px[centre, 1]) ** 2 > (1.3 * radius) ** 2)
    return mask
