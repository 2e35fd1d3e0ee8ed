"""Face identity embeddings (dlib's 128-d ResNet; weights ship in face_recognition_models, no download).

Used to refuse avatar sets that mix different people, and by `eval` for identity distance.
dlib's convention: distance < 0.6 means the same person.
"""
import importlib.util
import os

import numpy as np

from engines import topology as topo

SAME_PERSON = 0.6


def _model_dir() -> str:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.origin:
        raise RuntimeError("face_recognition_models is not installed (pip install -r requirements.txt)")
    return os.path.join(os.path.dirname(spec.origin), "models")


class FaceEmbedder:
    def __init__(self):
        import dlib
        d = _model_dir()
        self._dlib = dlib
        self._shape = dlib.shape_predictor(os.path.join(d, "shape_predictor_68_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(os.path.join(d, "dlib_face_recognition_resnet_model_v1.dat"))

    def embed(self, image_bgr: np.ndarray, lmk_px: np.ndarray) -> np.ndarray:
        """128-d embedding of the face whose MediaPipe landmarks are given (their box seeds dlib)."""
        pts = lmk_px[topo.FACE_OVAL, :2]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        # dlib's detector boxes are tighter at the top than the face oval: trim the forehead
        y0 = y0 + 0.18 * (y1 - y0)
        rect = self._dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        shape = self._shape(rgb, rect)
        return np.array(self._net.compute_face_descriptor(rgb, shape, 1), np.float32)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))
